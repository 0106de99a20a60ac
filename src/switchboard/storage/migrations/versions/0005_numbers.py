"""Phone numbers: carriers, the number inventory, searches, reservations, purchases.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "number_carriers",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "number_inventory",
        sa.Column("phone_number", sa.String(20), primary_key=True),
        sa.Column("carrier", sa.String(64), sa.ForeignKey("number_carriers.name"), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("phone_number_type", sa.String(16), nullable=False),
        sa.Column("assignment_type", sa.String(16), nullable=False),
        sa.Column("calling", sa.String(20), nullable=False),
        sa.Column("sms", sa.String(20), nullable=False),
        sa.Column("cost_amount", sa.Float, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("locality", sa.String(100), nullable=True),
        sa.Column("administrative_division", sa.String(100), nullable=True),
        sa.Column("area_code", sa.String(10), nullable=True),
        sa.Column("hold_id", sa.String(64), nullable=True),
        sa.Column("hold_until_ms", sa.BigInteger, nullable=True),
        sa.Column("purchased_ms", sa.BigInteger, nullable=True),
        sa.Column("purchased_calling", sa.String(20), nullable=True),
        sa.Column("purchased_sms", sa.String(20), nullable=True),
        sa.Column("purchased_assignment_type", sa.String(16), nullable=True),
    )
    op.create_index(
        "ix_number_inventory_offer",
        "number_inventory",
        ["country_code", "phone_number_type", "area_code"],
    )
    op.create_index("ix_number_inventory_hold", "number_inventory", ["hold_id"])
    op.create_index(
        "ix_number_inventory_purchased", "number_inventory", ["purchased_ms", "phone_number"]
    )
    op.create_table(
        "number_searches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("phone_number_type", sa.String(16), nullable=False),
        sa.Column("assignment_type", sa.String(16), nullable=False),
        sa.Column("calling", sa.String(20), nullable=False),
        sa.Column("sms", sa.String(20), nullable=False),
        sa.Column("area_code", sa.String(10), nullable=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("phone_numbers", sa.Text, nullable=False),
        sa.Column("cost_amount", sa.Float, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("purchased", sa.Boolean, nullable=False),
    )
    op.create_table(
        "number_reservations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_number_reservations_created", "number_reservations", ["created_ms", "id"])
    op.create_table(
        "number_reservation_items",
        sa.Column(
            "reservation_id",
            sa.String(36),
            sa.ForeignKey("number_reservations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("phone_number", sa.String(20), primary_key=True),
        sa.Column("calling", sa.String(20), nullable=False),
        sa.Column("sms", sa.String(20), nullable=False),
        sa.Column("assignment_type", sa.String(16), nullable=False),
    )
    op.create_table(
        "number_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("number_meta")
    op.drop_table("number_reservation_items")
    op.drop_index("ix_number_reservations_created", "number_reservations")
    op.drop_table("number_reservations")
    op.drop_table("number_searches")
    op.drop_index("ix_number_inventory_purchased", "number_inventory")
    op.drop_index("ix_number_inventory_hold", "number_inventory")
    op.drop_index("ix_number_inventory_offer", "number_inventory")
    op.drop_table("number_inventory")
    op.drop_table("number_carriers")
