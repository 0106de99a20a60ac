"""The callback queue's tables (migration 0010): one stream row per call connection, one row
per queued batch. See callbacks_store.py for the states."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard.storage.database import metadata

automation_callback_streams = sa.Table(
    "automation_callback_streams",
    metadata,
    sa.Column("call_connection_id", sa.String(128), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),  # the last sequence number handed out
    sa.Column("next_attempt_ms", sa.BigInteger, nullable=True),  # NULL: nothing owed (idle)
    sa.Column("claim_token", sa.String(32), nullable=True),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_automation_callback_streams_due", "next_attempt_ms"),
)

automation_callbacks = sa.Table(
    "automation_callbacks",
    metadata,
    sa.Column(
        "call_connection_id",
        sa.String(128),
        sa.ForeignKey("automation_callback_streams.call_connection_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),  # the JSON array, exactly as POSTed
    sa.Column("event_count", sa.Integer, nullable=False),
    sa.Column("enqueued_ms", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_attempt_ms", sa.BigInteger, nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
)
