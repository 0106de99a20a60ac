"""PendingCalls: phone calls to our numbers, ringing until an app answers, rejects or redirects.

carrier ─incoming(call)─▶ a pending call (pending id, its server call id chosen now)
    the number is not ours (or takes no calls) ─▶ refuse 404 (not in service)
    else ─▶ IncomingCallSink.incoming_call (automation: IncomingCall) ─▶ it rings
answer(pending id, listener) ─▶ ServerCalls.create (the app's leg) ─▶ the phone's leg joins
    ─▶ the carrier's call is answered on that leg
reject(reason) ─▶ the phone hears busy 486 / declined 603 / forbidden 403
redirect(user) ─▶ a server call with no app ─▶ the user is invited ─▶ accepted: the phone's
    leg joins and is answered; failed: the phone hears why; alone again: the call ends
nobody within ring_seconds ─▶ the phone hears no answer (408)
the phone hangs up ─▶ while ringing: forgotten; in the call: leg_left
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any

from switchboard.calling import models as m
from switchboard.calling.errors import CallNotFoundError, CallStateError
from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import (
    FORBIDDEN,
    NO_ANSWER,
    NOT_IN_SERVICE,
    HoldablePhoneCall,
    InboundPhoneCall,
    IncomingCallSink,
    IncomingPhoneCall,
    PhoneCallListener,
    PhoneNumbers,
)
from switchboard.calling.server import models as events
from switchboard.calling.server.calls import MediaLegs, ServerCalls, new_server_call_id
from switchboard.calling.server.host import ServerCallHost
from switchboard.core.identifiers import identifier_from_raw_id
from switchboard.core.tasks import TaskScope
from switchboard.media.local_leg import LocalLeg

log = logging.getLogger(__name__)

RING_SECONDS = 60.0
UNAVAILABLE = EndReason(503, 0, "The service could not take the call.")
REJECT_REASONS = {"none": m.DECLINED, "busy": m.BUSY, "forbidden": FORBIDDEN}


class PendingState(StrEnum):
    CHECKING = "Checking"  # is the number ours?
    RINGING = "Ringing"  # offered to the apps
    REDIRECTED = "Redirected"  # a user rings instead
    JOINING = "Joining"
    CONNECTED = "Connected"
    OVER = "Over"


class PendingCall:
    """One inbound phone call: the carrier's listener, and the member's LegSink once in."""

    def __init__(self, calls: PendingCalls, inbound: InboundPhoneCall, pending_id: str) -> None:
        self.pending_id = pending_id
        self.server_call_id = new_server_call_id()
        self.correlation_id = str(uuid.uuid4())
        self.inbound = inbound
        self.state = PendingState.CHECKING
        self.timer: asyncio.TimerHandle | None = None
        self.leg: LocalLeg | None = None
        self.member_id: str | None = None
        self.invitation_id: str | None = None
        self.ending = False  # the redirected call is being ended (the user left)
        self._calls = calls

    @property
    def raw_id(self) -> str:
        return f"4:{self.inbound.caller}"

    # ── PhoneCallListener ────────────────────────────────────────────────────────────

    def answered(self) -> None:
        """Not for inbound calls: we answer them."""

    def failed(self, reason: EndReason) -> None:
        self.ended()

    def ended(self) -> None:
        """The phone hung up."""
        state = self.state
        self._over()
        self._calls.forget(self)
        if state is PendingState.REDIRECTED and self.invitation_id is not None:
            self._calls.spawn(self._calls.give_up_redirect(self), "redirect given up")
        elif state is PendingState.CONNECTED and self.member_id is not None:
            host = self._calls.host
            self._calls.spawn(host.leg_left(self.server_call_id, self.member_id), "phone left")

    # ── LegSink ──────────────────────────────────────────────────────────────────────

    def left(self, reason: EndReason | None) -> None:
        if self.state is not PendingState.OVER:
            self._over()
            self.inbound.hang_up()

    def held(self, on_hold: bool) -> None:
        if isinstance(self.inbound, HoldablePhoneCall):
            self.inbound.set_held(on_hold)

    # ── MovableLeg (the app moves the phone to another call, calling/server/moves.py) ──

    async def rejoin(self, call_id: str, member_id: str) -> None:
        if self.state is not PendingState.CONNECTED:
            raise CallStateError(f"The call from {self.inbound.caller} is not connected.")
        leg = await self._calls.legs.add_local_participant(call_id, member_id)
        old, self.leg = self.leg, leg
        self.server_call_id, self.member_id = call_id, member_id
        self.inbound.connect_media(leg)
        if old is not None:
            old.close()

    # ── ours ─────────────────────────────────────────────────────────────────────────

    def refuse(self, reason: EndReason) -> None:
        if self.state is not PendingState.OVER:
            self._over()
            self._calls.forget(self)
            self.inbound.refuse(reason)

    def _over(self) -> None:
        self.state = PendingState.OVER
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.leg is not None:
            self.leg.close()


class PendingCalls:
    """The InboundCallHandler calling gives the carrier; the app's answer/reject/redirect."""

    def __init__(
        self,
        host: ServerCallHost,
        calls: ServerCalls[LocalLeg],
        legs: MediaLegs[LocalLeg],
        numbers: PhoneNumbers,
        sink: IncomingCallSink,
        *,
        ring_seconds: float = RING_SECONDS,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.host = host
        self._calls = calls
        self.legs = legs
        self._numbers = numbers
        self._sink = sink
        self._ring_seconds = ring_seconds
        self._new_id = new_id
        self._pending: dict[str, PendingCall] = {}
        self._scope = TaskScope("pending phone calls")

    async def start(self) -> None:
        await self._scope.start()

    async def stop(self) -> None:
        await self._scope.stop()
        for pending in list(self._pending.values()):
            pending.refuse(UNAVAILABLE)

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """One step of one call: its failure is logged, never the scope's end."""
        self._scope.spawn(_logged(work, name), name=name)

    def forget(self, pending: PendingCall) -> None:
        if self._pending.get(pending.pending_id) is pending:
            del self._pending[pending.pending_id]

    # ── the carrier ──────────────────────────────────────────────────────────────────

    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        pending = PendingCall(self, call, self._new_id())
        self._pending[pending.pending_id] = pending
        self.spawn(self._offer(pending), f"incoming call {pending.pending_id}")
        return pending

    async def _offer(self, pending: PendingCall) -> None:
        try:
            ours = await self._numbers.takes_calls(pending.inbound.called)
        except Exception:
            log.exception("incoming call %s: the number check failed", pending.pending_id)
            pending.refuse(UNAVAILABLE)
            return
        if pending.state is not PendingState.CHECKING:
            return  # hung up already
        if not ours:
            log.info("a call to %s: not a number of ours", pending.inbound.called)
            pending.refuse(NOT_IN_SERVICE)
            return
        pending.state = PendingState.RINGING
        loop = asyncio.get_running_loop()
        pending.timer = loop.call_later(self._ring_seconds, pending.refuse, NO_ANSWER)
        offer = IncomingPhoneCall(
            pending.pending_id,
            pending.server_call_id,
            pending.inbound.caller,
            pending.inbound.called,
            pending.correlation_id,
            self.host.node_id,
        )
        try:
            await self._sink.incoming_call(offer)
        except Exception:
            log.exception("incoming call %s: offering it failed", pending.pending_id)
            pending.refuse(UNAVAILABLE)

    # ── the app ──────────────────────────────────────────────────────────────────────

    async def answer(
        self, pending_id: str, listener_for: Callable[[str], events.ServerCallListener]
    ) -> LocalLeg:
        """The server call, with the app's leg (returned) and the phone's leg in it;
        ``listener_for(server call id)`` hears its events."""
        pending = self._take(pending_id)
        listener = listener_for(pending.server_call_id)
        app_leg = await self._calls.create(pending.server_call_id, listener)
        try:
            await self._join(pending)
        except BaseException:
            await self._calls.terminate(pending.server_call_id)
            raise
        return app_leg

    async def reject(self, pending_id: str, reason: str) -> None:
        self._take(pending_id).refuse(REJECT_REASONS.get(reason, m.DECLINED))

    async def redirect(self, pending_id: str, user_raw_id: str) -> None:
        """Ring the user instead; the app is out of it."""
        pending = self._take(pending_id)
        pending.state = PendingState.REDIRECTED
        if pending.timer is not None:  # the invitation has a timeout of its own
            pending.timer.cancel()
            pending.timer = None
        await self.host.create(pending.server_call_id, self._watch(pending))
        pending.invitation_id = self._new_id()
        try:
            self.host.invite(
                pending.server_call_id,
                user_raw_id,
                invitation_id=pending.invitation_id,
                timeout_seconds=self._ring_seconds,
                caller=identifier_from_raw_id(pending.raw_id),
                caller_display_name=pending.inbound.caller,
            )
        except BaseException:
            await self.host.leave(pending.server_call_id)
            pending.refuse(UNAVAILABLE)
            raise

    async def give_up_redirect(self, pending: PendingCall) -> None:
        """The phone hung up while the user rang: stop ringing, end the empty call."""
        if pending.invitation_id is not None:
            try:
                self.host.cancel_invite(pending.server_call_id, pending.invitation_id)
            except Exception:
                log.debug("redirect %s: nothing to cancel", pending.pending_id)
        await self.host.leave(pending.server_call_id)

    # ── internals ────────────────────────────────────────────────────────────────────

    def _take(self, pending_id: str) -> PendingCall:
        pending = self._pending.pop(pending_id, None)
        if pending is None or pending.state is not PendingState.RINGING:
            raise CallNotFoundError("The incoming call is no longer ringing.")
        if pending.timer is not None:
            pending.timer.cancel()
            pending.timer = None
        return pending

    async def _join(self, pending: PendingCall) -> None:
        pending.state = PendingState.JOINING

        async def attach(member_id: str) -> None:
            pending.member_id = member_id
            pending.leg = await self.legs.add_local_participant(pending.server_call_id, member_id)

        caller = pending.inbound.caller
        await self.host.join_leg(pending.server_call_id, pending.raw_id, caller, pending, attach)
        if pending.state is not PendingState.JOINING or pending.leg is None:
            # It hung up while joining: take the member out again.
            if pending.leg is not None:
                pending.leg.close()
            if pending.member_id is not None:
                await self.host.leg_left(pending.server_call_id, pending.member_id)
            return
        pending.state = PendingState.CONNECTED
        pending.inbound.answer(pending.leg)

    def _watch(self, pending: PendingCall) -> events.ServerCallListener:
        """The redirected call, which has no app: the user's answer decides for the phone."""

        def on_event(event: events.ServerCallEvent) -> None:
            if isinstance(event, events.InviteAccepted):
                self.spawn(self._join_redirected(pending), "redirected phone joins")
            elif isinstance(event, events.InviteFailed | events.InviteCanceled):
                if isinstance(event, events.InviteFailed):
                    pending.refuse(event.reason)
                self.spawn(self.host.leave(pending.server_call_id), "redirect failed")
            elif isinstance(event, events.ParticipantsChanged):
                others = [p for p in event.participants if p.identifier.raw_id != pending.raw_id]
                if pending.state is PendingState.CONNECTED and not others and not pending.ending:
                    pending.ending = True  # terminate's own ParticipantsChanged comes next
                    self.spawn(self.host.terminate(pending.server_call_id), "redirect over")
            elif isinstance(event, events.ServerCallEnded):
                pending.left(event.reason)

        return on_event

    async def _join_redirected(self, pending: PendingCall) -> None:
        if pending.state is not PendingState.REDIRECTED:
            return
        try:
            await self._join(pending)
        except Exception:
            log.exception("redirect %s: the phone could not join", pending.pending_id)
            pending.refuse(UNAVAILABLE)
            await self.host.terminate(pending.server_call_id)


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", name)
