"""SqlThreadUnit: one change to one chat thread inside a group-commit block (ThreadUnit).

The statements of a message send are plain SQL on the driver (storage/driver.py), and the
participant list comes from a cache keyed by the thread's ``roster_version`` when possible:

    lock ─ thread row (FOR UPDATE on PostgreSQL) incl. roster_version v
    roster ─ RosterCache[thread, v]?  hit: no SQL · miss: SELECT, learned as (v, roster)
    add/remove participants ─ roster_version + 1 (this unit no longer trusts v)
    after COMMIT ─ the store adds what was learned to the cache (never before: a rolled back
    batch could otherwise leave a roster cached under a version that never committed)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.chat.domain_events import ChatEvent
from switchboard.chat.models import Message, NewParticipant, Participant, RetentionPolicy, Thread
from switchboard.chat.rows import (
    json_column,
    message_from_row,
    participant_from_values,
    retention_column,
    thread_from_values,
)
from switchboard.chat.tables import (
    chat_messages,
    chat_participants,
    chat_read_receipts,
    chat_threads,
)
from switchboard.core.events import IntegrationEvent
from switchboard.events.outbox import Outbox
from switchboard.storage.driver import DriverSql

# Column orders as chat/rows.py's thread_from_values and participant_from_values read them.
_LOCK_THREAD = (
    "SELECT id, topic, created_ms, created_by, deleted_ms, last_message_ms, message_seq,"
    " last_message_id_ms, roster_version, metadata, retention, expires_ms"
    " FROM chat_threads WHERE id = ?"
)
_PARTICIPANTS = (
    "SELECT thread_id, user_id, display_name, share_history_ms, added_ms, added_seq,"
    " removed_ms, removed_seq, metadata FROM chat_participants WHERE thread_id = ?"
    " ORDER BY added_seq, user_id"
)
_BUMP_ROSTER = "UPDATE chat_threads SET roster_version = roster_version + 1 WHERE id = ?"
_ALLOCATE = "UPDATE chat_stream SET last_seq = last_seq + ? WHERE name = 'chat' RETURNING last_seq"
_INSERT_MESSAGE = (
    "INSERT INTO chat_messages (thread_id, id, sequence_id, type, content, sender_id,"
    " sender_display_name, created_ms, version_ms, metadata, system)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ADVANCE_THREAD = (
    "UPDATE chat_threads SET message_seq = ?, last_message_id_ms = ?, last_message_ms = ?"
    " WHERE id = ?"
)
_INSERT_EVENT = (
    "INSERT INTO chat_events (seq, thread_id, name, data, created_ms) VALUES (?, ?, ?, ?, ?)"
)

Roster = tuple[Participant, ...]


class RosterCache:
    """Participant lists by (thread, roster_version), shared by a node's chat transactions."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._entries: dict[str, tuple[int, Roster]] = {}

    def get(self, thread_id: str, version: int) -> Roster | None:
        entry = self._entries.get(thread_id)
        return entry[1] if entry is not None and entry[0] == version else None

    def learn(self, facts: Mapping[str, tuple[int, Roster]]) -> None:
        """Only with facts from a committed transaction (see the module docstring)."""
        for thread_id, (version, roster) in facts.items():
            current = self._entries.get(thread_id)
            if current is not None and current[0] > version:
                continue  # a newer roster is cached already
            self._entries.pop(thread_id, None)  # re-insert: most recently learned last
            self._entries[thread_id] = (version, roster)
        while len(self._entries) > self._capacity:
            del self._entries[next(iter(self._entries))]


class SqlThreadUnit:
    """Implements ThreadUnit on one group-commit block; SqlChatStore opens and commits it."""

    def __init__(
        self,
        conn: AsyncConnection,
        sql: DriverSql,
        *,
        for_update: bool,
        rosters: RosterCache,
        outbox: Outbox | None,
    ) -> None:
        self._conn = conn
        self._sql = sql
        self._for_update = for_update
        self._rosters = rosters
        self._outbox = outbox
        self._thread: Thread | None = None
        self._roster: list[Participant] = []
        self.learned: dict[str, tuple[int, Roster]] = {}
        """The roster read here, by version: for the cache once the unit commits."""

    @property
    def thread(self) -> Thread:
        assert self._thread is not None, "the store locks or creates the thread first"
        return self._thread

    @property
    def roster(self) -> Sequence[Participant]:
        return self._roster

    async def lock(self, thread_id: str) -> Thread | None:
        """Lock the thread (PostgreSQL row lock; SQLite has one writer) and read its roster."""
        row = await self._sql.fetchone(
            _LOCK_THREAD + (" FOR UPDATE" if self._for_update else ""), (thread_id,)
        )
        if row is None:
            return None
        thread = self._thread = thread_from_values(row)
        cached = self._rosters.get(thread_id, thread.roster_version)
        if cached is not None:
            self._roster = list(cached)
        else:
            self._roster = await self._select_roster(thread_id)
            self.learned[thread_id] = (thread.roster_version, tuple(self._roster))
        return thread

    async def create(self, thread: Thread) -> None:
        await self._conn.execute(
            chat_threads.insert().values(
                id=thread.id,
                topic=thread.topic,
                created_ms=thread.created_ms,
                created_by=thread.created_by,
                message_seq=thread.message_seq,
                last_message_id_ms=thread.last_message_id_ms,
                metadata=json_column(thread.metadata),
                retention=retention_column(thread.retention),
                expires_ms=thread.expires_ms,
            )
        )
        self._thread = thread
        self._roster = []

    async def _select_roster(self, thread_id: str) -> list[Participant]:
        rows = await self._sql.fetchall(_PARTICIPANTS, (thread_id,))
        return [participant_from_values(row) for row in rows]

    async def allocate_seq(self) -> int:
        row = await self._sql.fetchone(_ALLOCATE, (1,))
        if row is None:
            raise RuntimeError("the chat_stream row is missing (migration 0003 creates it)")
        return int(row[0])

    async def _roster_changed(self) -> None:
        await self._sql.execute(_BUMP_ROSTER, (self.thread.id,))
        self._thread = replace(self.thread, roster_version=self.thread.roster_version + 1)
        self.learned.pop(self.thread.id, None)  # this unit's roster is not the committed one

    async def add_participants(
        self, added: Sequence[NewParticipant], now_ms: int, seq: int
    ) -> None:
        p = chat_participants
        thread_id = self.thread.id
        for new in added:
            values = {
                "display_name": new.display_name,
                "share_history_ms": new.share_history_ms or 0,
                "added_ms": now_ms,
                "added_seq": seq,
                "removed_ms": None,
                "removed_seq": None,
                "metadata": json_column(new.metadata),
            }
            result = await self._conn.execute(
                p.update()
                .where(p.c.thread_id == thread_id, p.c.user_id == new.user_id)
                .values(**values)
            )
            if result.rowcount == 0:
                await self._conn.execute(
                    p.insert().values(thread_id=thread_id, user_id=new.user_id, **values)
                )
        await self._roster_changed()
        self._roster = await self._select_roster(thread_id)

    async def remove_participant(self, user_id: str, now_ms: int, seq: int) -> None:
        p = chat_participants
        await self._conn.execute(
            p.update()
            .where(p.c.thread_id == self.thread.id, p.c.user_id == user_id)
            .values(removed_ms=now_ms, removed_seq=seq)
        )
        await self._roster_changed()
        self._roster = [
            replace(x, removed_ms=now_ms, removed_seq=seq) if x.user_id == user_id else x
            for x in self._roster
        ]

    async def update_thread(
        self,
        *,
        topic: str | None = None,
        deleted_ms: int | None = None,
        metadata: Mapping[str, str] | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        thread = self.thread.updated(
            topic=topic, deleted_ms=deleted_ms, metadata=metadata, retention=retention
        )
        await self._conn.execute(
            chat_threads.update()
            .where(chat_threads.c.id == thread.id)
            .values(
                topic=thread.topic,
                deleted_ms=thread.deleted_ms,
                metadata=json_column(thread.metadata),
                retention=retention_column(thread.retention),
                expires_ms=thread.expires_ms,
            )
        )
        self._thread = thread

    async def add_message(self, message: Message) -> None:
        await self._sql.execute(
            _INSERT_MESSAGE,
            (
                message.thread_id,
                message.id,
                message.sequence_id,
                message.type.value,
                message.content,
                message.sender_id,
                message.sender_display_name,
                message.created_ms,
                message.version_ms,
                json_column(message.metadata),
                json_column(message.system),
            ),
        )
        id_ms = int(message.id)
        await self._sql.execute(
            _ADVANCE_THREAD, (message.sequence_id, id_ms, message.created_ms, message.thread_id)
        )
        self._thread = replace(
            self.thread,
            message_seq=message.sequence_id,
            last_message_id_ms=id_ms,
            last_message_ms=message.created_ms,
        )

    async def lock_message(self, message_id: str) -> Message | None:
        m = chat_messages
        query = sa.select(m).where(m.c.thread_id == self.thread.id, m.c.id == message_id)
        if self._for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return None if row is None else message_from_row(row)

    async def replace_message(self, message: Message) -> None:
        m = chat_messages
        await self._conn.execute(
            m.update()
            .where(m.c.thread_id == message.thread_id, m.c.id == message.id)
            .values(
                content=message.content,
                metadata=json_column(message.metadata),
                edited_ms=message.edited_ms,
                deleted_ms=message.deleted_ms,
                version_ms=message.version_ms,
            )
        )

    async def set_read_receipt(self, user_id: str, message_id: str, read_ms: int) -> None:
        r = chat_read_receipts
        thread_id = self.thread.id
        result = await self._conn.execute(
            r.update()
            .where(r.c.thread_id == thread_id, r.c.user_id == user_id)
            .values(message_id=message_id, read_ms=read_ms)
        )
        if result.rowcount == 0:
            await self._conn.execute(
                r.insert().values(
                    thread_id=thread_id, user_id=user_id, message_id=message_id, read_ms=read_ms
                )
            )

    async def append_events(self, events: Sequence[ChatEvent], now_ms: int) -> None:
        rows = [(e.seq, e.thread_id, e.name.value, e.encoded.decode(), now_ms) for e in events]
        if len(rows) == 1:
            await self._sql.execute(_INSERT_EVENT, rows[0])
        else:
            await self._sql.executemany(_INSERT_EVENT, rows)

    async def add_integration_events(self, events: Sequence[IntegrationEvent]) -> None:
        if self._outbox is not None and events:
            await self._outbox.add(self._conn, events)
