"""What ties push to calling and chat (their Protocols, implemented with PushService).

CallPushRinger (calling's OfflineRinger)
  ringing(session) ─▶ [clustered: wait the presence window for other nodes' devices] ─▶
    the callee's devices not present ─▶ PushService.notify(incomingCall) (durable) ─▶
    none pushed: release the hold (the call ends 480 as without push)
  settled(session, reason) ─▶ callCancelled to the devices pushed (not the one that
    answered): answered elsewhere, cancelled by the caller, declined, timed out
ChatPushes (a ChatHub observer, every node, in stream order)
  a pushed event type ─▶ each recipient but its actor with no real-time connection here
    ─▶ ChatPushLimiter (one per thread per interval; a per-user rate) ─▶ notify, keyed by
    the event's seq (nodes that all see it owe it once)
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from typing import Any

from switchboard.calling import models as m
from switchboard.calling.twoparty.calls import TwoPartyCalls
from switchboard.calling.twoparty.session import CallSession
from switchboard.chat.domain_events import ChatEvent, ChatMessageEvent
from switchboard.chat.hub import ChatHub
from switchboard.chat.models import ChatEventName
from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.push.models import Notification, NotificationKind
from switchboard.push.service import PushService

log = logging.getLogger(__name__)

MAX_PUSHED_CONTENT = 1000  # characters of a message's text in its push (FCM allows 4 KiB)
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


def cancel_reason(reason: m.EndReason | None) -> str:
    if reason is None:
        return "answered"
    if reason == m.CANCELLED:
        return "cancelled"
    if reason == m.NOT_ANSWERED:
        return "timedOut"
    if reason == m.DECLINED:
        return "declined"
    if reason == m.ACCEPTED_ELSEWHERE:
        return "answered"
    return "ended"


class CallPushRinger:
    def __init__(
        self,
        push: PushService,
        calls: TwoPartyCalls,
        *,
        clock: Clock,
        ring_seconds: float,
        presence_seconds: float,
    ) -> None:
        self._push = push
        self._calls = calls
        self._clock = clock
        self._ring_seconds = ring_seconds
        self._presence_seconds = presence_seconds  # 0 alone: every device is local
        self._scope = TaskScope("push: calls")
        self._rings: dict[str, asyncio.Task[list[str]]] = {}  # call id → devices pushed

    async def start(self) -> None:
        await self._scope.start()
        self._calls.ringer = self

    async def stop(self) -> None:
        self._calls.ringer = None
        await self._scope.stop()

    def ringing(self, session: CallSession) -> None:
        task = self._scope.spawn(self._ring(session), name=f"push ring {session.call_id}")
        self._rings[session.call_id] = task

    def settled(self, session: CallSession, reason: m.EndReason | None) -> None:
        self._scope.spawn(self._cancel(session, reason), name=f"push cancel {session.call_id}")

    async def _ring(self, session: CallSession) -> list[str]:
        call_id = session.call_id
        pushed: list[str] = []
        try:
            if self._presence_seconds:
                await asyncio.sleep(self._presence_seconds)
            callee = session.callee
            live = {*callee.ringing, *callee.busy_devices}
            if session.ringing:
                jobs = await self._push.notify(
                    callee.user_id, self.incoming(session), skip=live, key=f"call:{call_id}"
                )
                pushed = [job.device_id for job in jobs]
        except Exception:
            log.exception("pushing the incoming call %s failed", call_id)
        if not pushed:
            self._calls.release_push_hold(call_id)
            self._rings.pop(call_id, None)
        return pushed

    async def _cancel(self, session: CallSession, reason: m.EndReason | None) -> None:
        call_id = session.call_id
        task = self._rings.pop(call_id, None)
        try:
            pushed = await task if task is not None else []
            answered = session.callee.device
            targets = [d for d in pushed if answered is None or d != answered.device_id]
            if targets:
                note = Notification(
                    NotificationKind.CALL_CANCELLED,
                    {"callId": call_id, "reason": cancel_reason(reason)},
                    collapse_key=f"call:{call_id}",
                    ttl_seconds=int(self._ring_seconds),
                )
                await self._push.notify(
                    session.callee.user_id, note, only=targets, key=f"cancel:{call_id}"
                )
        except Exception:
            log.exception("pushing the end of call %s failed", call_id)

    def incoming(self, session: CallSession) -> Notification:
        caller = session.caller
        expires = session.ring_started_at + self._ring_seconds
        data: dict[str, Any] = {
            "callId": session.call_id,
            "owner": self._calls.node_id,
            "callerId": caller.user_id,
            "displayName": caller.display_name,
            "video": caller.media.video,
            "expiresAt": int(expires * 1000),
        }
        ttl = max(1, int(expires - self._clock.now()))
        return Notification(
            NotificationKind.INCOMING_CALL,
            data,
            collapse_key=f"call:{session.call_id}",
            ttl_seconds=ttl,
        )


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
        self, push: PushService, hub: ChatHub, limiter: ChatPushLimiter, *, clock: Clock
    ) -> None:
        self._push = push
        self._hub = hub
        self._limiter = limiter
        self._clock = clock
        self._scope = TaskScope("push: chat")

    async def start(self) -> None:
        await self._scope.start()
        self._hub.observers.append(self.observe)

    async def stop(self) -> None:
        if self.observe in self._hub.observers:
            self._hub.observers.remove(self.observe)
        await self._scope.stop()

    def observe(self, event: ChatEvent) -> None:
        kind = PUSHED_CHAT_EVENTS.get(event.name)
        if kind is None or event.seq is None:
            return
        data = event.data
        now = self._clock.now()
        for user_id in event.recipients:
            if user_id == data.actor or self._hub.connected(user_id):
                continue
            limited = kind is NotificationKind.CHAT_MESSAGE  # thread events are rare
            if limited and not self._limiter.allow(user_id, event.thread_id, now):
                continue
            note = chat_notification(event, kind)
            self._scope.spawn(self._notify(user_id, note, f"chat:{event.seq}"), name="push chat")

    async def _notify(self, user_id: str, note: Notification, key: str) -> None:
        try:
            await self._push.notify(user_id, note, key=key, shared=True)
        except Exception:
            log.exception("owing a chat push failed")


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
