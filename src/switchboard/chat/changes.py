"""ChatChanges: what every chat change does around the services' rules.

    service ── async with changes.thread(id) as change ─▶ change.thread / change.roster (locked)
                                                         change.unit.<writes>
                                                         change.add_message(...) (id clock)
                                                         change.emit(event data) ─▶ stream seq,
                                                             stream row, Event Grid outbox rows
            ── exit: COMMIT ─▶ PostCommitPublisher: outbox wake-up, bus "chat.events" ─▶ hubs

The services decide what to write; the unit (chat/store.py) is the transaction; this module
only numbers messages, records events and publishes them once committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import msgspec

from switchboard.chat.domain_events import ChatEvent, ChatEventData
from switchboard.chat.fanout import CHAT_EVENTS, BusEvent
from switchboard.chat.models import Message, MessageType, Participant, Thread
from switchboard.chat.store import ChatStore, ThreadUnit, participants_seq_window
from switchboard.core.clock import Clock
from switchboard.core.events import IntegrationEvent
from switchboard.events.outbox import PostCommitPublisher


class IntegrationEvents(Protocol):
    """Chat events as integration events (chat/eventgrid.py: ChatEventGrid)."""

    def integration_events(self, event: ChatEvent) -> list[IntegrationEvent]: ...


class ChatChange:
    """One change to one thread, inside its unit of work."""

    def __init__(
        self, unit: ThreadUnit, integration: IntegrationEvents | None, now_ms: int
    ) -> None:
        self.unit = unit
        self.now_ms = now_ms
        self.events: list[ChatEvent] = []
        self.outbox_written = False
        self._integration = integration

    @property
    def thread(self) -> Thread:
        return self.unit.thread

    @property
    def roster(self) -> Sequence[Participant]:
        return self.unit.roster

    async def add_message(self, kind: MessageType, **fields: Any) -> Message:
        # Message ids are epoch milliseconds, unique and increasing within a thread.
        thread = self.unit.thread
        id_ms = max(self.now_ms, thread.last_message_id_ms + 1)
        message = Message(
            thread.id, str(id_ms), thread.message_seq + 1, kind, self.now_ms, id_ms, **fields
        )
        await self.unit.add_message(message)
        return message

    async def add_system_message(
        self, kind: MessageType, initiator: str, **content: Any
    ) -> Message:
        return await self.add_message(kind, system={"initiator": initiator, **content})

    async def emit(self, data: ChatEventData, *, seq: int | None = None) -> ChatEvent:
        """Append an event for the roster's members at ``seq`` (allocated unless given)."""
        if seq is None:
            seq = await self.unit.allocate_seq()
        recipients = participants_seq_window(self.unit.roster, seq)
        event = ChatEvent.made(seq, data, recipients)
        await self.unit.append_events([event], self.now_ms)
        if self._integration is not None:
            out = self._integration.integration_events(event)
            if out:
                await self.unit.add_integration_events(out)
                self.outbox_written = True
        self.events.append(event)
        return event


class ChatChanges:
    def __init__(
        self,
        store: ChatStore,
        publisher: PostCommitPublisher,
        *,
        clock: Clock,
        integration: IntegrationEvents | None = None,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._clock = clock
        self._integration = integration
        self._encode = msgspec.json.Encoder().encode

    def now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    @asynccontextmanager
    async def thread(self, thread_id: str) -> AsyncIterator[ChatChange]:
        """A change to a live thread (ThreadNotFoundError otherwise)."""
        now = self.now_ms()
        async with self._store.thread_unit(thread_id) as unit:
            change = ChatChange(unit, self._integration, now)
            yield change
        await self._published(change)

    @asynccontextmanager
    async def new_thread(self, thread: Thread) -> AsyncIterator[ChatChange]:
        async with self._store.new_thread_unit(thread) as unit:
            change = ChatChange(unit, self._integration, thread.created_ms)
            yield change
        await self._published(change)

    async def publish_ephemeral(self, event: ChatEvent) -> None:
        """Typing: to every node's hub, never stored."""
        await self._publisher.publish(CHAT_EVENTS, [self._bus_message(event)])

    async def _published(self, change: ChatChange) -> None:
        if change.events or change.outbox_written:
            await self._publisher.publish(
                CHAT_EVENTS,
                [self._bus_message(event) for event in change.events],
                outbox_written=change.outbox_written,
            )

    def _bus_message(self, event: ChatEvent) -> bytes:
        return self._encode(BusEvent(event.seq, msgspec.Raw(event.encoded), list(event.recipients)))
