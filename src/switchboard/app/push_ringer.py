"""What ties push to calling and chat (their Protocols, implemented with PushService).

CallPushRinger (calling's OfflineRinger)
  ringing(session) ─▶ [clustered: wait the presence window for other nodes' devices] ─▶
    the callee's devices not present ─▶ PushService.notify(incomingCall) (durable) ─▶
    none pushed: release the hold (the call ends 480 as without push)
  settled(session, reason) ─▶ callCancelled to the devices pushed (not the one that
    answered): answered elsewhere, cancelled by the caller, declined, timed out
Chat's pushes: chat_pushes.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from switchboard.calling import models as m
from switchboard.calling.twoparty.calls import TwoPartyCalls
from switchboard.calling.twoparty.session import CallSession
from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.push.models import Notification, NotificationKind
from switchboard.push.service import PushService

log = logging.getLogger(__name__)


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
