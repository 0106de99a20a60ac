"""Chat tables (migrations 0003, 0007, 0012). Times are epoch milliseconds."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard.storage.database import metadata

chat_threads = sa.Table(
    "chat_threads",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(160), nullable=False),
    sa.Column("deleted_ms", sa.BigInteger, nullable=True),
    sa.Column("last_message_ms", sa.BigInteger, nullable=True),
    sa.Column("message_seq", sa.BigInteger, nullable=False),
    sa.Column("last_message_id_ms", sa.BigInteger, nullable=False),
    # Bumped with every participant change: the key of the roster cache (chat/sql_unit.py).
    sa.Column("roster_version", sa.BigInteger, nullable=False, server_default="0"),
    # Chat 2024-06-05-preview / 2025-03-15: metadata (JSON object of strings), the retention
    # policy (JSON, as the API spells it) and when the retention sweeper deletes the thread.
    sa.Column("metadata", sa.Text, nullable=True),
    sa.Column("retention", sa.Text, nullable=True),
    sa.Column("expires_ms", sa.BigInteger, nullable=True),
)

chat_participants = sa.Table(
    "chat_participants",
    metadata,
    sa.Column("thread_id", sa.String(80), primary_key=True),
    sa.Column("user_id", sa.String(160), primary_key=True),
    sa.Column("display_name", sa.Text, nullable=True),
    sa.Column("share_history_ms", sa.BigInteger, nullable=False),
    sa.Column("added_ms", sa.BigInteger, nullable=False),
    sa.Column("added_seq", sa.BigInteger, nullable=False),
    sa.Column("removed_ms", sa.BigInteger, nullable=True),
    sa.Column("removed_seq", sa.BigInteger, nullable=True),
    sa.Column("metadata", sa.Text, nullable=True),
)

chat_messages = sa.Table(
    "chat_messages",
    metadata,
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

chat_read_receipts = sa.Table(
    "chat_read_receipts",
    metadata,
    sa.Column("thread_id", sa.String(80), primary_key=True),
    sa.Column("user_id", sa.String(160), primary_key=True),
    sa.Column("message_id", sa.String(24), nullable=False),
    sa.Column("read_ms", sa.BigInteger, nullable=False),
)

chat_events = sa.Table(
    "chat_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("thread_id", sa.String(80), nullable=False),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

chat_stream = sa.Table(
    "chat_stream",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)
