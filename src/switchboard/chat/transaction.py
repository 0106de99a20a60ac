"""Write operations inside one chat transaction; the service decides what to write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.chat.models import ChatEvent, Message, NewParticipant, Participant, Thread
from switchboard.chat.rows import message_from_row, participant_from_row, thread_from_row
from switchboard.chat.tables import (
    chat_events,
    chat_messages,
    chat_participants,
    chat_read_receipts,
    chat_stream,
    chat_threads,
)

_encode = msgspec.json.encode


class ChatTransaction:
    def __init__(self, conn: AsyncConnection, *, for_update: bool) -> None:
        self.connection = conn
        self._for_update = for_update

    async def lock_thread(self, thread_id: str) -> Thread | None:
        """The thread, locked for this transaction (PostgreSQL row lock; SQLite has one writer)."""
        query = sa.select(chat_threads).where(chat_threads.c.id == thread_id)
        if self._for_update:
            query = query.with_for_update()
        row = (await self.connection.execute(query)).first()
        return None if row is None else thread_from_row(row)

    async def participants(self, thread_id: str) -> list[Participant]:
        p = chat_participants
        rows = await self.connection.execute(
            sa.select(p).where(p.c.thread_id == thread_id).order_by(p.c.added_seq, p.c.user_id)
        )
        return [participant_from_row(r) for r in rows.all()]

    async def allocate_seqs(self, count: int) -> int:
        """Reserve ``count`` stream positions; returns the first. Serialises stream writers."""
        result = await self.connection.execute(
            chat_stream.update()
            .where(chat_stream.c.name == "chat")
            .values(last_seq=chat_stream.c.last_seq + count)
            .returning(chat_stream.c.last_seq)
        )
        last = int(result.scalar_one())
        return last - count + 1

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

    async def remove_participant(self, thread_id: str, user_id: str, now_ms: int, seq: int) -> None:
        p = chat_participants
        await self.connection.execute(
            p.update()
            .where(p.c.thread_id == thread_id, p.c.user_id == user_id)
            .values(removed_ms=now_ms, removed_seq=seq)
        )

    async def insert_message(self, message: Message) -> None:
        await self.connection.execute(
            chat_messages.insert().values(
                thread_id=message.thread_id,
                id=message.id,
                sequence_id=message.sequence_id,
                type=message.type.value,
                content=message.content,
                sender_id=message.sender_id,
                sender_display_name=message.sender_display_name,
                created_ms=message.created_ms,
                version_ms=message.version_ms,
                metadata=_encode(dict(message.metadata)).decode() if message.metadata else None,
                system=_encode(dict(message.system)).decode() if message.system else None,
            )
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
        await self.connection.execute(
            chat_events.insert(),
            [
                {
                    "seq": e.seq,
                    "thread_id": e.thread_id,
                    "name": e.name.value,
                    "data": _encode(dict(e.data)).decode(),
                    "created_ms": now_ms,
                }
                for e in events
            ],
        )
