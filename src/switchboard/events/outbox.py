"""The outbox: the one way a domain publishes integration events.

    producer: async with database.write() as conn:
                  ...change rows...
                  await outbox.add(conn, [IntegrationEvent(...)])   # same transaction
              await publisher.publish(topic, messages, outbox_written=True)   # after commit
                     ├─ outbox.notify() ─ bus "events.outbox" ─▶ every node's EventDispatcher
                     │                    looks now (without it: within events_poll_seconds)
                     └─ the domain's own bus messages (real-time fan-out)

``add`` only inserts into ``event_outbox``; which subscriptions get the event is decided by
the dispatcher's fan-out (docs/decisions.md), so a producer's transaction stays one INSERT.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.bus.base import Bus
from switchboard.core.clock import Clock
from switchboard.core.events import IntegrationEvent
from switchboard.events.models import StoredEvent
from switchboard.events.tables import event_outbox
from switchboard.storage.database import Database

log = logging.getLogger(__name__)

OUTBOX_TOPIC = "events.outbox"
"""Bus topic that wakes every node's dispatcher; the message carries nothing."""

_encode = msgspec.json.encode


class Outbox(Protocol):
    async def add(self, conn: AsyncConnection, events: Sequence[IntegrationEvent]) -> None:
        """Insert ``events`` in the caller's open transaction: they commit with it or never."""
        ...

    async def notify(self) -> None:
        """After the commit: wake the dispatchers. Never raises (the poll is the backstop)."""
        ...


class PostCommitPublisher:
    """What every change does once committed: wake the outbox's dispatchers if it wrote
    integration events, then publish its bus messages. Both are best effort: the change is
    committed, dispatchers poll, and real-time readers catch up from their stream."""

    def __init__(self, bus: Bus, outbox: Outbox | None = None) -> None:
        self._bus = bus
        self._outbox = outbox

    async def publish(
        self, topic: str, messages: Sequence[bytes], *, outbox_written: bool = False
    ) -> None:
        if outbox_written and self._outbox is not None:
            await self._outbox.notify()
        for message in messages:
            try:
                await self._bus.publish(topic, message)
            except Exception:
                log.exception("publishing a committed change on %s failed", topic)


class SqlEventOutbox:
    def __init__(self, bus: Bus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock

    async def add(self, conn: AsyncConnection, events: Sequence[IntegrationEvent]) -> None:
        if not events:
            return
        now_ms = int(self._clock.now() * 1000)
        await conn.execute(
            event_outbox.insert(),
            [
                {
                    "id": event.id,
                    "type": event.type,
                    "subject": event.subject,
                    "data": _encode(dict(event.data)),
                    "data_version": event.data_version,
                    "event_time_ms": int(event.time * 1000),
                    "created_ms": now_ms,
                    "fanned_out": False,
                }
                for event in events
            ],
        )

    async def notify(self) -> None:
        try:
            await self._bus.publish(OUTBOX_TOPIC, b"")
        except Exception:  # the events are committed; a lost wake-up only delays them a poll
            log.warning(
                "could not publish the outbox wake-up; dispatchers will poll", exc_info=True
            )


class OutboxReader:
    """Events by creation time, for ``switchboard events tail``."""

    def __init__(self, database: Database, *, page_size: int = 500) -> None:
        self._db = database
        self._page_size = page_size

    async def created_since(self, since_ms: int) -> AsyncIterator[StoredEvent]:
        """Every event created at or after ``since_ms``, oldest first, page by page."""
        o = event_outbox
        after: tuple[int, int] | None = None
        while True:
            query = sa.select(o).where(o.c.created_ms >= since_ms)
            if after is not None:
                query = query.where(sa.tuple_(o.c.created_ms, o.c.seq) > sa.tuple_(*after))
            async with self._db.read() as conn:
                rows = (
                    await conn.execute(
                        query.order_by(o.c.created_ms, o.c.seq).limit(self._page_size)
                    )
                ).all()
            for row in rows:
                yield stored_event(row._mapping)
            if len(rows) < self._page_size:
                return
            after = (rows[-1].created_ms, rows[-1].seq)


def stored_event(mapping: Mapping[Any, Any]) -> StoredEvent:
    """From an ``event_outbox`` row (or any mapping with its column names)."""
    return StoredEvent(
        seq=mapping["seq"],
        id=mapping["id"],
        type=mapping["type"],
        subject=mapping["subject"],
        data_json=bytes(mapping["data"]),
        data_version=mapping["data_version"],
        event_time_ms=mapping["event_time_ms"],
        created_ms=mapping["created_ms"],
    )
