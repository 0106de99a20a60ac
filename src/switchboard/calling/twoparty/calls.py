"""TwoPartyCalls: the 1:1 calls this node owns, and the ringing of this node's devices.

    startCall (a device here) ─▶ CallSession here (this node owns the call) ─▶ ring: this
        node's devices of the callee (directly), every other node (router.invite)
    a node with the callee's devices ─Present─▶ owner: session.device_present ─▶ incomingCall
    accept, sdp, candidate, hangUp… (router.to_owner) ─▶ session ─▶ frames + lifecycle
    timers (presence window, ring timeout) ─▶ session.handle_timer
    a ringer (push) ─▶ the callee's devices without a socket are pushed; the call rings on
        (held_for_push) until answered or the ring timeout, unless none was pushed; a
        woken device sends pushReceived ─▶ Present like any other (push_received)

Every change is one synchronous step of the event loop (no locks); the session is sans-I/O,
this class only delivers what it returns (through the router) and keeps its timer.

An app may be offered the call as it starts (``offers``: offered.py, Call Automation's
IncomingCall for the callee); its answer, reject or redirect comes back as ``convert``,
``refuse`` or ``redirect``, and the offer is withdrawn once the call no longer rings.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Protocol

from switchboard.calling import models as m
from switchboard.calling.errors import CallNotFoundError, InvalidSignalError
from switchboard.calling.lifecycle import LifecycleKind
from switchboard.calling.models import Deliver, DeviceAddress, EndReason, MediaDirection
from switchboard.calling.routing.messages import Command, Invite, Lost, Present
from switchboard.calling.routing.router import CallRouter
from switchboard.calling.signaling.frames import CallEnded, ack, nack
from switchboard.calling.signaling.hub import DeviceHub, LocalDevice
from switchboard.calling.signaling.requests import (
    Accept,
    CandidateRequest,
    HangUp,
    Hold,
    MediaState,
    Reject,
    Resume,
    SdpRequest,
    StartCall,
    display_name_of,
    require_candidate,
    require_description,
)
from switchboard.calling.twoparty.session import CallSession, CallTimeouts, Lifecycle, Output
from switchboard.core.clock import Clock
from switchboard.core.errors import NotSupportedError, SwitchboardError
from switchboard.core.identifiers import is_acs_user_id
from switchboard.http.identifiers import identifier_from_json


class CallEventSink(Protocol):
    def offer(self, events: Sequence[Lifecycle]) -> None:
        """Take lifecycle facts for Event Grid; must not block."""
        ...


class RingingCallOffers(Protocol):
    """Offers ringing 1:1 calls to apps (offered.py); must not block."""

    def ringing(self, session: CallSession) -> bool:
        """A call starts ringing its callee: offer it if an app asks for that callee (True)."""
        ...

    def settled(self, call_id: str) -> None:
        """The call no longer rings (answered, over, or the app took it): withdraw it."""
        ...


class OfflineRinger(Protocol):
    """Wakes the callee's devices that have no socket (push/, through app/push.py); must not
    block. A call it rings stays ringing (``held_for_push``) until it calls ``release``."""

    def ringing(self, session: CallSession) -> None:
        """The call started ringing: push the callee's devices that are not present."""
        ...

    def settled(self, session: CallSession, reason: EndReason | None) -> None:
        """A call it rang no longer rings: answered (``reason`` None) or over."""
        ...


class TwoPartyCalls:
    def __init__(
        self,
        hub: DeviceHub,
        router: CallRouter,
        *,
        clock: Clock,
        timeouts: CallTimeouts,
        sink: CallEventSink | None,
    ) -> None:
        self.node_id = router.node_id
        self.sessions: dict[str, CallSession] = {}
        self._hub = hub
        self._router = router
        self._clock = clock
        self._timeouts = timeouts
        self._sink = sink
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.offers: RingingCallOffers | None = None  # set by the composition root
        self.ringer: OfflineRinger | None = None  # set by the composition root (push)
        self._pushed: set[str] = set()  # calls the ringer rang and has not been told settled

    def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    # ---- the caller's node (it owns the call) --------------------------------------------

    def start_call(self, device: LocalDevice, request: StartCall) -> None:
        targets = request.targets or []
        if len(targets) != 1:
            raise NotSupportedError("startCall has exactly one target (use joinGroupCall).")
        callee = identifier_from_json(targets[0]).raw_id
        if not is_acs_user_id(callee):
            raise InvalidSignalError("The target must be a communicationUser.", target="targets")
        if callee == device.user_id:
            raise InvalidSignalError("A user cannot call itself.", target="targets")
        offer = require_description(request.description, "offer") if request.description else None
        session = CallSession(
            str(uuid.uuid4()),
            device.user_id,
            device.address,
            callee,
            offer=offer,
            media=media_of(request.media),
            now=self._clock.now(),
            timeouts=self._timeouts,
            caller_name=display_name_of(request),
        )
        call_id = session.call_id
        self.sessions[call_id] = session
        device.calls[call_id] = self.node_id
        device.active.add(call_id)
        self._router.deliver(
            Deliver(
                device.address, ack(request.id, call_id=call_id, participant_id=session.caller.id)
            )
        )
        self._emit(session, session.start())
        for present in self.ring_here(call_id, self.node_id, callee):
            self.present(present)
        self._router.invite(Invite(call=call_id, owner=self.node_id, user=callee))
        if self.offers is not None and not session.ended and self.offers.ringing(session):
            session.held_for_app = True
        if self.ringer is not None and not session.ended:
            session.held_for_push = True
            self._pushed.add(call_id)
            self.ringer.ringing(session)
        self._schedule(session)

    def release_push_hold(self, call_id: str) -> None:
        """The ringer had no device to push: the call ends as it would have without it
        (480 when no device of the callee is present)."""
        session = self.sessions.get(call_id)
        if session is not None and session.held_for_push:
            session.held_for_push = False
            self._pushed.discard(call_id)
            self._schedule(session)

    def apply(self, command: Command) -> None:
        """A request about one of this node's calls, from a device on any node."""
        device = command.address
        request = command.req
        session = self.sessions.get(command.call)
        try:
            if session is None or session.ended:
                raise CallNotFoundError(f"The call '{command.call}' is over or unknown.")
            outputs = self._dispatch(session, device, command)
        except SwitchboardError as exc:
            self._router.deliver(Deliver(device, nack(request.id, exc.error_code, exc.message)))
            return
        self._router.deliver(Deliver(device, ack(request.id)))
        self._emit(session, outputs)

    def _dispatch(
        self, session: CallSession, device: DeviceAddress, command: Command
    ) -> list[Output]:
        now = self._clock.now()
        request = command.req
        if isinstance(request, Accept):
            answer = require_description(request.description, "answer")
            name = display_name_of(request)
            return session.accept(device, answer, media_of(request.media), now, name)
        if isinstance(request, Reject):
            return session.reject(device, bool(request.busy), now)
        if isinstance(request, HangUp):
            return session.hang_up(device, now)
        if isinstance(request, SdpRequest):
            description = require_description(request.description, "any")
            return session.relay(device, request.to, description, request.screen_share_mids)
        if isinstance(request, CandidateRequest):
            candidate = require_candidate(request.candidate)
            return session.relay(device, request.to, candidate)
        if isinstance(request, MediaState):
            return session.media_state(
                device, request.muted, request.video_on, request.screen_share_on
            )
        if isinstance(request, Hold | Resume):
            return session.hold(device, isinstance(request, Hold))
        raise NotSupportedError(f"'{request.kind.value}' is for group calls.")

    def present(self, present: Present) -> None:
        """A node reports a device of the callee (or that it is busy)."""
        session = self.sessions.get(present.call)
        device = present.address
        if session is None:
            if not present.busy:  # rang too late: the call is gone
                ended = CallEnded(m.ACCEPTED_ELSEWHERE.info(), call_id=present.call)
                self._router.deliver(Deliver(device, ended))
            return
        self._emit(session, session.device_present(present.user, device, present.busy))

    def lost(self, lost: Lost) -> None:
        session = self.sessions.get(lost.call)
        if session is None:
            return
        reason = EndReason.from_info(lost.reason)
        self._emit(session, session.device_lost(lost.address, reason, self._clock.now()))

    def push_received(self, device: LocalDevice, call_id: str, owner: str) -> Present:
        """A device woken by a push asks to ring: it reports itself to the call's owner (a
        call it is not the callee of, or that is over, answers as any late device)."""
        busy = device.busy
        if not busy:
            device.calls[call_id] = owner
        return Present(
            call=call_id, user=device.user_id, node=self.node_id, device=device.device_id, busy=busy
        )

    # ---- an app's decision (offered.py) --------------------------------------------------

    def ringing_session(self, call_id: str) -> CallSession:
        session = self.sessions.get(call_id)
        if session is None or not session.ringing:
            raise CallNotFoundError("The incoming call is no longer ringing.")
        return session

    def convert(self, call_id: str, server_call_id: str) -> DeviceAddress:
        """An app answered: the call goes on as ``server_call_id``; the caller's device
        (returned) is told to join it."""
        session = self.ringing_session(call_id)
        device = session.caller.device
        assert device is not None  # a ringing call's caller has its device
        self._emit(session, session.convert(server_call_id, self._clock.now()))
        return device

    def tell_ended(self, device: DeviceAddress, call_id: str, reason: EndReason) -> None:
        """A converted call's caller that never joined the server call: its 1:1 call is over
        (a client that does not know callConverted still shows it)."""
        self._router.deliver(Deliver(device, CallEnded(reason.info(), call_id=call_id)))

    def refuse(self, call_id: str, reason: EndReason) -> None:
        session = self.ringing_session(call_id)
        self._emit(session, session.refuse(reason, self._clock.now()))

    def redirect(self, call_id: str, user_id: str) -> None:
        session = self.ringing_session(call_id)
        outputs = session.redirect(user_id, self._clock.now())
        if self.ringer is not None:  # the first callee's pushes end; the new one's devices
            if call_id in self._pushed:
                self.ringer.settled(session, m.CANCELLED)
            session.held_for_push = True
            self._pushed.add(call_id)
            self.ringer.ringing(session)
        self._emit(session, outputs)
        for present in self.ring_here(call_id, self.node_id, user_id):
            self.present(present)
        self._router.invite(Invite(call=call_id, owner=self.node_id, user=user_id))

    # ---- the callee's node ---------------------------------------------------------------

    def invited(self, invite: Invite) -> None:
        """Another node's call rings the callee: tell its owner which devices are here."""
        for present in self.ring_here(invite.call, invite.owner, invite.user):
            self._router.to_owner(invite.owner, present)

    def ring_here(self, call_id: str, owner: str, callee: str) -> list[Present]:
        """The callee's devices on this node (busy or not); free ones now know the call."""
        found: list[Present] = []
        for device in self._hub.of_user(callee):
            if device.connection is None:
                continue  # between sockets: it cannot ring
            busy = device.busy
            if not busy:
                device.calls[call_id] = owner
            found.append(
                Present(
                    call=call_id, user=callee, node=self.node_id, device=device.device_id, busy=busy
                )
            )
        return found

    # ---- outputs and timers --------------------------------------------------------------

    def _on_timer(self, call_id: str) -> None:
        self._timers.pop(call_id, None)
        session = self.sessions.get(call_id)
        if session is not None:
            self._emit(session, session.handle_timer(self._clock.now()))

    def _emit(self, session: CallSession, outputs: list[Output]) -> None:
        lifecycle = [o for o in outputs if isinstance(o, Lifecycle)]
        for output in outputs:
            if isinstance(output, Deliver):
                self._router.deliver(output)
        if lifecycle and self._sink is not None:
            self._sink.offer(lifecycle)
        if self.offers is not None and not session.ringing:
            self.offers.settled(session.call_id)
        if not session.ringing and session.call_id in self._pushed:
            self._pushed.discard(session.call_id)
            if self.ringer is not None:
                ended = [o.reason for o in lifecycle if o.kind is LifecycleKind.CALL_ENDED]
                self.ringer.settled(session, ended[0] if ended else None)
        if session.ended:
            self.sessions.pop(session.call_id, None)
            timer = self._timers.pop(session.call_id, None)
            if timer is not None:
                timer.cancel()
        else:
            self._schedule(session)

    def _schedule(self, session: CallSession) -> None:
        timer = self._timers.pop(session.call_id, None)
        if timer is not None:
            timer.cancel()
        deadline = session.next_timer()
        if deadline is not None:
            delay = max(0.0, deadline - self._clock.now())
            loop = asyncio.get_running_loop()
            self._timers[session.call_id] = loop.call_later(delay, self._on_timer, session.call_id)


def media_of(value: dict[str, bool] | None) -> MediaDirection:
    if value is None:
        return MediaDirection()
    return MediaDirection(
        audio=bool(value.get("audio", True)), video=bool(value.get("video", False))
    )
