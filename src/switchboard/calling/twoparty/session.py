"""CallSession: one call's state machine on its owning node. Sans-I/O: no sockets, no sleeps.

Methods take what happened (and ``now``) and return outputs: frames to deliver to devices
(``Deliver``) and lifecycle facts for Event Grid (``Lifecycle``). ``next_timer()`` says when
``handle_timer(now)`` must run (presence window, ring timeout).

    start ─▶ CONNECTING ──device_present──▶ RINGING ──accept──▶ CONNECTED ──hang_up──▶ ENDED
               │ no device in the presence      │ reject: 603/0      │ device lost: 0/4521
               │ window: 480/10037 (486 busy)   │ caller hangs up: 487/0 (cancel)
               └────────────────────────────────┴ ring timeout: 487/10004

When one callee device accepts, the others ringing get callEnded 487/10003 (accepted
elsewhere). ICE candidates trickle both ways before the answer: the caller's wait for the
device that accepts, and a ringing device's own (browsers send them right after
``setLocalDescription``, before ``accept`` is processed) wait for its accept, then reach the
caller after the answer; those of devices that did not answer are dropped.

An app offered the call (Call Automation, offered.py) may decide while it rings: answer
(``convert``: the callee's devices get 487/10003, the caller ``callConverted``), reject
(``refuse``: everyone gets the reason) or ring another user instead (``redirect``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from switchboard.calling import models as m
from switchboard.calling.errors import CallStateError, InvalidSignalError
from switchboard.calling.lifecycle import Lifecycle, LifecycleKind, LifecycleParticipant
from switchboard.calling.models import (
    CallPhase,
    Deliver,
    DeviceAddress,
    EndReason,
    MediaDirection,
    Participant,
    ParticipantRole,
    ParticipantState,
)
from switchboard.calling.signaling.frames import (
    CallConverted,
    CallEnded,
    CallUpdated,
    IceCandidate,
    IncomingCall,
    ParticipantUpdated,
    Sdp,
)
from switchboard.calling.signaling.protocol import Candidate, Description, MediaFlags

__all__ = [
    "CallSession",
    "CallTimeouts",
    "Deliver",
    "Lifecycle",
    "LifecycleKind",
    "LifecycleParticipant",
    "Output",
]


EARLY_CANDIDATES = 64  # per ringing device, held until it accepts (a bound, not a need)
MAX_SCREEN_MIDS = 4  # screen-share mids relayed with one description (a bound, not a need)


Output = Deliver | Lifecycle


@dataclass(frozen=True, slots=True)
class CallTimeouts:
    ring_seconds: float = 85.0  # as ACS
    presence_seconds: float = 1.0  # how long to wait for nodes to report the callee's devices


class CallSession:
    def __init__(
        self,
        call_id: str,
        caller: str,
        caller_device: DeviceAddress,
        callee: str,
        *,
        offer: Description | None,
        media: MediaDirection,
        now: float,
        timeouts: CallTimeouts,
        caller_name: str = "",
    ) -> None:
        self.call_id = call_id
        self.phase = CallPhase.CONNECTING
        self.created_at = now
        self.ring_started_at = now  # a redirect rings its new callee from then
        # An app was offered the call: it rings until the ring timeout even with no device
        # of the callee (the app may answer), instead of ending at once with 480.
        self.held_for_app = False
        # The callee's offline devices were (or are being) pushed: it rings until the ring
        # timeout, as for an app, so a woken device can still answer (push/, docs/push.md).
        self.held_for_push = False
        self.connected_at: float | None = None
        self.ended_at: float | None = None
        self._timeouts = timeouts
        self._offer = offer
        self._ids = (f"p{n}" for n in itertools.count(1))
        self.caller = Participant(
            next(self._ids),
            caller,
            ParticipantRole.CALLER,
            ParticipantState.CONNECTED,
            device=caller_device,
            media=media,
            video_on=media.video,
            joined_at=now,
            display_name=caller_name,
        )
        self.participants: list[Participant] = [
            self.caller,
            Participant(next(self._ids), callee, ParticipantRole.CALLEE, ParticipantState.IDLE),
        ]
        self._pending: dict[str, list[Sdp | IceCandidate]] = {}  # participant id → its frames
        self._early: dict[str, list[IceCandidate]] = {}  # ringing device id → its candidates

    # ---- queries -------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.phase is CallPhase.ENDED

    def participant_of(self, device: DeviceAddress) -> Participant | None:
        for participant in self.participants:
            if participant.device == device or device.device_id in participant.ringing:
                return participant
        return None

    def devices(self) -> set[DeviceAddress]:
        found: set[DeviceAddress] = set()
        for participant in self.participants:
            if participant.device is not None:
                found.add(participant.device)
            found.update(participant.ringing.values())
        return found

    @property
    def held(self) -> bool:
        """Kept ringing with no device present (an app or a push may still answer)."""
        return self.held_for_app or self.held_for_push

    @property
    def callee(self) -> Participant:
        return self.participants[1]

    @property
    def ringing(self) -> bool:
        """Not answered yet, nor over: an app may still take it."""
        return self.phase in (CallPhase.CONNECTING, CallPhase.RINGING)

    def next_timer(self) -> float | None:
        started = self.ring_started_at
        if self.phase is CallPhase.CONNECTING and not self.held:
            return started + min(self._timeouts.presence_seconds, self._ring_seconds)
        if self.phase is CallPhase.CONNECTING:
            return started + self._ring_seconds
        if self.phase is CallPhase.RINGING:
            return started + self._ring_seconds
        return None

    @property
    def _ring_seconds(self) -> float:
        return self._timeouts.ring_seconds

    # ---- transitions ---------------------------------------------------------------------

    def start(self) -> list[Output]:
        started = self._lifecycle(LifecycleKind.CALL_STARTED, self.created_at)
        added = self._lifecycle(
            LifecycleKind.PARTICIPANT_ADDED, self.created_at, participant=self.caller
        )
        return [started, added, self._updated(self.caller)]

    def device_present(self, user_id: str, device: DeviceAddress, busy: bool) -> list[Output]:
        """A node reports a device of an invited user (answer to the invite)."""
        callee = self._callee_for(user_id)
        if callee is None:
            return []
        if self.phase not in (CallPhase.CONNECTING, CallPhase.RINGING):
            if self.ended or busy:
                return []
            return [self._ended_frame(device, m.ACCEPTED_ELSEWHERE)]
        if busy:
            callee.busy_devices.add(device.device_id)
            return []
        callee.ringing[device.device_id] = device
        out: list[Output] = [
            Deliver(
                device,
                IncomingCall(
                    self.caller.info(),
                    callee.id,
                    MediaFlags(self.caller.media.audio, self.caller.media.video),
                    self._offer,
                    self._ring_seconds,
                    call_id=self.call_id,
                ),
            )
        ]
        if self.phase is CallPhase.CONNECTING:
            self.phase = CallPhase.RINGING
            callee.state = ParticipantState.RINGING
            out.append(self._updated(self.caller))
        return out

    def accept(
        self,
        device: DeviceAddress,
        answer: Description,
        media: MediaDirection,
        now: float,
        display_name: str = "",
    ) -> list[Output]:
        callee = self._ringing_participant(device)
        if self.phase is not CallPhase.RINGING:
            raise CallStateError(f"The call is {self.phase.value}; it cannot be accepted.")
        others = [d for i, d in callee.ringing.items() if i != device.device_id]
        callee.ringing.clear()
        callee.device = device
        callee.media = media
        callee.video_on = media.video
        callee.state = ParticipantState.CONNECTED
        callee.joined_at = now
        callee.display_name = display_name
        self.phase = CallPhase.CONNECTED
        self.connected_at = now
        out: list[Output] = [self._ended_frame(d, m.ACCEPTED_ELSEWHERE) for d in others]
        out.append(self._lifecycle(LifecycleKind.PARTICIPANT_ADDED, now, participant=callee))
        assert self.caller.device is not None  # a connecting caller has its device
        out.append(Deliver(self.caller.device, Sdp(callee.id, answer, call_id=self.call_id)))
        out.append(self._updated(self.caller))
        out.append(self._updated(callee))
        for pending in self._pending.pop(callee.id, []):
            out.append(Deliver(device, pending))
        early = self._early.pop(device.device_id, [])
        if self.caller.device is not None:
            out += [Deliver(self.caller.device, candidate) for candidate in early]
        self._early.clear()  # the other devices' candidates: they did not answer
        return out

    def reject(self, device: DeviceAddress, busy: bool, now: float) -> list[Output]:
        self._ringing_participant(device)
        return self._end(m.BUSY if busy else m.DECLINED, now, ended_by=None, local=None)

    def hang_up(self, device: DeviceAddress, now: float) -> list[Output]:
        participant = self.participant_of(device)
        if participant is None or self.ended:
            raise CallStateError("This device is not in the call.")
        if participant.role is ParticipantRole.CALLER and self.phase is not CallPhase.CONNECTED:
            # The caller hanging up before an answer is a cancel.
            return self._end(m.CANCELLED, now, ended_by=participant, local=device)
        if participant.device != device:  # a ringing callee device hanging up declines
            return self.reject(device, busy=False, now=now)
        return self._end(m.REMOTE_HUNG_UP, now, ended_by=participant, local=device)

    def device_lost(self, device: DeviceAddress, reason: EndReason, now: float) -> list[Output]:
        """The device's socket is gone for good (grace expired, token revoked)."""
        participant = self.participant_of(device)
        if participant is None or self.ended:
            return []
        if participant.device != device:  # one of several ringing devices
            participant.ringing.pop(device.device_id, None)
            if participant.ringing or self.phase is not CallPhase.RINGING:
                return []
            return self._end(m.ENDPOINT_UNREACHABLE, now, ended_by=None, local=None)
        participant.device = None  # nothing can be delivered to it any more
        if participant.role is ParticipantRole.CALLER and self.phase is not CallPhase.CONNECTED:
            return self._end(m.CANCELLED, now, ended_by=participant, local=None)
        return self._end(m.PEER_DISCONNECTED, now, ended_by=participant, local=None)

    def relay(
        self,
        device: DeviceAddress,
        to: str | None,
        payload: Description | Candidate,
        screen_share_mids: list[str] | None = None,
    ) -> list[Output]:
        """An SDP description or ICE candidate for another participant's device (with the
        mids of the sender's screen-share m-lines, which the receiver shows apart)."""
        ringing = self._ringing_of(device)
        if ringing is not None and isinstance(payload, Candidate):
            # A callee device trickling before its accept: the caller gets them after the
            # answer (ICE would drop candidates that arrive before the remote description).
            early = self._early.setdefault(device.device_id, [])
            if len(early) >= EARLY_CANDIDATES:
                raise InvalidSignalError("Too many candidates before the answer.")
            early.append(IceCandidate(ringing.id, payload, call_id=self.call_id))
            return []
        sender = self._connected_participant(device)
        target = self._target(sender, to)
        mids = None if screen_share_mids is None else screen_share_mids[:MAX_SCREEN_MIDS]
        signal = self._signal(sender, payload, mids)
        if target.device is None:
            if target.state in (ParticipantState.RINGING, ParticipantState.IDLE):
                # Trickled before the answer: hand over once a device accepts.
                self._pending.setdefault(target.id, []).append(signal)
                return []
            raise CallStateError("The participant has no device in the call.")
        return [Deliver(target.device, signal)]

    def media_state(
        self,
        device: DeviceAddress,
        muted: bool | None,
        video_on: bool | None,
        screen_share_on: bool | None = None,
    ) -> list[Output]:
        participant = self._connected_participant(device)
        if muted is not None:
            participant.muted = muted
        if video_on is not None:
            participant.video_on = video_on
        if screen_share_on is not None:
            participant.screen_share_on = screen_share_on
        return self._participant_updated(participant)

    def hold(self, device: DeviceAddress, on_hold: bool) -> list[Output]:
        participant = self._connected_participant(device)
        if self.phase is not CallPhase.CONNECTED:
            raise CallStateError("Only a connected call can be held.")
        participant.state = ParticipantState.HOLD if on_hold else ParticipantState.CONNECTED
        return self._participant_updated(participant)

    # ---- an app's decision (Call Automation answered IncomingCall) -----------------------

    def convert(self, server_call_id: str, now: float) -> list[Output]:
        """An app answered: the callee's devices stop (487/10003); the caller's device is told
        to join the server call; this 1:1 call is over (Event Grid: it ended)."""
        callee = self._ringing_callee()
        devices = sorted(callee.ringing.values(), key=lambda d: (d.node, d.device_id))
        callee.ringing.clear()
        out: list[Output] = [self._ended_frame(d, m.ACCEPTED_ELSEWHERE) for d in devices]
        assert self.caller.device is not None  # a ringing call's caller has its device
        out.append(Deliver(self.caller.device, CallConverted(server_call_id, call_id=self.call_id)))
        self.caller.device = None  # it belongs to the server call now: _end tells it nothing
        return out + self._end(m.ACCEPTED_ELSEWHERE, now, ended_by=None, local=None)

    def refuse(self, reason: EndReason, now: float) -> list[Output]:
        """An app rejected the call: it ends for the caller and the ringing devices."""
        self._ringing_callee()
        return self._end(reason, now, ended_by=None, local=None)

    def redirect(self, user_id: str, now: float) -> list[Output]:
        """An app sends the call to ``user_id``: the callee's devices stop (487/0) and the new
        callee is looked for (the owner rings its devices) with a fresh ring timeout."""
        callee = self._ringing_callee()
        if user_id == self.caller.user_id:
            raise InvalidSignalError("A call cannot be redirected to its caller.")
        devices = sorted(callee.ringing.values(), key=lambda d: (d.node, d.device_id))
        out: list[Output] = [self._ended_frame(d, m.CANCELLED) for d in devices]
        # Same participant id: what the caller trickled for the callee reaches the new one.
        self.participants[1] = Participant(callee.id, user_id, ParticipantRole.CALLEE)
        self._early.clear()
        self.phase = CallPhase.CONNECTING
        self.ring_started_at = now
        self.held_for_app = False  # the app is out of it
        assert self.caller.device is not None
        out.append(self._updated(self.caller))
        return out

    def _ringing_callee(self) -> Participant:
        if not self.ringing:
            raise CallStateError(f"The call is {self.phase.value}: it no longer rings.")
        return self.participants[1]

    def handle_timer(self, now: float) -> list[Output]:
        deadline = self.next_timer()
        if deadline is None or now < deadline:
            return []
        if self.phase is CallPhase.CONNECTING:
            callee = self.participants[1]
            nobody = m.NOT_ANSWERED if self.held else m.NO_ENDPOINTS
            reason = m.BUSY if callee.busy_devices else nobody
            return self._end(reason, now, ended_by=None, local=None)
        return self._end(m.NOT_ANSWERED, now, ended_by=None, local=None)

    # ---- helpers -------------------------------------------------------------------------

    def _callee_for(self, user_id: str) -> Participant | None:
        for participant in self.participants:
            if participant.role is ParticipantRole.CALLEE and participant.user_id == user_id:
                return participant
        return None

    def _ringing_participant(self, device: DeviceAddress) -> Participant:
        participant = self._ringing_of(device)
        if participant is None:
            raise CallStateError("This device is not ringing for the call.")
        return participant

    def _ringing_of(self, device: DeviceAddress) -> Participant | None:
        for participant in self.participants:
            if participant.ringing.get(device.device_id) == device:
                return participant
        return None

    def _connected_participant(self, device: DeviceAddress) -> Participant:
        for participant in self.participants:
            if participant.device == device:
                return participant
        raise CallStateError("This device is not connected to the call.")

    def _target(self, sender: Participant, to: str | None) -> Participant:
        others = [p for p in self.participants if p is not sender]
        if to is None and len(others) == 1:
            return others[0]
        for participant in others:
            if participant.id == to:
                return participant
        raise InvalidSignalError(f"No participant '{to}' in the call.")

    def _signal(
        self,
        sender: Participant,
        payload: Description | Candidate,
        screen_share_mids: list[str] | None = None,
    ) -> Sdp | IceCandidate:
        if isinstance(payload, Description):
            return Sdp(
                sender.id, payload, screen_share_mids=screen_share_mids, call_id=self.call_id
            )
        return IceCandidate(sender.id, payload, call_id=self.call_id)

    def _updated(self, participant: Participant) -> Deliver:
        assert participant.device is not None
        return Deliver(
            participant.device,
            CallUpdated(
                self.phase.value,
                participant.id,
                [p.info() for p in self.participants if p is not participant],
                call_id=self.call_id,
            ),
        )

    def _participant_updated(self, participant: Participant) -> list[Output]:
        updated = ParticipantUpdated(participant.info(), call_id=self.call_id)
        return [
            Deliver(other.device, updated)
            for other in self.participants
            if other is not participant and other.device is not None
        ]

    def _ended_frame(self, device: DeviceAddress, reason: EndReason) -> Deliver:
        return Deliver(device, CallEnded(reason.info(), call_id=self.call_id))

    def _end(
        self,
        reason: EndReason,
        now: float,
        *,
        ended_by: Participant | None,
        local: DeviceAddress | None,
    ) -> list[Output]:
        """End the call for everyone; ``local`` (the device that hung up) gets 0/0."""
        out: list[Output] = []
        for device in sorted(self.devices(), key=lambda d: (d.node, d.device_id)):
            out.append(self._ended_frame(device, m.HUNG_UP if device == local else reason))
        for participant in self.participants:
            participant.ringing.clear()
            if participant.joined_at is not None:
                participant.state = ParticipantState.DISCONNECTED
                out.append(
                    self._lifecycle(LifecycleKind.PARTICIPANT_REMOVED, now, participant=participant)
                )
        self.phase = CallPhase.ENDED
        self.ended_at = now
        out.append(
            self._lifecycle(
                LifecycleKind.CALL_ENDED,
                now,
                reason=reason,
                ended_by=ended_by.user_id if ended_by is not None else None,
                duration=now - self.connected_at if self.connected_at is not None else 0.0,
            )
        )
        return out

    def _lifecycle(self, kind: LifecycleKind, at: float, **fields: Any) -> Lifecycle:
        return Lifecycle(kind, self.call_id, at, self.caller.user_id, **fields)
