"""Push notifications: each device's registration, and the outbox of notifications owed.

Revision ID: 0015
Revises: 0013 (0014 is another branch's; the chain is joined when both are merged)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_registrations",
        sa.Column("user_id", sa.String(160), primary_key=True),
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("app_id", sa.String(256), nullable=False, server_default=""),
        sa.Column("p256dh", sa.String(256), nullable=False, server_default=""),
        sa.Column("auth", sa.String(128), nullable=False, server_default=""),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_push_registrations_expires", "push_registrations", ["expires_ms"])
    op.create_table(
        "push_outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("notification", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_ms", sa.BigInteger, nullable=False),
        sa.Column("claim", sa.String(32), nullable=False, server_default=""),
    )
    op.create_index("ix_push_outbox_due", "push_outbox", ["due_ms"])


def downgrade() -> None:
    op.drop_table("push_outbox")
    op.drop_table("push_registrations")
