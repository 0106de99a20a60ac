"""PhoneCallsFromDevices: a calling SDK's call to a phone number (ACS's ``startCall([{
phoneNumber}], {alternateCallerId})``), run as a server call that no app watches.

    startCall {targets: [phoneNumber], alternateCallerId, offer} from a device on this node
      ─▶ one phone number target; alternateCallerId a purchased number with outbound calling
         (CallerIds), else a failed ack InvalidAlternateCallerId
      ─▶ ServerCallHost.create("server:<uuid>") on this node, watched from here
      ─▶ the device joins its conference with its offer, as an accept would: ack {callId,
         participantId, state: Connecting}, then the SFU's answer (media is up while it rings)
      ─▶ PhoneDialer.invite(number, caller id) ─▶ the node's carrier: a SIP trunk the route
         patterns pick, else the voice simulator; still shown Connecting
    the phone rings (the carrier's 180/183; the simulator's phone rings) ─▶ callUpdated
        Ringing (a 183's early media is heard through the call's media meanwhile)
    the phone answers ─▶ its leg joins ─▶ participantsUpdated, callUpdated Connected
    it fails ─▶ callEnded with the carrier's reason (486 busy, 603, 404, 408, 503, …; nobody
        answered within the ring timeout: 487/10004)
    the phone hangs up ─▶ the device: callEnded 0/0 · the device hangs up (or is lost) ─▶
        the phone is hung up (BYE; CANCEL while it rings)
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from switchboard.calling.conference.admission import Joiner
from switchboard.calling.conference.conference import Conference
from switchboard.calling.errors import InvalidCallerIdError, InvalidSignalError
from switchboard.calling.models import Deliver, DeviceAddress, EndReason
from switchboard.calling.pstn.dialing import PhoneDialer
from switchboard.calling.server.calls import new_server_call_id
from switchboard.calling.server.host import ServerCallHost
from switchboard.calling.server.models import (
    CALL_OVER,
    TERMINATED,
    InviteAccepted,
    InviteFailed,
    ParticipantsChanged,
    ServerCallEnded,
    ServerCallEvent,
    ServerCallListener,
)
from switchboard.calling.signaling.frames import nack
from switchboard.calling.signaling.hub import LocalDevice
from switchboard.calling.signaling.requests import Accept, StartCall
from switchboard.core.errors import BadRequestError, SwitchboardError
from switchboard.core.identifiers import IdentifierKind
from switchboard.core.tasks import TaskScope
from switchboard.http.identifiers import identifier_from_json

log = logging.getLogger(__name__)

DIALLING = "Connecting"  # what the device is shown from its join until the phone rings
RINGING = "Ringing"  # the carrier said 180/183


class CallerIds(Protocol):
    async def may_call_from(self, phone_number: str) -> bool:
        """A purchased number with outbound calling (ACS's rule for a caller id)."""
        ...


def phone_target(request: StartCall) -> str | None:
    """The E.164 number a startCall dials, or None when its target is not a phone number."""
    targets = request.targets or []
    if len(targets) != 1 or not isinstance(targets[0], dict):
        return None
    try:
        target = identifier_from_json(targets[0])
    except BadRequestError:
        return None
    return target.value if target.kind is IdentifierKind.PHONE_NUMBER else None


def caller_id_of(request: StartCall) -> str:
    """The alternateCallerId's number; refused when missing or not a phone number."""
    given = request.alternate_caller_id
    try:
        caller = identifier_from_json(given) if isinstance(given, dict) else None
    except BadRequestError:
        caller = None
    if caller is None or caller.kind is not IdentifierKind.PHONE_NUMBER:
        raise InvalidCallerIdError(
            "A call to a phone number needs alternateCallerId: a phone number you own.",
            target="alternateCallerId",
        )
    return caller.value


@dataclass(slots=True)
class DialledCall:
    """One device's call to one number."""

    call_id: str
    device: DeviceAddress
    number: str
    invitation_id: str
    conference: Conference | None = None
    answered: bool = False
    ending: bool = False


class PhoneCallsFromDevices:
    """CallingService's PhoneCallStarter; the server calls it makes report to it."""

    def __init__(
        self,
        host: ServerCallHost,
        dialer: PhoneDialer,
        caller_ids: CallerIds,
        *,
        ring_seconds: float,
    ) -> None:
        self._host = host
        self._dialer = dialer
        self._caller_ids = caller_ids
        self._ring_seconds = ring_seconds
        self.calls: dict[str, DialledCall] = {}
        self._scope = TaskScope("phone calls from devices")

    async def start(self) -> None:
        await self._scope.start()

    async def stop(self) -> None:
        await self._scope.stop()

    # ── PhoneCallStarter (CallingService.handle) ─────────────────────────────────────

    def takes(self, request: StartCall) -> bool:
        return phone_target(request) is not None

    def start_call(self, device: LocalDevice, request: StartCall) -> None:
        """Checks what it can at once (a failed ack raises); the rest runs as a task."""
        number = phone_target(request)
        if number is None:
            raise InvalidSignalError("The target must be one phoneNumber.", target="targets")
        caller_id = caller_id_of(request)
        if request.description is None:
            raise InvalidSignalError("A call to a phone number carries an offer.")
        call = DialledCall(new_server_call_id(), device.address, number, str(uuid.uuid4()))
        self._spawn(self._place(device, request, call, caller_id), f"dial {number}")

    # ── placing it ───────────────────────────────────────────────────────────────────

    async def _place(
        self, device: LocalDevice, request: StartCall, call: DialledCall, caller_id: str
    ) -> None:
        try:
            if not await self._caller_ids.may_call_from(caller_id):
                raise InvalidCallerIdError(
                    f"{caller_id} is not a purchased number with outbound calling.",
                    target="alternateCallerId",
                )
            call.conference = await self._host.create(call.call_id, self._watch(call))
        except SwitchboardError as exc:
            refused = nack(request.id, exc.error_code, exc.message)
            self._host.deliver([Deliver(call.device, refused)])
            return
        conference = call.conference
        self.calls[call.call_id] = call
        device.calls[call.call_id] = self._host.node_id
        device.active.add(call.call_id)
        accept = Accept(
            id=request.id,
            call_id=call.call_id,
            description=request.description,
            media=request.media,
            display_name=request.display_name,
        )
        who = Joiner(device.address, device.user_id, join_only=False, shown=DIALLING)
        await conference.run(lambda: conference.handle(who, accept))  # acks, or nacks

        async def joined() -> bool:
            return any(m.device == call.device for m in conference.group.connected())

        if not await conference.run(joined):  # its join was refused (told already)
            await conference.run(lambda: conference.end_for_everyone(TERMINATED))
            return
        try:
            self._dialer.invite(
                call.call_id,
                call.number,
                invitation_id=call.invitation_id,
                timeout_seconds=self._ring_seconds,
                caller_id=caller_id,
                on_ringing=lambda: self._ringing(call),
            )
        except SwitchboardError:  # the device hung up meanwhile: the call is over already
            log.info("call %s ended before %s was dialled", call.call_id, call.number)

    def _ringing(self, call: DialledCall) -> None:
        """The carrier says the phone rings: the device is shown Ringing (until the answer)."""
        conference = call.conference
        if conference is None or call.answered or call.ending:
            return

        async def show() -> None:
            if not call.answered and not call.ending:
                conference.show(call.device, RINGING)

        self._spawn(conference.run(show), f"{call.call_id} rings")

    # ── what its server call says (inside the conference's jobs) ─────────────────────

    def _watch(self, call: DialledCall) -> ServerCallListener:
        def on_event(event: ServerCallEvent) -> None:
            self._on_event(call, event)

        return on_event

    def _on_event(self, call: DialledCall, event: ServerCallEvent) -> None:
        conference = call.conference
        if isinstance(event, ServerCallEnded):
            self.calls.pop(call.call_id, None)
            return
        if conference is None:
            return
        if isinstance(event, InviteAccepted) and event.invitation_id == call.invitation_id:
            call.answered = True
            conference.show(call.device, None)  # Connected, with the phone
        elif isinstance(event, InviteFailed) and event.invitation_id == call.invitation_id:
            if event.reason is not CALL_OVER:  # (else the call is over already)
                self._end(call, event.reason)
        elif (
            isinstance(event, ParticipantsChanged) and call.answered and len(event.participants) < 2
        ):
            self._end(call, TERMINATED)  # one side hung up: the other is ended

    def _end(self, call: DialledCall, reason: EndReason) -> None:
        conference = call.conference
        if call.ending or conference is None:
            return
        call.ending = True
        self._spawn(
            conference.run(lambda: conference.end_for_everyone(reason)), f"end {call.call_id}"
        )

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._scope.spawn(_logged(work, name), name=name)


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", name)
