"""The event tables (migration 0004): outbox, subscriptions, and one row per pending delivery.

event_outbox ──(fan-out)──▶ event_deliveries ◀── event_subscriptions
one row per event           one row per (event, subscription) still owed:
                            pending (with a lease while in flight) or dead_lettered
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from switchboard.storage.database import metadata

# INTEGER PRIMARY KEY on SQLite (a rowid alias, AUTOINCREMENT so it never goes back), BIGSERIAL
# on PostgreSQL.
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PENDING = "pending"
DEAD_LETTERED = "dead_lettered"
EVENT = "event__"  # label prefixes for joined reads
SUBSCRIPTION = "subscription__"

event_outbox = sa.Table(
    "event_outbox",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(128), nullable=False, unique=True),  # the stable event id
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),  # JSON bytes, as the producer shaped it
    sa.Column("data_version", sa.String(16), nullable=False),
    sa.Column("event_time_ms", sa.BigInteger, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("fanned_out", sa.Boolean, nullable=False),
    sqlite_autoincrement=True,
)

event_subscriptions = sa.Table(
    "event_subscriptions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("endpoint_url", sa.Text, nullable=False),
    # The subscription's whole filter, despite the name: a JSON array of types ([] = all), or
    # an object with the types and the subject and advanced filters (subscriptions.py).
    sa.Column("included_event_types", sa.Text, nullable=False),
    sa.Column("delivery_schema", sa.String(32), nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("max_delivery_attempts", sa.Integer, nullable=False),
    sa.Column("event_ttl_minutes", sa.Integer, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

event_deliveries = sa.Table(
    "event_deliveries",
    metadata,
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
    sa.UniqueConstraint("event_seq", "subscription_name", name="uq_event_deliveries_pair"),
)


def prefixed_columns(table: sa.Table, prefix: str) -> list[sa.Label[Any]]:
    """Every column of ``table`` labelled ``prefix + name``, for joins that read two tables."""
    return [column.label(prefix + column.name) for column in table.c]


def unprefixed(mapping: Mapping[Any, Any], prefix: str) -> dict[str, Any]:
    """The columns selected with :func:`prefixed_columns`, under their own names."""
    return {key[len(prefix) :]: value for key, value in mapping.items() if key.startswith(prefix)}
