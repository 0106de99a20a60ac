"""ChatWriter: what every chat change does — lock the thread, write, append to the event
stream (and the Event Grid outbox) in the same transaction, then fan out after the commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import msgspec

from switchboard.bus.base import Bus
from switchboard.chat.fanout import CHAT_EVENTS, BusEvent
from switchboard.chat.models import (
    ChatEvent,
    ChatEventName,
    Message,
    MessageType,
    Participant,
    Thread,
)
from switchboard.chat.store import SqlChatStore, participants_seq_window
from switchboard.chat.transaction import ChatTransaction
from switchboard.core.errors import ThreadNotFoundError

log = logging.getLogger(__name__)


class ChatEventSink(Protocol):
    """Producers of integration events inside chat transactions (the Event Grid outbox)."""

    async def on_chat_events(self, tx: ChatTransaction, events: Sequence[ChatEvent]) -> None: ...

    async def after_commit(self, events: Sequence[ChatEvent]) -> None: ...


class ChatWriter:
    def __init__(
        self,
        store: SqlChatStore,
        bus: Bus,
        *,
        clock: Callable[[], float],
        sink: ChatEventSink | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._sink = sink
        self._encoder = msgspec.json.Encoder()

    def transaction(self) -> AbstractAsyncContextManager[ChatTransaction]:
        return self._store.transaction()

    async def live_thread(self, thread_id: str) -> Thread:
        thread = await self._store.get_thread(thread_id)
        if thread is None or thread.deleted_ms is not None:
            raise ThreadNotFoundError(f"Thread '{thread_id}' was not found.", target="threadId")
        return thread

    async def locked(self, tx: ChatTransaction, thread_id: str) -> Thread:
        thread = await tx.lock_thread(thread_id)
        if thread is None or thread.deleted_ms is not None:
            raise ThreadNotFoundError(f"Thread '{thread_id}' was not found.", target="threadId")
        return thread

    async def insert_message(
        self, tx: ChatTransaction, thread: Thread, kind: MessageType, now: int, **fields: Any
    ) -> Message:
        # Message ids are epoch milliseconds, unique and increasing within a thread. ``thread``
        # is the row as locked in this transaction (one message per transaction at most).
        id_ms = max(now, thread.last_message_id_ms + 1)
        sequence = thread.message_seq + 1
        message = Message(thread.id, str(id_ms), sequence, kind, now, id_ms, **fields)
        await tx.insert_message(message)
        await tx.advance_thread(thread.id, sequence, id_ms, now)
        return message

    async def system_message(
        self,
        tx: ChatTransaction,
        thread: Thread,
        kind: MessageType,
        now: int,
        initiator: str,
        **content: Any,
    ) -> Message:
        return await self.insert_message(
            tx, thread, kind, now, system={"initiator": initiator, **content}
        )

    async def append(
        self,
        tx: ChatTransaction,
        thread_id: str,
        name: ChatEventName,
        everyone: Sequence[Participant],
        now: int,
        build: Callable[[], dict[str, Any]],
    ) -> list[ChatEvent]:
        seq = await tx.allocate_seqs(1)
        events = [ChatEvent(seq, thread_id, name, build(), participants_seq_window(everyone, seq))]
        await tx.append_events(events, now)
        await self.to_sink(tx, events)
        return events

    async def to_sink(self, tx: ChatTransaction, events: Sequence[ChatEvent]) -> None:
        if self._sink is not None:
            await self._sink.on_chat_events(tx, events)

    async def publish(self, events: Sequence[ChatEvent]) -> None:
        """After commit: tell every node. A lost message is recovered from the stream."""
        if self._sink is not None:
            await self._sink.after_commit(events)
        for event in events:
            payload = BusEvent(
                event.seq,
                event.thread_id,
                event.name.value,
                dict(event.data),
                list(event.recipients),
            )
            try:
                await self._bus.publish(CHAT_EVENTS, self._encoder.encode(payload))
            except Exception:  # committed already; sockets catch up from the stream
                log.exception("publishing chat event %s failed", event.seq)

    def now_ms(self) -> int:
        return int(self._clock() * 1000)
