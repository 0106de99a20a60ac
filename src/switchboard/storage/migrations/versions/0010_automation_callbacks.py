"""Call Automation callbacks: a queue per call connection, delivered in sequence order.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_callback_streams",
        sa.Column("call_connection_id", sa.String(128), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger, nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    # Claims scan the due streams, earliest first; idle streams (NULL) are not in the way.
    op.create_index(
        "ix_automation_callback_streams_due", "automation_callback_streams", ["next_attempt_ms"]
    )
    op.create_table(
        "automation_callbacks",
        sa.Column(
            "call_connection_id",
            sa.String(128),
            sa.ForeignKey("automation_callback_streams.call_connection_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("enqueued_ms", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_attempt_ms", sa.BigInteger, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("automation_callbacks")
    op.drop_table("automation_callback_streams")
