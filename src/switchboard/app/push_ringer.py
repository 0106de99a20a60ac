"""What ties push to calling and chat (their Protocols, implemented with PushService).

CallPushRinger (calling's OfflineRinger)
  ringing(session) ─▶ [clustered: wait the presence window for other nodes' devices] ─▶
    the callee's devices not present ─▶ PushService.notify(incomingCall) (durable) ─▶
    none pushed: release the hold (the call ends 480 as without push)
  settled(session, reason) ─▶ callCancelled to the devices pushed (not the one that
    answered): answered elsewhere, cancelled by the caller, declined, timed out; an app's
    redirect settles the first callee's pushes and rings the new callee
InvitationPushRinger (ServerCallHost's InvitationRinger: Call Automation's calls to users)
  the same for each invitation: its user's devices not present are pushed (callId: the
  server call's); settled ─▶ callCancelled (answered, cancelled, timedOut, declined…)
Chat's pushes: chat_pushes.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from switchboard.calling import models as m
from switchboard.calling.server.host import ServerCallHost
from switchboard.calling.server.invitation import Invitation, InvitationState
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


def cancelled(call_id: str, reason: str, ttl_seconds: float) -> Notification:
    return Notification(
        NotificationKind.CALL_CANCELLED,
        {"callId": call_id, "reason": reason},
        collapse_key=f"call:{call_id}",
        ttl_seconds=max(1, int(ttl_seconds)),
    )


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
        # call id → (the callee rung, its devices pushed); a redirect rings another callee
        self._rings: dict[str, tuple[str, asyncio.Task[list[str]]]] = {}

    async def start(self) -> None:
        await self._scope.start()
        self._calls.ringer = self

    async def stop(self) -> None:
        self._calls.ringer = None
        await self._scope.stop()

    def ringing(self, session: CallSession) -> None:
        callee = session.callee.user_id
        task = self._scope.spawn(self._ring(session, callee), name=f"push ring {session.call_id}")
        self._rings[session.call_id] = (callee, task)

    def settled(self, session: CallSession, reason: m.EndReason | None) -> None:
        rung = self._rings.pop(session.call_id, None)
        if rung is not None:
            self._scope.spawn(
                self._cancel(session, *rung, reason), name=f"push cancel {session.call_id}"
            )

    async def _ring(self, session: CallSession, callee_id: str) -> list[str]:
        call_id = session.call_id
        pushed: list[str] = []
        try:
            if self._presence_seconds:
                await asyncio.sleep(self._presence_seconds)
            callee = session.callee
            if callee.user_id != callee_id:
                return []  # redirected meanwhile: the new callee is rung on its own
            live = {*callee.ringing, *callee.busy_devices}
            if session.ringing:
                jobs = await self._push.notify(
                    callee.user_id, self.incoming(session), skip=live, key=f"call:{call_id}"
                )
                pushed = [job.device_id for job in jobs]
        except Exception:
            log.exception("pushing the incoming call %s failed", call_id)
        rung = self._rings.get(call_id)
        if not pushed and rung is not None and rung[0] == callee_id:
            self._calls.release_push_hold(call_id)
            self._rings.pop(call_id, None)
        return pushed

    async def _cancel(
        self,
        session: CallSession,
        callee_id: str,
        task: asyncio.Task[list[str]],
        reason: m.EndReason | None,
    ) -> None:
        call_id = session.call_id
        try:
            pushed = await task
            answered = session.callee.device if session.callee.user_id == callee_id else None
            targets = [d for d in pushed if answered is None or d != answered.device_id]
            if targets:
                note = cancelled(call_id, cancel_reason(reason), self._ring_seconds)
                await self._push.notify(
                    callee_id, note, only=targets, key=f"cancel:{call_id}:{callee_id}"
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


class InvitationPushRinger:
    """Server calls' invitations (Call Automation's createCall, addParticipant, transfer and
    redirect to a user) ring the user's offline devices as 1:1 calls do (ServerCallHost's
    InvitationRinger): the payload's ``callId`` is the server call's, so ``pushReceived``
    reports the woken device to the invitation."""

    def __init__(
        self, push: PushService, host: ServerCallHost, *, clock: Clock, presence_seconds: float
    ) -> None:
        self._push = push
        self._host = host
        self._clock = clock
        self._presence_seconds = presence_seconds  # 0 alone: every device is local
        self._scope = TaskScope("push: invitations")
        self._rings: dict[str, asyncio.Task[list[str]]] = {}  # invitation id → devices pushed

    async def start(self) -> None:
        await self._scope.start()
        self._host.ringer = self

    async def stop(self) -> None:
        self._host.ringer = None
        await self._scope.stop()

    def ringing(self, call_id: str, invitation: Invitation) -> None:
        name = f"push invite {invitation.invitation_id}"
        self._rings[invitation.invitation_id] = self._scope.spawn(
            self._ring(call_id, invitation), name=name
        )

    def settled(self, call_id: str, invitation: Invitation) -> None:
        task = self._rings.pop(invitation.invitation_id, None)
        if task is not None:
            name = f"push cancel {invitation.invitation_id}"
            self._scope.spawn(self._cancel(call_id, invitation, task), name=name)

    async def _ring(self, call_id: str, invitation: Invitation) -> list[str]:
        pushed: list[str] = []
        try:
            if self._presence_seconds:
                await asyncio.sleep(self._presence_seconds)
            if invitation.pending:
                jobs = await self._push.notify(
                    invitation.user_id,
                    self.incoming(call_id, invitation),
                    skip=invitation.devices_seen,
                    key=f"invite:{invitation.invitation_id}",
                )
                pushed = [job.device_id for job in jobs]
        except Exception:
            log.exception("pushing the invitation %s failed", invitation.invitation_id)
        if not pushed:
            self._rings.pop(invitation.invitation_id, None)
            self._host.release_push_hold(call_id, invitation.invitation_id)
        return pushed

    async def _cancel(
        self, call_id: str, invitation: Invitation, task: asyncio.Task[list[str]]
    ) -> None:
        try:
            pushed = await task
            answered = invitation.accepted_by
            targets = [d for d in pushed if answered is None or d != answered.device_id]
            if not targets:
                return
            if invitation.state is InvitationState.ACCEPTED:
                reason = "answered"
            elif invitation.state is InvitationState.CANCELED:
                reason = "cancelled"
            else:
                reason = cancel_reason(invitation.failure)
            ttl = invitation.expires_at - self._clock.now()
            await self._push.notify(
                invitation.user_id,
                cancelled(call_id, reason, ttl),
                only=targets,
                key=f"cancel:{invitation.invitation_id}",
            )
        except Exception:
            log.exception("pushing the end of invitation %s failed", invitation.invitation_id)

    def incoming(self, call_id: str, invitation: Invitation) -> Notification:
        caller = invitation.caller
        data: dict[str, Any] = {
            "callId": call_id,
            "owner": self._host.node_id,
            "callerId": caller.identifier.raw_id,
            "displayName": caller.display_name,
            "video": False,
            "expiresAt": int(invitation.expires_at * 1000),
        }
        ttl = max(1, int(invitation.expires_at - self._clock.now()))
        return Notification(
            NotificationKind.INCOMING_CALL, data, collapse_key=f"call:{call_id}", ttl_seconds=ttl
        )
