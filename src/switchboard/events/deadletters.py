"""Dead letters: deliveries that stopped being retried, listed and replayed by an operator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import sqlalchemy as sa

from switchboard.events.models import AttemptRecord, DeadLetter, DeadLetterReason, Page
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

DeadLetterCursor = tuple[int, str]  # (dead_lettered_ms, id) of the last item of a page

_d, _o, _s = event_deliveries, event_outbox, event_subscriptions


class DeadLetterStore(Protocol):
    async def list(
        self, subscription: str | None, after: DeadLetterCursor | None, limit: int
    ) -> Page[DeadLetter, DeadLetterCursor]:
        """Oldest first, optionally of one subscription."""
        ...

    async def replay(self, dead_letter_id: str, now_ms: int) -> bool:
        """Make it pending again with fresh attempts and TTL; False if no such dead letter."""
        ...

    async def replay_all(self, subscription: str | None, now_ms: int) -> int:
        """Replay every dead letter (of one subscription); how many."""
        ...


class SqlDeadLetterStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def list(
        self, subscription: str | None, after: DeadLetterCursor | None, limit: int
    ) -> Page[DeadLetter, DeadLetterCursor]:
        query = (
            sa.select(
                _d,
                *prefixed_columns(_o, EVENT),
                *prefixed_columns(_s, SUBSCRIPTION),
            )
            .join(_o, _o.c.seq == _d.c.event_seq)
            .join(_s, _s.c.name == _d.c.subscription_name)
            .where(_d.c.state == DEAD_LETTERED)
            .order_by(_d.c.dead_lettered_ms, _d.c.id)
            .limit(limit + 1)
        )
        if subscription is not None:
            query = query.where(_d.c.subscription_name == subscription)
        if after is not None:
            query = query.where(sa.tuple_(_d.c.dead_lettered_ms, _d.c.id) > sa.tuple_(*after))
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        items = [_dead_letter(row._mapping) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items, (items[-1].dead_lettered_ms, items[-1].id) if more else None)

    async def replay(self, dead_letter_id: str, now_ms: int) -> bool:
        return await self._replay(_d.c.id == dead_letter_id, now_ms) == 1

    async def replay_all(self, subscription: str | None, now_ms: int) -> int:
        condition = sa.true() if subscription is None else _d.c.subscription_name == subscription
        return await self._replay(condition, now_ms)

    async def _replay(self, condition: sa.ColumnElement[bool], now_ms: int) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(
                _d.update()
                .where(condition, _d.c.state == DEAD_LETTERED)
                .values(
                    state=PENDING,
                    attempts=0,
                    enqueued_ms=now_ms,  # a fresh time-to-live, or it would expire at once
                    next_attempt_ms=now_ms,
                    dead_letter_reason=None,
                    dead_lettered_ms=None,
                )
            )
        return int(result.rowcount)


def _dead_letter(m: Mapping[Any, Any]) -> DeadLetter:
    last = None
    if m["last_attempt_ms"] is not None:
        last = AttemptRecord(m["last_attempt_ms"], m["last_status"], m["last_error"] or "")
    return DeadLetter(
        id=m["id"],
        subscription=subscription_from_row(unprefixed(m, SUBSCRIPTION)),
        event=stored_event(unprefixed(m, EVENT)),
        reason=DeadLetterReason(m["dead_letter_reason"]),
        attempts=m["attempts"],
        last_attempt=last,
        dead_lettered_ms=m["dead_lettered_ms"],
    )
