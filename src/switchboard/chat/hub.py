"""ChatHub: every node's fan-out of chat events to its connected users, in stream order.

    ChatService ─commit─▶ bus "chat.events" ─▶ ChatHub (every node)
                                                 │ reorder by seq; a gap that persists is
                                                 │ filled from the database (bus is at-most-once)
                                                 ▼
                                      RealtimeConnection(s) of each recipient ─▶ WebSocket

The stream's sequence is gap-free (allocated in the writing transaction), so the hub knows
exactly which seq comes next and never delivers out of order or skips one. Ephemeral events
(typing) carry no seq and go straight through.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

import msgspec

from switchboard.bus.base import Bus, Subscription
from switchboard.chat.domain_events import ChatEvent, decode_data
from switchboard.chat.event_schemas import frame_head
from switchboard.chat.fanout import CHAT_EVENTS, BusEvent
from switchboard.chat.store import ChatStore
from switchboard.core.tasks import TaskScope
from switchboard.identity.service import IDENTITY_CHANGED

log = logging.getLogger(__name__)


class EventReceiver(Protocol):
    user_id: str

    def offer(self, event: ChatEvent) -> None:
        """Queue an event for the client; must not block."""
        ...

    def identity_changed(self) -> None:
        """The user's tokens were revoked or the identity deleted: re-check the token."""
        ...


class ChatHub:
    def __init__(
        self,
        store: ChatStore,
        bus: Bus,
        *,
        gap_timeout: float = 0.2,
    ) -> None:
        self._store = store
        self._bus = bus
        self._gap_timeout = gap_timeout
        self._receivers: dict[str, set[EventReceiver]] = defaultdict(set)
        self._next_seq = 1
        self._pending: dict[int, ChatEvent] = {}
        self._subscription: Subscription | None = None
        self._identity_changes: Subscription | None = None
        self._tasks = TaskScope("chat hub")
        self._gap_task: asyncio.Task[None] | None = None
        self._decoder = msgspec.json.Decoder(BusEvent)
        # Told every event in stream order, connected recipients or not (push/, through
        # app/push.py: users with no connection); each must not block.
        self.observers: list[Callable[[ChatEvent], None]] = []

    @property
    def next_seq(self) -> int:
        return self._next_seq

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(CHAT_EVENTS)
        self._identity_changes = await self._bus.subscribe(IDENTITY_CHANGED)
        _, last = await self._store.stream_bounds()
        self._next_seq = last + 1
        await self._tasks.start()
        self._tasks.spawn(self._listen(self._subscription), name="chat hub listener")
        self._tasks.spawn(
            self._watch_identities(self._identity_changes), name="chat hub identities"
        )

    async def stop(self) -> None:
        for subscription in (self._subscription, self._identity_changes):
            if subscription is not None:
                await subscription.close()
        await self._tasks.stop()

    def connections(self) -> int:
        """Receivers attached here now (live real-time connections), for metrics."""
        return sum(len(receivers) for receivers in self._receivers.values())

    def connected(self, user_id: str) -> bool:
        """The user has a real-time connection on this node."""
        return user_id in self._receivers

    def attach(self, receiver: EventReceiver) -> None:
        self._receivers[receiver.user_id].add(receiver)

    def detach(self, receiver: EventReceiver) -> None:
        receivers = self._receivers.get(receiver.user_id)
        if receivers is not None:
            receivers.discard(receiver)
            if not receivers:
                del self._receivers[receiver.user_id]

    async def _listen(self, subscription: Subscription) -> None:
        async for raw in subscription:
            try:
                message = self._decoder.decode(raw)
                event = ChatEvent(
                    message.seq,
                    decode_data(message.data),
                    tuple(message.recipients),
                    bytes(message.data),
                )
                self.accept(event)
            except Exception:  # one bad message must not stop delivery of the rest
                log.exception("dropping an undeliverable chat bus message")

    async def _watch_identities(self, subscription: Subscription) -> None:
        async for raw in subscription:
            for receiver in tuple(self._receivers.get(raw.decode(), ())):
                receiver.identity_changed()

    def accept(self, event: ChatEvent) -> None:
        """Take one event from the bus (any order, duplicates allowed)."""
        if event.seq is None:
            self._deliver(event)
            return
        if event.seq < self._next_seq:
            return  # already delivered (a duplicate, or filled from the database)
        self._pending[event.seq] = event
        self._drain()
        if self._pending and (self._gap_task is None or self._gap_task.done()):
            self._gap_task = self._tasks.spawn(self._fill_gap_later(), name="chat gap filler")

    def _drain(self) -> None:
        while self._next_seq in self._pending:
            self._deliver(self._pending.pop(self._next_seq))
            self._next_seq += 1

    async def _fill_gap_later(self) -> None:
        """A seq is missing: wait briefly for the bus, then read it from the database."""
        await asyncio.sleep(self._gap_timeout)
        while self._pending:
            first = self._next_seq
            last = max(self._pending)
            try:
                missing = await self._store.events_between(first, last)
            except Exception:
                log.exception("filling chat stream gap %s..%s failed; retrying", first, last)
                await asyncio.sleep(self._gap_timeout)
                continue
            for event in missing:
                self._pending.setdefault(event.seq or 0, event)
            if self._next_seq not in self._pending:
                # Not committed yet or not visible to us yet: try again shortly.
                await asyncio.sleep(self._gap_timeout)
            self._drain()

    def _deliver(self, event: ChatEvent) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must not stop delivery
                log.exception("chat event observer failed")
        if not any(user_id in self._receivers for user_id in event.recipients):
            return
        event = replace(event, frame_head=frame_head(event))
        for user_id in event.recipients:
            for receiver in tuple(self._receivers.get(user_id, ())):
                receiver.offer(event)
