"""SMS: outgoing queue, messages, delivery reports, opt-outs, simulator inbox.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(80), nullable=False, unique=True),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("carrier", sa.String(100), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("tag", sa.Text, nullable=True),
        sa.Column("want_report", sa.Boolean, nullable=False),
        sa.Column("dedupe_key", sa.String(300), nullable=True, unique=True),
        sa.Column("segments", sa.Integer, nullable=True),
        sa.Column("segments_delivered", sa.Integer, nullable=False),
        sa.Column("segments_failed", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger, nullable=False),
        sa.Column("claim", sa.String(32), nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("done_ms", sa.BigInteger, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sms_messages_due", "sms_messages", ["state", "carrier", "next_attempt_ms"])
    op.create_table(
        "sms_segments",
        sa.Column("carrier", sa.String(100), primary_key=True),
        sa.Column("carrier_message_id", sa.String(100), primary_key=True),
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
    )
    op.create_index("ix_sms_segments_message", "sms_segments", ["message_id"])
    op.create_table(
        "sms_early_reports",
        sa.Column("carrier", sa.String(100), primary_key=True),
        sa.Column("carrier_message_id", sa.String(100), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sms_optouts",
        sa.Column("sender", sa.String(32), primary_key=True),
        sa.Column("recipient", sa.String(32), primary_key=True),
        sa.Column("opted_out", sa.Boolean, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sms_sim_inbox",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("carrier_message_id", sa.String(100), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("segments", sa.Integer, nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sms_sim_inbox_recipient", "sms_sim_inbox", ["recipient", "seq"])
    op.create_table(
        "sms_sim_handsets",
        sa.Column("number", sa.String(32), primary_key=True),
        sa.Column("report", sa.String(16), nullable=False),
        sa.Column("delay_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sms_sim_pending",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("due_ms", sa.BigInteger, nullable=False),
        sa.Column("claim", sa.String(32), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sms_sim_pending_due", "sms_sim_pending", ["due_ms"])


def downgrade() -> None:
    for table in (
        "sms_sim_pending",
        "sms_sim_handsets",
        "sms_sim_inbox",
        "sms_optouts",
        "sms_early_reports",
        "sms_segments",
        "sms_messages",
    ):
        op.drop_table(table)
