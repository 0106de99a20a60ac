"""TwoPartyCalls: the 1:1 calls this node owns, and the ringing of this node's devices.

    startCall (a device here) ─▶ CallSession here (this node owns the call) ─▶ invite: this
        node's devices of the callee, and every other node ("calling.invites")
    a node with the callee's devices ─present─▶ owner: session.device_present ─▶ incomingCall
    accept, sdp, candidate, hangUp… (routed to the owner) ─▶ session ─▶ frames + lifecycle
    timers (presence window, ring timeout) ─▶ session.handle_timer

Every change is one synchronous step of the event loop (no locks); the session is sans-I/O,
this class only delivers what it returns and keeps its timer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from switchboard.calling import models as m
from switchboard.calling.errors import CallNotFoundError, InvalidSignalError
from switchboard.calling.models import DeviceAddress, EndReason, MediaDirection
from switchboard.calling.routing import messages as routing
from switchboard.calling.routing.messages import Envelope
from switchboard.calling.signaling.frames import (
    ClientMessage,
    Request,
    ServerMessage,
    ack,
    display_name_of,
    nack,
    require_candidate,
    require_description,
)
from switchboard.calling.signaling.hub import DeviceHub, LocalDevice
from switchboard.calling.twoparty.session import (
    CallSession,
    CallTimeouts,
    Deliver,
    Lifecycle,
    Output,
)
from switchboard.core.errors import NotSupportedError, SwitchboardError
from switchboard.core.identifiers import is_acs_user_id
from switchboard.http.identifiers import identifier_from_json


class CallEventSink(Protocol):
    def offer(self, events: Sequence[Lifecycle]) -> None:
        """Take lifecycle facts for Event Grid; must not block."""
        ...


class TwoPartyCalls:
    def __init__(
        self,
        node_id: str,
        hub: DeviceHub,
        *,
        clock: Callable[[], float],
        timeouts: CallTimeouts,
        sink: CallEventSink | None,
        deliver: Callable[[Deliver], None],
        send: Callable[[str, Envelope], None],
        to_owner: Callable[[str, Envelope], None],
    ) -> None:
        self.node_id = node_id
        self.sessions: dict[str, CallSession] = {}
        self._hub = hub
        self._clock = clock
        self._timeouts = timeouts
        self._sink = sink
        self._deliver = deliver
        self._send = send
        self._to_owner = to_owner
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    # ---- the caller's node (it owns the call) --------------------------------------------

    def start_call(self, device: LocalDevice, request: Request) -> None:
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
            now=self._clock(),
            timeouts=self._timeouts,
            caller_name=display_name_of(request),
        )
        call_id = session.call_id
        self.sessions[call_id] = session
        device.calls[call_id] = self.node_id
        device.active.add(call_id)
        self._deliver(
            Deliver(
                device.address, ack(request.id, callId=call_id, participantId=session.caller.id)
            )
        )
        self._emit(session, session.start())
        self.invite_here(call_id, self.node_id, callee)
        self._send(routing.INVITES, Envelope("invite", call_id, owner=self.node_id, user=callee))
        self._schedule(session)

    def apply(self, envelope: Envelope, request: Request) -> None:
        """A request about one of this node's calls, from a device on any node."""
        device = DeviceAddress(envelope.node, envelope.device)
        session = self.sessions.get(envelope.call)
        try:
            if session is None or session.ended:
                raise CallNotFoundError(f"The call '{envelope.call}' is over or unknown.")
            outputs = self._dispatch(session, device, ClientMessage(request.type), request)
        except SwitchboardError as exc:
            self._deliver(Deliver(device, nack(request.id, exc.error_code, exc.message)))
            return
        self._deliver(Deliver(device, ack(request.id)))
        self._emit(session, outputs)

    def _dispatch(
        self, session: CallSession, device: DeviceAddress, kind: ClientMessage, request: Request
    ) -> list[Output]:
        now = self._clock()
        if kind is ClientMessage.ACCEPT:
            answer = require_description(request.description, "answer")
            name = display_name_of(request)
            return session.accept(device, answer, media_of(request.media), now, name)
        if kind is ClientMessage.REJECT:
            return session.reject(device, bool(request.busy), now)
        if kind is ClientMessage.HANG_UP:
            return session.hang_up(device, now)
        if kind is ClientMessage.SDP:
            description = require_description(request.description, "any")
            return session.relay(device, ServerMessage.SDP, request.to, description=description)
        if kind is ClientMessage.CANDIDATE:
            candidate = require_candidate(request.candidate)
            return session.relay(device, ServerMessage.CANDIDATE, request.to, candidate=candidate)
        if kind is ClientMessage.MEDIA_STATE:
            return session.media_state(device, request.muted, request.video_on)
        if kind in (ClientMessage.HOLD, ClientMessage.RESUME):
            return session.hold(device, kind is ClientMessage.HOLD)
        raise NotSupportedError(f"'{kind.value}' is for group calls.")

    def present(self, envelope: Envelope) -> None:
        """A node reports a device of the callee (or that it is busy)."""
        session = self.sessions.get(envelope.call)
        device = DeviceAddress(envelope.node, envelope.device)
        if session is None:
            if not envelope.busy:  # rang too late: the call is gone
                reason = m.ACCEPTED_ELSEWHERE.json()
                self._deliver(
                    Deliver(
                        device,
                        {
                            "type": ServerMessage.CALL_ENDED.value,
                            "callId": envelope.call,
                            "reason": reason,
                        },
                    )
                )
            return
        self._emit(session, session.device_present(envelope.user, device, envelope.busy))

    def lost(self, envelope: Envelope) -> None:
        session = self.sessions.get(envelope.call)
        if session is None:
            return
        lost = EndReason.from_json(envelope.reason or {})
        device = DeviceAddress(envelope.node, envelope.device)
        self._emit(session, session.device_lost(device, lost, self._clock()))

    # ---- the callee's node ---------------------------------------------------------------

    def invite_here(self, call_id: str, owner: str, callee: str) -> None:
        for device in self._hub.of_user(callee):
            if device.connection is None:
                continue  # between sockets: it cannot ring
            busy = device.busy
            if not busy:
                device.calls[call_id] = owner
            self._to_owner(
                owner,
                Envelope(
                    "present",
                    call_id,
                    user=callee,
                    node=self.node_id,
                    device=device.device_id,
                    busy=busy,
                ),
            )

    # ---- outputs and timers --------------------------------------------------------------

    def _on_timer(self, call_id: str) -> None:
        self._timers.pop(call_id, None)
        session = self.sessions.get(call_id)
        if session is not None:
            self._emit(session, session.handle_timer(self._clock()))

    def _emit(self, session: CallSession, outputs: list[Output]) -> None:
        lifecycle = [o for o in outputs if isinstance(o, Lifecycle)]
        for output in outputs:
            if isinstance(output, Deliver):
                self._deliver(output)
        if lifecycle and self._sink is not None:
            self._sink.offer(lifecycle)
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
            delay = max(0.0, deadline - self._clock())
            loop = asyncio.get_running_loop()
            self._timers[session.call_id] = loop.call_later(delay, self._on_timer, session.call_id)


def media_of(value: dict[str, bool] | None) -> MediaDirection:
    if value is None:
        return MediaDirection()
    return MediaDirection(
        audio=bool(value.get("audio", True)), video=bool(value.get("video", False))
    )
