"""MemoryChatStore: the ChatStore (chat/store.py) in one process's memory.

    thread_unit(id) ─▶ one writer at a time (asyncio.Lock) ─▶ MemoryThreadUnit stages its
                       writes ─▶ exit: applied all at once · exception: dropped

For the services' unit tests and single-process tools. Every model is a frozen dataclass, so
a staged write is a new value in the unit's own dicts, never a mutation of committed state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from switchboard.chat.domain_events import ChatEvent
from switchboard.chat.models import (
    Message,
    NewParticipant,
    Participant,
    ReadReceipt,
    RetentionPolicy,
    Thread,
)
from switchboard.chat.store import participants_seq_window
from switchboard.core.errors import ThreadNotFoundError
from switchboard.core.events import IntegrationEvent


@dataclass
class _StoredEvent:
    event: ChatEvent
    created_ms: int


@dataclass
class _State:
    threads: dict[str, Thread] = field(default_factory=dict)
    participants: dict[tuple[str, str], Participant] = field(default_factory=dict)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    receipts: dict[tuple[str, str], ReadReceipt] = field(default_factory=dict)
    events: dict[int, _StoredEvent] = field(default_factory=dict)
    last_seq: int = 0


class MemoryThreadUnit:
    """Implements ThreadUnit; the writes are staged and applied by the store on commit."""

    def __init__(self, state: _State, thread: Thread) -> None:
        self._state = state
        self._thread = thread
        self.participants: dict[str, Participant] = {}
        self.messages: dict[str, Message] = {}
        self.receipts: dict[str, ReadReceipt] = {}
        self.events: list[_StoredEvent] = []
        self.integration_events: list[IntegrationEvent] = []
        self.seqs = 0
        self._roster = self._read_roster()

    @property
    def thread(self) -> Thread:
        return self._thread

    @property
    def roster(self) -> Sequence[Participant]:
        return self._roster

    def _read_roster(self) -> list[Participant]:
        thread_id = self._thread.id
        merged = {
            user: p for (tid, user), p in self._state.participants.items() if tid == thread_id
        }
        merged.update(self.participants)
        return sorted(merged.values(), key=lambda p: (p.added_seq, p.user_id))

    async def allocate_seq(self) -> int:
        self.seqs += 1
        return self._state.last_seq + self.seqs

    async def add_participants(
        self, added: Sequence[NewParticipant], now_ms: int, seq: int
    ) -> None:
        for new in added:
            self.participants[new.user_id] = Participant(
                self._thread.id,
                new.user_id,
                new.display_name,
                new.share_history_ms or 0,
                now_ms,
                seq,
                metadata=dict(new.metadata) if new.metadata else None,
            )
        self._roster_changed()

    async def remove_participant(self, user_id: str, now_ms: int, seq: int) -> None:
        current = next((p for p in self._roster if p.user_id == user_id), None)
        if current is not None:
            self.participants[user_id] = replace(current, removed_ms=now_ms, removed_seq=seq)
        self._roster_changed()

    def _roster_changed(self) -> None:
        self._thread = replace(self._thread, roster_version=self._thread.roster_version + 1)
        self._roster = self._read_roster()

    async def update_thread(
        self,
        *,
        topic: str | None = None,
        deleted_ms: int | None = None,
        metadata: Mapping[str, str] | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        self._thread = self._thread.updated(
            topic=topic, deleted_ms=deleted_ms, metadata=metadata, retention=retention
        )

    async def add_message(self, message: Message) -> None:
        self.messages[message.id] = message
        self._thread = replace(
            self._thread,
            message_seq=message.sequence_id,
            last_message_id_ms=int(message.id),
            last_message_ms=message.created_ms,
        )

    async def lock_message(self, message_id: str) -> Message | None:
        staged = self.messages.get(message_id)
        if staged is not None:
            return staged
        return self._state.messages.get((self._thread.id, message_id))

    async def replace_message(self, message: Message) -> None:
        # An empty mapping reads back as none, as from a database column.
        self.messages[message.id] = replace(message, metadata=message.metadata or None)

    async def set_read_receipt(self, user_id: str, message_id: str, read_ms: int) -> None:
        self.receipts[user_id] = ReadReceipt(self._thread.id, user_id, message_id, read_ms)

    async def append_events(self, events: Sequence[ChatEvent], now_ms: int) -> None:
        self.events.extend(_StoredEvent(event, now_ms) for event in events)

    async def add_integration_events(self, events: Sequence[IntegrationEvent]) -> None:
        self.integration_events.extend(events)

    def commit(self) -> None:
        state, thread_id = self._state, self._thread.id
        state.threads[thread_id] = self._thread
        for user, p in self.participants.items():
            state.participants[thread_id, user] = p
        for message_id, message in self.messages.items():
            state.messages[thread_id, message_id] = message
        for user, receipt in self.receipts.items():
            state.receipts[thread_id, user] = receipt
        for stored in self.events:
            state.events[stored.event.seq or 0] = stored
        state.last_seq += self.seqs


class MemoryChatStore:
    """Implements ChatStore. ``integration_events``: what committed units gave the outbox."""

    def __init__(self) -> None:
        self._state = _State()
        self._writer = asyncio.Lock()
        self.integration_events: list[IntegrationEvent] = []

    @asynccontextmanager
    async def thread_unit(self, thread_id: str) -> AsyncIterator[MemoryThreadUnit]:
        async with self._writer:
            thread = self._state.threads.get(thread_id)
            if thread is None or thread.deleted_ms is not None:
                raise ThreadNotFoundError(f"Thread '{thread_id}' was not found.", target="threadId")
            unit = MemoryThreadUnit(self._state, thread)
            yield unit
            self._commit(unit)

    @asynccontextmanager
    async def new_thread_unit(self, thread: Thread) -> AsyncIterator[MemoryThreadUnit]:
        async with self._writer:
            if thread.id in self._state.threads:
                raise ValueError(f"thread {thread.id} exists already")
            unit = MemoryThreadUnit(self._state, thread)
            yield unit
            self._commit(unit)

    def _commit(self, unit: MemoryThreadUnit) -> None:
        unit.commit()
        self.integration_events.extend(unit.integration_events)

    async def get_thread(self, thread_id: str) -> Thread | None:
        return self._state.threads.get(thread_id)

    async def get_participant(self, thread_id: str, user_id: str) -> Participant | None:
        return self._state.participants.get((thread_id, user_id))

    def _roster(self, thread_id: str) -> list[Participant]:
        return sorted(
            (p for (tid, _), p in self._state.participants.items() if tid == thread_id),
            key=lambda p: (p.added_seq, p.user_id),
        )

    async def list_participants(self, thread_id: str, skip: int, limit: int) -> list[Participant]:
        active = [p for p in self._roster(thread_id) if p.is_active]
        return active[skip : skip + limit]

    async def list_threads(
        self, user_id: str, start_ms: int | None, after: tuple[int, str] | None, limit: int
    ) -> list[Thread]:
        found = []
        for thread in self._state.threads.values():
            member = self._state.participants.get((thread.id, user_id))
            if member is None or not member.is_active or thread.deleted_ms is not None:
                continue
            activity = thread.last_message_ms or thread.created_ms
            if start_ms is not None and activity < start_ms:
                continue
            if after is not None and (thread.created_ms, thread.id) >= after:
                continue
            found.append(thread)
        found.sort(key=lambda t: (t.created_ms, t.id), reverse=True)
        return found[:limit]

    async def list_messages(
        self, viewer: Participant, start_ms: int | None, before_seq: int | None, limit: int
    ) -> list[Message]:
        floor = max(viewer.share_history_ms, start_ms or 0)
        visible = [
            m
            for (tid, _), m in self._state.messages.items()
            if tid == viewer.thread_id
            and m.created_ms >= floor
            and (viewer.removed_ms is None or m.created_ms <= viewer.removed_ms)
            and (before_seq is None or m.sequence_id < before_seq)
        ]
        visible.sort(key=lambda m: m.sequence_id, reverse=True)
        return visible[:limit]

    async def get_message(self, thread_id: str, message_id: str) -> Message | None:
        return self._state.messages.get((thread_id, message_id))

    async def list_read_receipts(self, thread_id: str, skip: int, limit: int) -> list[ReadReceipt]:
        receipts = [
            r
            for (tid, user), r in self._state.receipts.items()
            if tid == thread_id
            and (p := self._state.participants.get((tid, user))) is not None
            and p.is_active
        ]
        receipts.sort(key=lambda r: (r.read_ms, r.user_id))
        return receipts[skip : skip + limit]

    async def events_since(self, user_id: str, cursor: int, limit: int) -> list[ChatEvent]:
        out: list[ChatEvent] = []
        for seq in sorted(s for s in self._state.events if s > cursor):
            event = self._state.events[seq].event
            member = self._state.participants.get((event.thread_id, user_id))
            if member is None or seq < member.added_seq:
                continue
            if member.removed_seq is not None and seq > member.removed_seq:
                continue
            out.append(replace(event, recipients=(user_id,)))
            if len(out) == limit:
                break
        return out

    async def events_between(self, first: int, last: int) -> list[ChatEvent]:
        return [
            replace(
                stored.event,
                recipients=participants_seq_window(self._roster(stored.event.thread_id), seq),
            )
            for seq, stored in sorted(self._state.events.items())
            if first <= seq <= last
        ]

    async def stream_bounds(self) -> tuple[int, int]:
        last = self._state.last_seq
        oldest = min(self._state.events, default=None)
        return (oldest - 1 if oldest is not None else last), last

    async def prune_events(self, older_than_ms: int) -> int:
        old = [s for s, stored in self._state.events.items() if stored.created_ms < older_than_ms]
        for seq in old:
            del self._state.events[seq]
        return len(old)

    async def expired_threads(self, now_ms: int, limit: int) -> list[str]:
        expired = sorted(
            (t.expires_ms, t.id)
            for t in self._state.threads.values()
            if t.deleted_ms is None and t.expires_ms is not None and t.expires_ms <= now_ms
        )
        return [thread_id for _, thread_id in expired[:limit]]
