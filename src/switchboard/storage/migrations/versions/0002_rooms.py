"""Rooms: rooms and their participants.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rooms",
        # Long numeric strings, e.g. "99421384239512"; kept as text like ACS.
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("valid_from_ms", sa.BigInteger, nullable=False),
        sa.Column("valid_until_ms", sa.BigInteger, nullable=False),
        sa.Column("pstn_dial_out_enabled", sa.Boolean, nullable=False),
    )
    # Listing pages walk (created_ms, id) so a page cursor stays stable
    # while new rooms are created.
    op.create_index("ix_rooms_created", "rooms", ["created_ms", "id"])
    op.create_table(
        "room_participants",
        sa.Column(
            "room_id",
            sa.String(40),
            sa.ForeignKey("rooms.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("raw_id", sa.String(300), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("room_participants")
    op.drop_index("ix_rooms_created", "rooms")
    op.drop_table("rooms")
