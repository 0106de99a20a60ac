"""SMS: segments of concatenated inbound messages, held durably until the message is whole.

A carrier acknowledges a segment only once it is stored here (before, they waited in memory
and a crash between segments lost the message); the whole message's commit deletes them.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_held_segments",
        sa.Column("carrier", sa.String(100), primary_key=True),
        sa.Column("sender", sa.String(32), primary_key=True),
        sa.Column("recipient", sa.String(32), primary_key=True),
        sa.Column("reference", sa.Integer, primary_key=True),
        sa.Column("total", sa.Integer, primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("data_coding", sa.Integer, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sms_held_segments_received", "sms_held_segments", ["received_ms"])


def downgrade() -> None:
    op.drop_table("sms_held_segments")
