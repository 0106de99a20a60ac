"""Write operations inside one chat transaction; the service decides what to write.

The statements of a message send are plain SQL on the driver (storage/driver.py), and the
participant list comes from a cache keyed by the thread's ``roster_version`` when possible:

    lock_thread ─ thread row (FOR UPDATE on PostgreSQL) incl. roster_version v
    participants ─ RosterCache[thread, v]?  hit: no SQL · miss: SELECT, learned as (v, roster)
    upsert/remove participants ─ roster_version + 1 (this transaction no longer trusts v)
    after COMMIT ─ the store adds what was learned to the cache (never before: a rolled back
    batch could otherwise leave a roster cached under a version that never committed)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.chat.models import ChatEvent, Message, NewParticipant, Participant, Thread
from switchboard.chat.rows import message_from_row
from switchboard.chat.tables import (
    chat_messages,
    chat_participants,
    chat_read_receipts,
    chat_threads,
)
from switchboard.storage.driver import DriverSql

_encode = msgspec.json.encode

# Column orders match the dataclasses' field orders: Thread(*row), Participant(*row).
_LOCK_THREAD = (
    "SELECT id, topic, created_ms, created_by, deleted_ms, last_message_ms, message_seq,"
    " last_message_id_ms, roster_version FROM chat_threads WHERE id = ?"
)
_PARTICIPANTS = (
    "SELECT thread_id, user_id, display_name, share_history_ms, added_ms, added_seq,"
    " removed_ms, removed_seq FROM chat_participants WHERE thread_id = ?"
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


class ChatTransaction:
    def __init__(
        self,
        conn: AsyncConnection,
        sql: DriverSql,
        *,
        for_update: bool,
        rosters: RosterCache | None = None,
    ) -> None:
        self.connection = conn
        self._sql = sql
        self._lock_thread = _LOCK_THREAD + (" FOR UPDATE" if for_update else "")
        self._for_update = for_update
        self._rosters = rosters or RosterCache(0)
        self._versions: dict[str, int] = {}  # roster versions this transaction may trust
        self.learned: dict[str, tuple[int, Roster]] = {}
        """Rosters read here, by version: for the cache once the transaction commits."""

    async def lock_thread(self, thread_id: str) -> Thread | None:
        """The thread, locked for this transaction (PostgreSQL row lock; SQLite has one writer)."""
        row = await self._sql.fetchone(self._lock_thread, (thread_id,))
        if row is None:
            return None
        thread = Thread(*row)
        self._versions[thread_id] = thread.roster_version
        return thread

    async def participants(self, thread_id: str) -> list[Participant]:
        version = self._versions.get(thread_id)
        if version is not None:
            cached = self._rosters.get(thread_id, version)
            if cached is not None:
                return list(cached)
        rows = await self._sql.fetchall(_PARTICIPANTS, (thread_id,))
        roster = [Participant(*row) for row in rows]
        if version is not None:
            self.learned[thread_id] = (version, tuple(roster))
        return roster

    async def allocate_seqs(self, count: int) -> int:
        """Reserve ``count`` stream positions; returns the first. Serialises stream writers."""
        row = await self._sql.fetchone(_ALLOCATE, (count,))
        if row is None:
            raise RuntimeError("the chat_stream row is missing (migration 0003 creates it)")
        return int(row[0]) - count + 1

    async def advance_thread(
        self, thread_id: str, message_seq: int, last_message_id_ms: int, last_message_ms: int
    ) -> None:
        """Record a new message on the thread row (its sequence and id clock)."""
        await self._sql.execute(
            _ADVANCE_THREAD, (message_seq, last_message_id_ms, last_message_ms, thread_id)
        )

    async def _roster_changed(self, thread_id: str) -> None:
        await self._sql.execute(_BUMP_ROSTER, (thread_id,))
        self._versions.pop(thread_id, None)
        self.learned.pop(thread_id, None)

    async def insert_thread(self, thread: Thread) -> None:
        await self.connection.execute(
            chat_threads.insert().values(
                id=thread.id,
                topic=thread.topic,
                created_ms=thread.created_ms,
                created_by=thread.created_by,
                message_seq=thread.message_seq,
                last_message_id_ms=thread.last_message_id_ms,
            )
        )

    async def update_thread(self, thread_id: str, **values: Any) -> None:
        await self.connection.execute(
            chat_threads.update().where(chat_threads.c.id == thread_id).values(**values)
        )

    async def upsert_participants(
        self, thread_id: str, added: Sequence[NewParticipant], now_ms: int, seq: int
    ) -> None:
        """Add participants (a removed one comes back with a new membership window)."""
        p = chat_participants
        for new in added:
            values = {
                "display_name": new.display_name,
                "share_history_ms": new.share_history_ms or 0,
                "added_ms": now_ms,
                "added_seq": seq,
                "removed_ms": None,
                "removed_seq": None,
            }
            result = await self.connection.execute(
                p.update()
                .where(p.c.thread_id == thread_id, p.c.user_id == new.user_id)
                .values(**values)
            )
            if result.rowcount == 0:
                await self.connection.execute(
                    p.insert().values(thread_id=thread_id, user_id=new.user_id, **values)
                )
        await self._roster_changed(thread_id)

    async def remove_participant(self, thread_id: str, user_id: str, now_ms: int, seq: int) -> None:
        p = chat_participants
        await self.connection.execute(
            p.update()
            .where(p.c.thread_id == thread_id, p.c.user_id == user_id)
            .values(removed_ms=now_ms, removed_seq=seq)
        )
        await self._roster_changed(thread_id)

    async def insert_message(self, message: Message) -> None:
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
                _encode(dict(message.metadata)).decode() if message.metadata else None,
                _encode(dict(message.system)).decode() if message.system else None,
            ),
        )

    async def update_message(self, thread_id: str, message_id: str, **values: Any) -> None:
        m = chat_messages
        if "metadata" in values and values["metadata"] is not None:
            values["metadata"] = _encode(dict(values["metadata"])).decode()
        await self.connection.execute(
            m.update().where(m.c.thread_id == thread_id, m.c.id == message_id).values(**values)
        )

    async def lock_message(self, thread_id: str, message_id: str) -> Message | None:
        m = chat_messages
        query = sa.select(m).where(m.c.thread_id == thread_id, m.c.id == message_id)
        if self._for_update:
            query = query.with_for_update()
        row = (await self.connection.execute(query)).first()
        return None if row is None else message_from_row(row)

    async def set_read_receipt(
        self, thread_id: str, user_id: str, message_id: str, read_ms: int
    ) -> None:
        r = chat_read_receipts
        result = await self.connection.execute(
            r.update()
            .where(r.c.thread_id == thread_id, r.c.user_id == user_id)
            .values(message_id=message_id, read_ms=read_ms)
        )
        if result.rowcount == 0:
            await self.connection.execute(
                r.insert().values(
                    thread_id=thread_id, user_id=user_id, message_id=message_id, read_ms=read_ms
                )
            )

    async def append_events(self, events: Sequence[ChatEvent], now_ms: int) -> None:
        rows = [
            (e.seq, e.thread_id, e.name.value, _encode(dict(e.data)).decode(), now_ms)
            for e in events
        ]
        if len(rows) == 1:
            await self._sql.execute(_INSERT_EVENT, rows[0])
        else:
            await self._sql.executemany(_INSERT_EVENT, rows)
