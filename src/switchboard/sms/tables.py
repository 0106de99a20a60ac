"""SMS tables, declared for queries (migrations 0006 and 0009 create them)."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard.storage.database import metadata

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

sms_messages = sa.Table(
    "sms_messages",
    metadata,
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
    # Per-recipient repeatability id of POST /sms; inbound: the carrier's id ("carrier:id").
    sa.Column("dedupe_key", sa.String(300), nullable=True, unique=True),
    sa.Column("segments", sa.Integer, nullable=True),
    sa.Column("segments_delivered", sa.Integer, nullable=False),
    sa.Column("segments_failed", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # Due time of a queued message; a claim moves it to the lease's end (see SqlSmsStore.claim).
    sa.Column("next_attempt_ms", sa.BigInteger, nullable=False),
    sa.Column("claim", sa.String(32), nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("done_ms", sa.BigInteger, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_sms_messages_due", "state", "carrier", "next_attempt_ms"),
)

# One row per submitted segment: maps the carrier's id back to our message.
sms_segments = sa.Table(
    "sms_segments",
    metadata,
    sa.Column("carrier", sa.String(100), primary_key=True),
    sa.Column("carrier_message_id", sa.String(100), primary_key=True),
    sa.Column("message_id", sa.String(80), nullable=False),
    sa.Column("status", sa.String(16), nullable=True),
    sa.Index("ix_sms_segments_message", "message_id"),
)

# A receipt that arrived before its submit was recorded (the network can be that fast).
sms_early_reports = sa.Table(
    "sms_early_reports",
    metadata,
    sa.Column("carrier", sa.String(100), primary_key=True),
    sa.Column("carrier_message_id", sa.String(100), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
)

sms_optouts = sa.Table(
    "sms_optouts",
    metadata,
    sa.Column("sender", sa.String(32), primary_key=True),
    sa.Column("recipient", sa.String(32), primary_key=True),
    sa.Column("opted_out", sa.Boolean, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

# The simulator carrier's side of the world: handsets' inboxes and behaviour, inbound
# messages waiting to be delivered to us, and receipts it still owes.
sms_sim_inbox = sa.Table(
    "sms_sim_inbox",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("carrier_message_id", sa.String(100), nullable=False),
    sa.Column("sender", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("segments", sa.Integer, nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_sms_sim_inbox_recipient", "recipient", "seq"),
)

sms_sim_handsets = sa.Table(
    "sms_sim_handsets",
    metadata,
    sa.Column("number", sa.String(32), primary_key=True),
    sa.Column("report", sa.String(16), nullable=False),
    sa.Column("delay_ms", sa.BigInteger, nullable=False),
)

sms_sim_pending = sa.Table(
    "sms_sim_pending",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "inbound" | "report"
    sa.Column("payload", sa.Text, nullable=False),  # JSON
    sa.Column("due_ms", sa.BigInteger, nullable=False),
    sa.Column("claim", sa.String(32), nullable=True),
    sa.Index("ix_sms_sim_pending_due", "due_ms"),
)

# Segments of concatenated inbound messages, until the last one arrives (migration 0009).
sms_held_segments = sa.Table(
    "sms_held_segments",
    metadata,
    sa.Column("carrier", sa.String(100), primary_key=True),
    sa.Column("sender", sa.String(32), primary_key=True),
    sa.Column("recipient", sa.String(32), primary_key=True),
    sa.Column("reference", sa.Integer, primary_key=True),
    sa.Column("total", sa.Integer, primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),  # 1-based index of the segment
    sa.Column("data_coding", sa.Integer, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_sms_held_segments_received", "received_ms"),
)
