"""Held segments of concatenated inbound messages, on SQLite and PostgreSQL.

Used by SqlSmsStore (store_sql.py): ``hold`` in a write of its own, ``release`` inside the
unit of work that stores the whole message, so the message and the end of its segments
commit together.

    hold ─▶ PostgreSQL: transaction lock on the message's key (holds of one message take
            turns, so the one that completes it sees every sibling; SQLite has one writer)
         ─▶ drop segments past their age ─▶ this index held already?
               same payload: a redelivery, nothing to do
               another payload: the reference was reused, drop the old message's segments
         ─▶ insert ─▶ the key's segments, in index order
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.sms.carrier import InboundSegment, SegmentKey
from switchboard.sms.tables import sms_held_segments

_h = sms_held_segments


def _of(carrier: str, key: SegmentKey) -> sa.ColumnElement[bool]:
    return sa.and_(
        _h.c.carrier == carrier,
        _h.c.sender == key.sender,
        _h.c.recipient == key.recipient,
        _h.c.reference == key.reference,
        _h.c.total == key.total,
    )


def _lock_id(carrier: str, key: SegmentKey) -> int:
    """A 64-bit advisory lock id for the message (a collision only makes two wait)."""
    name = f"sms-held:{carrier}:{key.sender}:{key.recipient}:{key.reference}:{key.total}"
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def hold(
    conn: AsyncConnection,
    carrier: str,
    segment: InboundSegment,
    expire_before_ms: int,
    *,
    lock: bool,
) -> list[InboundSegment]:
    key = segment.key
    if lock:
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_id(carrier, key))))
    await conn.execute(_h.delete().where(_h.c.received_ms < expire_before_ms))
    held = (
        await conn.execute(
            sa.select(_h.c.payload).where(_of(carrier, key), _h.c.part == segment.index)
        )
    ).first()
    if held is None or bytes(held.payload) != segment.payload:
        if held is not None:
            await conn.execute(_h.delete().where(_of(carrier, key)))
        await conn.execute(
            _h.insert().values(
                carrier=carrier,
                sender=key.sender,
                recipient=key.recipient,
                reference=key.reference,
                total=key.total,
                part=segment.index,
                data_coding=segment.data_coding,
                payload=segment.payload,
                received_ms=segment.received_ms,
            )
        )
    rows = (await conn.execute(sa.select(_h).where(_of(carrier, key)).order_by(_h.c.part))).all()
    return [
        InboundSegment(key, r.part, r.data_coding, bytes(r.payload), r.received_ms) for r in rows
    ]


async def release(conn: AsyncConnection, carrier: str, key: SegmentKey) -> None:
    await conn.execute(_h.delete().where(_of(carrier, key)))
