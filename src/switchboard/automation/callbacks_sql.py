"""SqlCallbackQueue: the callback queue on SQLite or PostgreSQL (callbacks_store.py says how).

Enqueues from many calls at once share a commit (storage/groupcommit.py: one fsync for the
batch, each enqueue in a savepoint). Gap-free sequences: ``enqueue`` bumps the stream row's
``last_seq`` with an upsert that locks the row until the commit, so concurrent enqueues for
one call take turns and a rolled-back one gives its number back. ``add(conn, …)`` does the
same inside a caller's open transaction, so a state change and the callbacks it causes commit
together.

Claims lock due stream rows with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has a single
writer and ignores it) and move ``next_attempt_ms`` to the lease's end, so another node sees the
stream as not due until the lease runs out. Outcomes check the claim token under the row lock.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.automation.callbacks_store import (
    CallbackAttempt,
    CallbackBatch,
    ClaimedBatch,
    Settled,
)
from switchboard.automation.callbacks_tables import (
    automation_callback_streams,
    automation_callbacks,
)
from switchboard.storage.database import Database
from switchboard.storage.groupcommit import GroupCommitter

_s, _b = automation_callback_streams, automation_callbacks
_ERROR_CHARS = 2000


class SqlCallbackQueue:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._group = GroupCommitter(database)

    async def enqueue(self, batch: CallbackBatch) -> int:
        # Concurrent enqueues (many calls) share one durable commit; each returns after it.
        async with self._group.transaction() as conn:
            return await self.add(conn, batch)

    async def add(self, conn: AsyncConnection, batch: CallbackBatch) -> int:
        """``enqueue`` in the caller's open transaction: the batch commits with it or never.
        Wake the dispatcher after the commit (``AutomationCallbacks.wake``)."""
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_s)
        upsert = (
            insert.values(
                call_connection_id=batch.call_connection_id,
                last_seq=1,
                next_attempt_ms=batch.enqueued_ms,
                claim_token=None,
                updated_ms=batch.enqueued_ms,
            )
            .on_conflict_do_update(
                index_elements=[_s.c.call_connection_id],
                set_={
                    "last_seq": _s.c.last_seq + 1,
                    # An idle stream falls due now; a busy one keeps its schedule (or lease).
                    "next_attempt_ms": sa.func.coalesce(
                        _s.c.next_attempt_ms, insert.excluded.next_attempt_ms
                    ),
                    "updated_ms": insert.excluded.updated_ms,
                },
            )
            .returning(_s.c.last_seq)
        )
        seq = int((await conn.execute(upsert)).scalar_one())
        await conn.execute(
            _b.insert().values(
                call_connection_id=batch.call_connection_id,
                seq=seq,
                url=batch.url,
                body=batch.body,
                event_count=batch.event_count,
                enqueued_ms=batch.enqueued_ms,
                attempts=0,
            )
        )
        return seq

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[ClaimedBatch]:
        if limit <= 0:
            return []
        token = uuid.uuid4().hex
        async with self._db.write() as conn:
            ids = (
                await conn.scalars(
                    sa.select(_s.c.call_connection_id)
                    .where(_s.c.next_attempt_ms <= now_ms)
                    .order_by(_s.c.next_attempt_ms)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not ids:
                return []
            await conn.execute(
                _s.update()
                .where(_s.c.call_connection_id.in_(ids))
                .values(next_attempt_ms=now_ms + lease_ms, claim_token=token)
            )
            head = _b.alias("head")
            head_seq = (
                sa.select(sa.func.min(head.c.seq))
                .where(head.c.call_connection_id == _b.c.call_connection_id)
                .correlate(_b)
                .scalar_subquery()
            )
            rows = await conn.execute(
                sa.select(_b).where(_b.c.call_connection_id.in_(ids), _b.c.seq == head_seq)
            )
            return [_claimed(row, token) for row in rows.all()]

    async def settle(
        self, claimed: ClaimedBatch, now_ms: int, *, lease_ms: int | None = None
    ) -> Settled:
        call = claimed.call_connection_id
        async with self._db.write() as conn:
            if not await self._holds(conn, claimed):
                return Settled(False)
            await conn.execute(
                _b.delete().where(_b.c.call_connection_id == call, _b.c.seq == claimed.seq)
            )
            following = None
            if lease_ms is not None:
                row = (
                    await conn.execute(
                        sa.select(_b)
                        .where(_b.c.call_connection_id == call)
                        .order_by(_b.c.seq)
                        .limit(1)
                    )
                ).first()
                following = None if row is None else _claimed(row, claimed.claim_token)
            if following is not None and lease_ms is not None:
                values: dict[str, Any] = {"next_attempt_ms": now_ms + lease_ms}
            else:
                more = sa.select(_b.c.seq).where(_b.c.call_connection_id == call).exists()
                values = {
                    "next_attempt_ms": sa.case((more, now_ms), else_=sa.null()),
                    "claim_token": None,
                }
            await conn.execute(
                _s.update()
                .where(_s.c.call_connection_id == call)
                .values(updated_ms=now_ms, **values)
            )
        return Settled(True, following)

    async def retry_later(
        self, claimed: ClaimedBatch, attempt: CallbackAttempt, next_attempt_ms: int
    ) -> bool:
        async with self._db.write() as conn:
            if not await self._holds(conn, claimed):
                return False
            await conn.execute(
                _b.update()
                .where(
                    _b.c.call_connection_id == claimed.call_connection_id,
                    _b.c.seq == claimed.seq,
                )
                .values(
                    attempts=claimed.attempts + 1,
                    last_attempt_ms=attempt.attempted_ms,
                    last_status=attempt.status,
                    last_error=attempt.error[:_ERROR_CHARS],
                )
            )
            await conn.execute(
                _s.update()
                .where(_s.c.call_connection_id == claimed.call_connection_id)
                .values(
                    next_attempt_ms=next_attempt_ms,
                    claim_token=None,
                    updated_ms=attempt.attempted_ms,
                )
            )
        return True

    async def next_due_ms(self) -> int | None:
        async with self._db.read() as conn:
            due = await conn.scalar(sa.select(sa.func.min(_s.c.next_attempt_ms)))
        return None if due is None else int(due)

    async def backlog(self, call_connection_id: str) -> int:
        async with self._db.read() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(_b)
                .where(_b.c.call_connection_id == call_connection_id)
            )
        return int(count or 0)

    async def purge_idle(self, before_ms: int) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(
                _s.delete().where(_s.c.next_attempt_ms.is_(None), _s.c.updated_ms < before_ms)
            )
        return int(result.rowcount)

    async def _holds(self, conn: AsyncConnection, claimed: ClaimedBatch) -> bool:
        """Under the stream row's lock: is our claim still the stream's?"""
        token: Any = await conn.scalar(
            sa.select(_s.c.claim_token)
            .where(_s.c.call_connection_id == claimed.call_connection_id)
            .with_for_update()
        )
        return token is not None and token == claimed.claim_token


def _claimed(row: sa.Row[Any], token: str) -> ClaimedBatch:
    return ClaimedBatch(
        row.call_connection_id,
        row.seq,
        row.url,
        bytes(row.body),
        row.enqueued_ms,
        row.attempts,
        token,
    )
