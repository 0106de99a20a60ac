"""Phone numbers tables (migration 0005 creates the same)."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard.storage.database import metadata

number_carriers = sa.Table(
    "number_carriers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("settings", sa.Text, nullable=False),  # JSON object, opaque to this domain
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

# The inventory. A row is available when not purchased and not held (or its hold expired):
# holds and purchases are conditional UPDATEs on these columns, so two searches never get the
# same number on either database.
number_inventory = sa.Table(
    "number_inventory",
    metadata,
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
    sa.Index("ix_number_inventory_offer", "country_code", "phone_number_type", "area_code"),
    sa.Index("ix_number_inventory_hold", "hold_id"),
    sa.Index("ix_number_inventory_purchased", "purchased_ms", "phone_number"),
)

number_searches = sa.Table(
    "number_searches",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("country_code", sa.String(2), nullable=False),
    sa.Column("phone_number_type", sa.String(16), nullable=False),
    sa.Column("assignment_type", sa.String(16), nullable=False),
    sa.Column("calling", sa.String(20), nullable=False),
    sa.Column("sms", sa.String(20), nullable=False),
    sa.Column("area_code", sa.String(10), nullable=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("phone_numbers", sa.Text, nullable=False),  # JSON list of E.164 strings
    sa.Column("cost_amount", sa.Float, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Column("purchased", sa.Boolean, nullable=False),
)

number_reservations = sa.Table(
    "number_reservations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Index("ix_number_reservations_created", "created_ms", "id"),
)

number_reservation_items = sa.Table(
    "number_reservation_items",
    metadata,
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

# One-off facts about this database, e.g. that the demo inventory was loaded once.
number_meta = sa.Table(
    "number_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
