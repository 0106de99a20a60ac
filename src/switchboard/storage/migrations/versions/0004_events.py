"""Events: the outbox, webhook subscriptions, deliveries and dead letters.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("data_version", sa.String(16), nullable=False),
        sa.Column("event_time_ms", sa.BigInteger, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("fanned_out", sa.Boolean, nullable=False),
        sa.UniqueConstraint("id", name="uq_event_outbox_id"),
        sqlite_autoincrement=True,
    )
    # Fan-out scans the events not yet fanned out, oldest first.
    op.create_index("ix_event_outbox_fan_out", "event_outbox", ["fanned_out", "seq"])
    # Retention and `switchboard events tail` read by creation time.
    op.create_index("ix_event_outbox_created", "event_outbox", ["created_ms"])
    op.create_table(
        "event_subscriptions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("endpoint_url", sa.Text, nullable=False),
        sa.Column("included_event_types", sa.Text, nullable=False),
        sa.Column("delivery_schema", sa.String(32), nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("max_delivery_attempts", sa.Integer, nullable=False),
        sa.Column("event_ttl_minutes", sa.Integer, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "event_deliveries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "event_seq",
            _SEQ,
            sa.ForeignKey("event_outbox.seq", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "subscription_name",
            sa.String(64),
            sa.ForeignKey("event_subscriptions.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("enqueued_ms", sa.BigInteger, nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger, nullable=False),
        sa.Column("locked_until_ms", sa.BigInteger, nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("last_attempt_ms", sa.BigInteger, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("dead_letter_reason", sa.String(64), nullable=True),
        sa.Column("dead_lettered_ms", sa.BigInteger, nullable=True),
        # Also the index the retention purge uses to ask "is anything still owed for this event?"
        sa.UniqueConstraint("event_seq", "subscription_name", name="uq_event_deliveries_pair"),
    )
    # The dispatcher claims due pending rows; listings walk dead letters by time.
    op.create_index("ix_event_deliveries_due", "event_deliveries", ["state", "next_attempt_ms"])
    op.create_index(
        "ix_event_deliveries_dead", "event_deliveries", ["state", "dead_lettered_ms", "id"]
    )
    # Deleting a subscription cascades to its rows; PostgreSQL needs this index to find them.
    op.create_index("ix_event_deliveries_subscription", "event_deliveries", ["subscription_name"])


def downgrade() -> None:
    op.drop_index("ix_event_deliveries_subscription", "event_deliveries")
    op.drop_index("ix_event_deliveries_dead", "event_deliveries")
    op.drop_index("ix_event_deliveries_due", "event_deliveries")
    op.drop_table("event_deliveries")
    op.drop_table("event_subscriptions")
    op.drop_index("ix_event_outbox_created", "event_outbox")
    op.drop_index("ix_event_outbox_fan_out", "event_outbox")
    op.drop_table("event_outbox")
