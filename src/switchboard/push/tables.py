"""push/'s tables (migration 0015): registrations, and the outbox of notifications owed."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard.storage.database import metadata

push_registrations = sa.Table(
    "push_registrations",
    metadata,
    sa.Column("user_id", sa.String(160), primary_key=True),
    sa.Column("device_id", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("app_id", sa.String(256), nullable=False, server_default=""),
    sa.Column("p256dh", sa.String(256), nullable=False, server_default=""),
    sa.Column("auth", sa.String(128), nullable=False, server_default=""),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_push_registrations_expires", "expires_ms"),
)

push_outbox = sa.Table(
    "push_outbox",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.String(160), nullable=False),
    sa.Column("device_id", sa.String(128), nullable=False),
    sa.Column("notification", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("due_ms", sa.BigInteger, nullable=False),
    sa.Column("claim", sa.String(32), nullable=False, server_default=""),
    sa.Index("ix_push_outbox_due", "due_ms"),
)

# How far push has owed the pushes of another domain's durable event stream (chat's
# ``chat_events``): events after ``position`` may still owe pushes (docs/push.md, Delivery).
push_stream_positions = sa.Table(
    "push_stream_positions",
    metadata,
    sa.Column("stream", sa.String(32), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)
