"""Chat: threads, participants (with membership windows), messages, receipts, event stream.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_threads",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(160), nullable=False),
        sa.Column("deleted_ms", sa.BigInteger, nullable=True),
        sa.Column("last_message_ms", sa.BigInteger, nullable=True),
        sa.Column("message_seq", sa.BigInteger, nullable=False),
        sa.Column("last_message_id_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "chat_participants",
        sa.Column("thread_id", sa.String(80), primary_key=True),
        sa.Column("user_id", sa.String(160), primary_key=True),
        sa.Column("display_name", sa.Text, nullable=True),
        sa.Column("share_history_ms", sa.BigInteger, nullable=False),
        sa.Column("added_ms", sa.BigInteger, nullable=False),
        sa.Column("added_seq", sa.BigInteger, nullable=False),
        sa.Column("removed_ms", sa.BigInteger, nullable=True),
        sa.Column("removed_seq", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_chat_participants_user", "chat_participants", ["user_id", "thread_id"])
    op.create_table(
        "chat_messages",
        sa.Column("thread_id", sa.String(80), primary_key=True),
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("sequence_id", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.Column("sender_id", sa.String(160), nullable=True),
        sa.Column("sender_display_name", sa.Text, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("version_ms", sa.BigInteger, nullable=False),
        sa.Column("edited_ms", sa.BigInteger, nullable=True),
        sa.Column("deleted_ms", sa.BigInteger, nullable=True),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.Column("system", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_chat_messages_thread_seq", "chat_messages", ["thread_id", "sequence_id"], unique=True
    )
    op.create_table(
        "chat_read_receipts",
        sa.Column("thread_id", sa.String(80), primary_key=True),
        sa.Column("user_id", sa.String(160), primary_key=True),
        sa.Column("message_id", sa.String(24), nullable=False),
        sa.Column("read_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "chat_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("thread_id", sa.String(80), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_chat_events_thread_seq", "chat_events", ["thread_id", "seq"])
    op.create_index("ix_chat_events_created", "chat_events", ["created_ms"])
    op.create_table(
        "chat_stream",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        sa.table("chat_stream", sa.column("name", sa.String), sa.column("last_seq", sa.BigInteger)),
        [{"name": "chat", "last_seq": 0}],
    )


def downgrade() -> None:
    op.drop_table("chat_stream")
    op.drop_index("ix_chat_events_created", "chat_events")
    op.drop_index("ix_chat_events_thread_seq", "chat_events")
    op.drop_table("chat_events")
    op.drop_table("chat_read_receipts")
    op.drop_index("ix_chat_messages_thread_seq", "chat_messages")
    op.drop_table("chat_messages")
    op.drop_index("ix_chat_participants_user", "chat_participants")
    op.drop_table("chat_participants")
    op.drop_table("chat_threads")
