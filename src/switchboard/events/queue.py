"""The delivery queue the dispatcher works from: fan-out, claims with a lease, outcomes.

    event_outbox (fanned_out = false)
        │ fan_out: one pending row per subscription whose filters pass (the type, then
        │          subject and advanced filters, filters.py: payloads are read only for those)
        ▼
    event_deliveries: pending ──claim (lease)──▶ in flight ──complete──▶ row deleted
                         ▲                          │
                         └──── retry_later ◀────────┤
                                                    └──dead_letter──▶ dead_lettered

Several nodes share the queue: fan-out and claims lock rows with ``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so two nodes never take the same rows; SQLite has a single writer and ignores
the clause. A claimed row gets ``locked_until_ms`` and, in the same column the claim query
reads, ``next_attempt_ms`` = the lease's end: if the node dies mid-delivery, the row falls
due again when the lease runs out and another node (or the restarted one) takes it over.
Outcomes are fenced by the claim token, so a late answer after a lost lease changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.events.filters import FilterTarget
from switchboard.events.models import (
    AttemptRecord,
    ClaimedDelivery,
    DeadLetterReason,
    EventSubscription,
)
from switchboard.events.outbox import stored_event
from switchboard.events.subscriptions import subscription_from_row
from switchboard.events.tables import (
    DEAD_LETTERED,
    EVENT,
    PENDING,
    SUBSCRIPTION,
    event_deliveries,
    event_outbox,
    event_subscriptions,
    prefixed_columns,
    unprefixed,
)
from switchboard.storage.database import Database

_d, _o, _s = event_deliveries, event_outbox, event_subscriptions
_PURGE_BATCH = 5000


class DeliveryQueue(Protocol):
    async def fan_out(self, now_ms: int, limit: int) -> int:
        """Turn up to ``limit`` new events into pending deliveries; the number of events."""
        ...

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[ClaimedDelivery]:
        """Due deliveries, leased to the caller until ``now_ms + lease_ms``."""
        ...

    async def complete(self, delivery: ClaimedDelivery) -> None:
        """Delivered: nothing more is owed."""
        ...

    async def retry_later(
        self, delivery: ClaimedDelivery, attempt: AttemptRecord, next_attempt_ms: int
    ) -> None: ...

    async def dead_letter(
        self,
        delivery: ClaimedDelivery,
        attempt: AttemptRecord | None,
        reason: DeadLetterReason,
        now_ms: int,
    ) -> None:
        """Stop trying; ``attempt`` is the failed attempt that ended it, if one was made."""
        ...

    async def next_due_ms(self) -> int | None:
        """When the earliest pending delivery falls due (None: nothing pending)."""
        ...

    async def purge(self, before_ms: int) -> int:
        """Delete fanned-out events created before ``before_ms`` that nothing is owed for."""
        ...


class SqlDeliveryQueue:
    def __init__(self, database: Database, *, topic: str | None = None) -> None:
        self._db = database
        self._topic = topic  # what filters on "topic"/"source" see; None: absent

    async def fan_out(self, now_ms: int, limit: int) -> int:
        async with self._db.write() as conn:
            events = (
                await conn.execute(
                    sa.select(_o.c.seq, _o.c.type, _o.c.created_ms)
                    .where(_o.c.fanned_out.is_(False))
                    .order_by(_o.c.seq)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not events:
                return 0
            # FOR SHARE: a subscription deleted meanwhile would fail our foreign keys.
            rows = await conn.execute(sa.select(_s).with_for_update(read=True))
            subscriptions = [subscription_from_row(row._mapping) for row in rows.all()]
            seqs = [event.seq for event in events]
            targets = await self._filter_targets(conn, seqs, subscriptions)
            deliveries = [
                {
                    "id": uuid.uuid4().hex,
                    "event_seq": event.seq,
                    "subscription_name": subscription.name,
                    "state": PENDING,
                    "attempts": 0,
                    "enqueued_ms": event.created_ms,  # TTL counts from publication
                    "next_attempt_ms": now_ms,
                }
                for event in events
                for subscription in subscriptions
                if subscription.wants(event.type)
                and (
                    subscription.event_filter.is_empty
                    or subscription.event_filter.matches(targets[event.seq])
                )
            ]
            if deliveries:
                await conn.execute(_d.insert(), deliveries)
            await conn.execute(_o.update().where(_o.c.seq.in_(seqs)).values(fanned_out=True))
        return len(events)

    async def _filter_targets(
        self, conn: AsyncConnection, seqs: list[int], subscriptions: list[EventSubscription]
    ) -> dict[int, FilterTarget]:
        """What subject and advanced filters look at, read only when a subscription has such
        filters: the common case reads no event payloads at fan-out."""
        if all(s.event_filter.is_empty for s in subscriptions):
            return {}
        rows = await conn.execute(
            sa.select(
                _o.c.seq, _o.c.id, _o.c.type, _o.c.subject, _o.c.data, _o.c.data_version
            ).where(_o.c.seq.in_(seqs))
        )
        return {
            row.seq: FilterTarget(
                row.type,
                row.subject,
                data_json=bytes(row.data),
                id=row.id,
                topic=self._topic,
                data_version=row.data_version,
            )
            for row in rows.all()
        }

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[ClaimedDelivery]:
        token = uuid.uuid4().hex
        lease_end = now_ms + lease_ms
        async with self._db.write() as conn:
            ids = (
                await conn.scalars(
                    sa.select(_d.c.id)
                    .where(_d.c.state == PENDING, _d.c.next_attempt_ms <= now_ms)
                    .order_by(_d.c.next_attempt_ms)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not ids:
                return []
            await conn.execute(
                _d.update()
                .where(_d.c.id.in_(ids))
                .values(locked_until_ms=lease_end, next_attempt_ms=lease_end, claim_token=token)
            )
            rows = await conn.execute(
                sa.select(
                    _d.c.id,
                    _d.c.attempts,
                    _d.c.enqueued_ms,
                    *prefixed_columns(_o, EVENT),
                    *prefixed_columns(_s, SUBSCRIPTION),
                )
                .join(_o, _o.c.seq == _d.c.event_seq)
                .join(_s, _s.c.name == _d.c.subscription_name)
                .where(_d.c.id.in_(ids))
                .order_by(_d.c.next_attempt_ms, _o.c.seq)
            )
            return [_claimed(row._mapping, token) for row in rows.all()]

    async def complete(self, delivery: ClaimedDelivery) -> None:
        async with self._db.write() as conn:
            await conn.execute(_d.delete().where(*_held(delivery)))

    async def retry_later(
        self, delivery: ClaimedDelivery, attempt: AttemptRecord, next_attempt_ms: int
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                _d.update()
                .where(*_held(delivery))
                .values(
                    attempts=delivery.attempts + 1,
                    next_attempt_ms=next_attempt_ms,
                    **_released(),
                    **_outcome(attempt),
                )
            )

    async def dead_letter(
        self,
        delivery: ClaimedDelivery,
        attempt: AttemptRecord | None,
        reason: DeadLetterReason,
        now_ms: int,
    ) -> None:
        values: dict[str, Any] = {
            "state": DEAD_LETTERED,
            "dead_letter_reason": reason.value,
            "dead_lettered_ms": now_ms,
            **_released(),
        }
        if attempt is not None:
            values.update(attempts=delivery.attempts + 1, **_outcome(attempt))
        async with self._db.write() as conn:
            await conn.execute(_d.update().where(*_held(delivery)).values(**values))

    async def next_due_ms(self) -> int | None:
        async with self._db.read() as conn:
            due = await conn.scalar(
                sa.select(sa.func.min(_d.c.next_attempt_ms)).where(_d.c.state == PENDING)
            )
        return None if due is None else int(due)

    async def purge(self, before_ms: int) -> int:
        owed = sa.select(_d.c.id).where(_d.c.event_seq == _o.c.seq).exists()
        settled = (
            sa.select(_o.c.seq)
            .where(_o.c.fanned_out.is_(True), _o.c.created_ms < before_ms, ~owed)
            .limit(_PURGE_BATCH)
        )
        async with self._db.write() as conn:
            result = await conn.execute(_o.delete().where(_o.c.seq.in_(settled)))
        return int(result.rowcount)


def _held(delivery: ClaimedDelivery) -> tuple[sa.ColumnElement[bool], ...]:
    return (_d.c.id == delivery.id, _d.c.claim_token == delivery.claim_token)


def _released() -> dict[str, Any]:
    return {"locked_until_ms": None, "claim_token": None}


def _outcome(attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "last_attempt_ms": attempt.attempted_ms,
        "last_status": attempt.status,
        "last_error": attempt.error[:2000],
    }


def _claimed(m: Mapping[Any, Any], token: str) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=m["id"],
        claim_token=token,
        attempts=m["attempts"],
        enqueued_ms=m["enqueued_ms"],
        event=stored_event(unprefixed(m, EVENT)),
        subscription=subscription_from_row(unprefixed(m, SUBSCRIPTION)),
    )
