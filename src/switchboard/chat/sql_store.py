"""SqlChatStore: the ChatStore (chat/store.py) on SQLite and PostgreSQL.

    thread_unit(id) ─▶ group-commit block (storage/groupcommit.py: concurrent units share
                       one COMMIT) ─▶ SqlThreadUnit.lock (row lock, roster from the cache)
                   ─▶ the service's writes ─▶ COMMIT ─▶ the roster cache learns what was read

The event stream's sequence is allocated from one counter row inside the writing unit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.chat.domain_events import ChatEvent, decode_data
from switchboard.chat.models import (
    Message,
    Participant,
    ReadReceipt,
    Thread,
)
from switchboard.chat.rows import message_from_row, participant_from_row, thread_from_row
from switchboard.chat.sql_unit import RosterCache, SqlThreadUnit
from switchboard.chat.store import participants_seq_window
from switchboard.chat.tables import (
    chat_events,
    chat_messages,
    chat_participants,
    chat_read_receipts,
    chat_stream,
    chat_threads,
)
from switchboard.core.errors import ThreadNotFoundError
from switchboard.events.outbox import Outbox
from switchboard.storage.database import Database
from switchboard.storage.driver import DriverSql
from switchboard.storage.groupcommit import GroupCommitter


class SqlChatStore:
    """Implements ChatStore. ``outbox`` takes the units' integration events (Event Grid)."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox | None = None,
        *,
        rosters: RosterCache | None = None,
    ) -> None:
        self._db = database
        self._outbox = outbox
        self._writes = GroupCommitter(database)
        self._rosters = rosters if rosters is not None else RosterCache()

    @asynccontextmanager
    async def thread_unit(self, thread_id: str) -> AsyncIterator[SqlThreadUnit]:
        async with self._writes.block() as block:
            unit = self._unit(block.connection, block.sql)
            thread = await unit.lock(thread_id)
            if thread is None or thread.deleted_ms is not None:
                raise ThreadNotFoundError(f"Thread '{thread_id}' was not found.", target="threadId")
            yield unit
        self._rosters.learn(unit.learned)  # committed: what it read is now true for everyone

    @asynccontextmanager
    async def new_thread_unit(self, thread: Thread) -> AsyncIterator[SqlThreadUnit]:
        async with self._writes.block() as block:
            unit = self._unit(block.connection, block.sql)
            await unit.create(thread)
            yield unit

    def _unit(self, conn: AsyncConnection, sql: DriverSql) -> SqlThreadUnit:
        return SqlThreadUnit(
            conn, sql, for_update=not self._db.is_sqlite, rosters=self._rosters, outbox=self._outbox
        )

    async def get_thread(self, thread_id: str) -> Thread | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(sa.select(chat_threads).where(chat_threads.c.id == thread_id))
            ).first()
        return None if row is None else thread_from_row(row)

    async def get_participant(self, thread_id: str, user_id: str) -> Participant | None:
        p = chat_participants
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(p).where(p.c.thread_id == thread_id, p.c.user_id == user_id)
                )
            ).first()
        return None if row is None else participant_from_row(row)

    async def list_participants(self, thread_id: str, skip: int, limit: int) -> list[Participant]:
        p = chat_participants
        query = (
            sa.select(p)
            .where(p.c.thread_id == thread_id, p.c.removed_seq.is_(None))
            .order_by(p.c.added_seq, p.c.user_id)
            .offset(skip)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [participant_from_row(r) for r in (await conn.execute(query)).all()]

    async def list_threads(
        self, user_id: str, start_ms: int | None, after: tuple[int, str] | None, limit: int
    ) -> list[Thread]:
        """Threads the user is in, newest first; ``after`` = (created_ms, id) of the last seen."""
        t, p = chat_threads, chat_participants
        query = (
            sa.select(t)
            .join(p, sa.and_(p.c.thread_id == t.c.id, p.c.user_id == user_id))
            .where(p.c.removed_seq.is_(None), t.c.deleted_ms.is_(None))
            .order_by(t.c.created_ms.desc(), t.c.id.desc())
            .limit(limit)
        )
        if start_ms is not None:
            activity = sa.func.coalesce(t.c.last_message_ms, t.c.created_ms)
            query = query.where(activity >= start_ms)
        if after is not None:
            query = query.where(
                sa.or_(
                    t.c.created_ms < after[0],
                    sa.and_(t.c.created_ms == after[0], t.c.id < after[1]),
                )
            )
        async with self._db.read() as conn:
            return [thread_from_row(r) for r in (await conn.execute(query)).all()]

    async def list_messages(
        self, viewer: Participant, start_ms: int | None, before_seq: int | None, limit: int
    ) -> list[Message]:
        """Messages the viewer may see, newest first, strictly before ``before_seq``."""
        m = chat_messages
        floor = max(viewer.share_history_ms, start_ms or 0)
        query = (
            sa.select(m)
            .where(m.c.thread_id == viewer.thread_id, m.c.created_ms >= floor)
            .order_by(m.c.sequence_id.desc())
            .limit(limit)
        )
        if viewer.removed_ms is not None:
            query = query.where(m.c.created_ms <= viewer.removed_ms)
        if before_seq is not None:
            query = query.where(m.c.sequence_id < before_seq)
        async with self._db.read() as conn:
            return [message_from_row(r) for r in (await conn.execute(query)).all()]

    async def get_message(self, thread_id: str, message_id: str) -> Message | None:
        m = chat_messages
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(m).where(m.c.thread_id == thread_id, m.c.id == message_id)
                )
            ).first()
        return None if row is None else message_from_row(row)

    async def list_read_receipts(self, thread_id: str, skip: int, limit: int) -> list[ReadReceipt]:
        r, p = chat_read_receipts, chat_participants
        query = (
            sa.select(r)
            .join(p, sa.and_(p.c.thread_id == r.c.thread_id, p.c.user_id == r.c.user_id))
            .where(r.c.thread_id == thread_id, p.c.removed_seq.is_(None))
            .order_by(r.c.read_ms, r.c.user_id)
            .offset(skip)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [ReadReceipt(x.thread_id, x.user_id, x.message_id, x.read_ms) for x in rows]

    async def events_since(self, user_id: str, cursor: int, limit: int) -> list[ChatEvent]:
        """The user's durable events after ``cursor``, in order (membership windows apply)."""
        e, p = chat_events, chat_participants
        query = (
            sa.select(e.c.seq, e.c.thread_id, e.c.name, e.c.data)
            .join(p, sa.and_(p.c.thread_id == e.c.thread_id, p.c.user_id == user_id))
            .where(
                e.c.seq > cursor,
                e.c.seq >= p.c.added_seq,
                sa.or_(p.c.removed_seq.is_(None), e.c.seq <= p.c.removed_seq),
            )
            .order_by(e.c.seq)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [ChatEvent(r.seq, decode_data(r.data), (user_id,)) for r in rows]

    async def events_between(self, first: int, last: int) -> list[ChatEvent]:
        """Every event with first <= seq <= last (recipients recomputed from memberships)."""
        e, p = chat_events, chat_participants
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(e).where(e.c.seq >= first, e.c.seq <= last).order_by(e.c.seq)
                )
            ).all()
            threads = {r.thread_id for r in rows}
            members = (
                (await conn.execute(sa.select(p).where(p.c.thread_id.in_(threads)))).all()
                if threads
                else []
            )
        by_thread: dict[str, list[Participant]] = {}
        for row in members:
            by_thread.setdefault(row.thread_id, []).append(participant_from_row(row))
        return [
            ChatEvent(
                r.seq,
                decode_data(r.data),
                participants_seq_window(by_thread.get(r.thread_id, []), r.seq),
            )
            for r in rows
        ]

    async def stream_bounds(self) -> tuple[int, int]:
        """(oldest retained seq - 1, last seq): a cursor below the first is beyond retention."""
        async with self._db.read() as conn:
            last = await conn.scalar(sa.select(chat_stream.c.last_seq))
            oldest = await conn.scalar(sa.select(sa.func.min(chat_events.c.seq)))
        last = int(last or 0)
        return (int(oldest) - 1 if oldest is not None else last), last

    async def prune_events(self, older_than_ms: int) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(
                chat_events.delete().where(chat_events.c.created_ms < older_than_ms)
            )
        return int(result.rowcount or 0)

    async def expired_threads(self, now_ms: int, limit: int) -> list[str]:
        t = chat_threads
        query = (
            sa.select(t.c.id)
            .where(t.c.deleted_ms.is_(None), t.c.expires_ms <= now_ms)
            .order_by(t.c.expires_ms, t.c.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [str(r.id) for r in (await conn.execute(query)).all()]
