"""ChatPushes: chat's durable event stream read by push, with a durable position.

A chat event and the pushes it owes are one durable step: the event's ``chat_events`` row is
written in the change's transaction (chat/), and push keeps how far it has owed the stream
(``push_stream_positions``, written in the same transaction as the jobs). So a node that dies
after a message commits and before its pushes are written owes them when it (or another node)
reads on from the position: nothing is lost, and nothing is owed twice.

    ChatHub (every node, in stream order) ─observe─▶ queue ─▶ one reader task:
        gaps (and, at start, everything after the stored position) read from the stream
        ─▶ a pushed event type ─▶ each recipient but its actor with no real-time connection
           here ─▶ ChatPushLimiter (one per thread per interval; a per-user rate)
        ─▶ PushService.owe_from_stream: the jobs of events after the stored position and the
           new position, one transaction (the node that writes them sends them)
    a batch with nothing to push only moves the position in memory; it is written with the
        next jobs, or every ``SAVE_SECONDS`` (a crash re-reads at most that much)
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from typing import Any, Protocol

from switchboard.chat.domain_events import ChatEvent, ChatMessageEvent
from switchboard.chat.hub import ChatHub
from switchboard.chat.models import ChatEventName
from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.push.models import Notification, NotificationKind
from switchboard.push.service import PushService, StreamPush

log = logging.getLogger(__name__)

STREAM = "chat"
MAX_PUSHED_CONTENT = 1000  # characters of a message's text in its push (FCM allows 4 KiB)
CHAT_PUSH_TTL_SECONDS = 24 * 3600  # an event older than this is not pushed (caught up late)
READ_CHUNK = 500  # events read from the stream at once when catching up
SAVE_SECONDS = 5.0  # a position moved by events that owed nothing is written this often
RETRY_SECONDS = 1.0  # after a failed write (a database blip)
# The thread events ACS's chat SDKs receive as push notifications.
PUSHED_CHAT_EVENTS = {
    ChatEventName.MESSAGE_RECEIVED: NotificationKind.CHAT_MESSAGE,
    ChatEventName.MESSAGE_EDITED: NotificationKind.CHAT_THREAD,
    ChatEventName.MESSAGE_DELETED: NotificationKind.CHAT_THREAD,
    ChatEventName.THREAD_CREATED: NotificationKind.CHAT_THREAD,
    ChatEventName.THREAD_PROPERTIES_UPDATED: NotificationKind.CHAT_THREAD,
    ChatEventName.THREAD_DELETED: NotificationKind.CHAT_THREAD,
    ChatEventName.PARTICIPANTS_ADDED: NotificationKind.CHAT_THREAD,
    ChatEventName.PARTICIPANTS_REMOVED: NotificationKind.CHAT_THREAD,
}


class ChatStream(Protocol):
    """Chat's durable event stream, as the chat store reads it."""

    async def events_between(self, first: int, last: int) -> list[ChatEvent]:
        """Every event with first <= seq <= last (recipients from the memberships)."""
        ...


class ChatPushLimiter:
    """At most one push per (user, thread) per ``thread_seconds``, and ``per_minute`` per user."""

    def __init__(self, thread_seconds: float, per_minute: int) -> None:
        self._thread_seconds = thread_seconds
        self._per_minute = per_minute
        self._threads: dict[tuple[str, str], float] = {}
        self._users: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, user_id: str, thread_id: str, now: float) -> bool:
        last = self._threads.get((user_id, thread_id))
        if last is not None and now - last < self._thread_seconds:
            return False
        sent = self._users[user_id]
        while sent and now - sent[0] >= 60.0:
            sent.popleft()
        if len(sent) >= self._per_minute:
            return False
        sent.append(now)
        if len(self._threads) > 100_000:
            self._threads.clear()
        self._threads[(user_id, thread_id)] = now
        return True


class ChatPushes:
    def __init__(
        self,
        push: PushService,
        hub: ChatHub,
        stream: ChatStream,
        limiter: ChatPushLimiter,
        *,
        clock: Clock,
    ) -> None:
        self._push = push
        self._hub = hub
        self._stream = stream
        self._limiter = limiter
        self._clock = clock
        self._scope = TaskScope("push: chat")
        self._queue: deque[ChatEvent] = deque()
        self._wake = asyncio.Event()
        self.position = 0  # every event up to here is owed (in memory: maybe not saved yet)
        self._saved = 0  # the position as last written
        self._saved_at = 0.0
        self._target = 0  # at start: the stream's head, read up to from the stream

    async def start(self) -> None:
        self._hub.observers.append(self.observe)  # first: no event slips between the two
        # The hub delivers from its next seq on; what lies between the stored position and
        # there (a crash's leftovers) is read from the stream. First start: nothing before.
        head = self._hub.next_seq - 1
        self.position = self._saved = await self._push.stream_position(STREAM, head)
        self._saved_at = self._clock.now()
        self._target = head
        await self._scope.start()
        self._scope.spawn(self._run(), name="push: chat stream")

    async def stop(self) -> None:
        if self.observe in self._hub.observers:
            self._hub.observers.remove(self.observe)
        await self._scope.stop()

    def observe(self, event: ChatEvent) -> None:
        if event.seq is not None:
            self._queue.append(event)
            self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except Exception:  # a database blip: the events are read again from the stream
                log.exception("owing chat pushes failed; trying again")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if not self._queue and self._target <= self.position:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), SAVE_SECONDS)
                except TimeoutError:
                    await self._save_position()

    async def _step(self) -> None:
        """Owe the pushes of the next events: those queued, gaps read from the stream."""
        events: list[ChatEvent] = []
        expected = self.position + 1
        if self._target >= expected:  # catching up after a start: a chunk at a time
            last = min(self._target, expected + READ_CHUNK - 1)
            events = await self._stream.events_between(expected, last)
            expected = last + 1
        while self._target < expected and self._queue and len(events) < READ_CHUNK:
            event = self._queue[0]
            seq = event.seq or 0
            if seq < expected:
                self._queue.popleft()  # read from the stream already
                continue
            if seq > expected:  # never, the hub being in order; read what is missing
                events.extend(await self._stream.events_between(expected, seq - 1))
            events.append(event)
            self._queue.popleft()
            expected = seq + 1
        if expected - 1 <= self.position:
            return
        owed = self._owed(events)
        now = self._clock.now()
        if owed or now - self._saved_at >= SAVE_SECONDS:
            await self._push.owe_from_stream(STREAM, expected - 1, owed)
            self._saved, self._saved_at = expected - 1, now
        self.position = expected - 1

    async def _save_position(self) -> None:
        if self.position > self._saved:
            await self._push.owe_from_stream(STREAM, self.position, [])
            self._saved = self.position
        self._saved_at = self._clock.now()

    def _owed(self, events: list[ChatEvent]) -> list[StreamPush]:
        now = self._clock.now()
        oldest_ms = (now - CHAT_PUSH_TTL_SECONDS) * 1000
        owed: list[StreamPush] = []
        for event in events:
            kind = PUSHED_CHAT_EVENTS.get(event.name)
            if kind is None or event.seq is None or event.data.at_ms < oldest_ms:
                continue
            data = event.data
            note: Notification | None = None
            for user_id in event.recipients:
                if user_id == data.actor or self._hub.connected(user_id):
                    continue
                limited = kind is NotificationKind.CHAT_MESSAGE  # thread events are rare
                if limited and not self._limiter.allow(user_id, event.thread_id, now):
                    continue
                note = note or chat_notification(event, kind)
                owed.append(StreamPush(event.seq, user_id, note, f"chat:{event.seq}"))
        return owed


def chat_notification(event: ChatEvent, kind: NotificationKind) -> Notification:
    data = event.data
    payload: dict[str, Any] = {
        "eventType": event.name.value,
        "threadId": event.thread_id,
        "senderId": data.actor,
        "version": str(data.at_ms),
    }
    title = "New message"
    if isinstance(data, ChatMessageEvent):
        message = data.message
        payload["messageId"] = message.id
        payload["senderDisplayName"] = message.sender_display_name or ""
        if event.name is ChatEventName.MESSAGE_RECEIVED:
            payload["messageBody"] = (message.content or "")[:MAX_PUSHED_CONTENT]
        title = message.sender_display_name or title
    return Notification(
        kind, payload, collapse_key=f"thread:{event.thread_id}", ttl_seconds=24 * 3600, title=title
    )
