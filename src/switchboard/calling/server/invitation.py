"""Invitation: one user rung for a server call, on the call's owning node. Sans-I/O.

Every registered device of the user rings (on any node, as for a 1:1 call: the router's
invite, then ``Present`` from each node that has one). Methods return the frames to deliver;
``next_timer()`` says when ``handle_timer(now)`` must run; ``state`` and ``failure`` say how
it ended.

    LOOKING ──device_present──▶ RINGING ──accept──▶ ACCEPTED (the device joins the conference;
       │ no device in the presence    │              the others: callEnded 487/10003)
       │ window: FAILED 480/10037     │ reject: FAILED 603/0 (486/0 busy), every device told
       │ (486/0 if all were busy)     │ timeout: FAILED 487/10004, every device told
       │                              │ last ringing device lost: FAILED 480/10078
       └──────────────────────────────┴ cancel (the app, or the call ended): CANCELED 487/0

With push (``held_for_push``: a ringer is pushing the user's devices that have no socket) it
keeps LOOKING until the ring timeout (487/10004), so a woken device can still report itself,
unless the ringer releases it (nothing pushed: 480 as above).

A move (``moving``) starts RINGING on the one device being moved, with no incomingCall: the
device was told ``callMoved`` and accepts with a new offer; not within the timeout: 487/10004.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from switchboard.calling import models as m
from switchboard.calling.errors import CallStateError
from switchboard.calling.models import Deliver, DeviceAddress, EndReason
from switchboard.calling.signaling.frames import CallEnded, IncomingCall
from switchboard.calling.signaling.protocol import MediaFlags, ParticipantInfo

# The invitation timed out: the same pair ACS's calling SDK reports to the devices.
INVITE_TIMED_OUT = m.NOT_ANSWERED


class InvitationState(StrEnum):
    LOOKING = "Looking"  # waiting for the nodes to report the user's devices
    RINGING = "Ringing"
    ACCEPTED = "Accepted"
    FAILED = "Failed"
    CANCELED = "Canceled"


class InvitationRinger(Protocol):
    """Wakes an invited user's devices that have no socket (push/, through app/); must not
    block. An invitation it rings keeps looking until its ring timeout (``held_for_push``)
    unless the host's ``release_push_hold`` is called."""

    def ringing(self, call_id: str, invitation: Invitation) -> None:
        """The user is being looked for: push the devices that are not present."""
        ...

    def settled(self, call_id: str, invitation: Invitation) -> None:
        """An invitation it rang is over (accepted, failed, canceled)."""
        ...


class Invitation:
    def __init__(
        self,
        invitation_id: str,
        call_id: str,
        user_id: str,
        caller: ParticipantInfo,
        *,
        now: float,
        ring_seconds: float,
        presence_seconds: float,
    ) -> None:
        self.invitation_id = invitation_id
        self.call_id = call_id
        self.user_id = user_id
        self.state = InvitationState.LOOKING
        self.failure: EndReason | None = None
        self.accepted_by: DeviceAddress | None = None
        self._caller = caller
        self._created_at = now
        self._ring_seconds = ring_seconds
        self._presence_seconds = presence_seconds
        self._ringing: dict[str, DeviceAddress] = {}
        self._busy: set[str] = set()
        self.held_for_push = False  # offline devices pushed: looks until the ring timeout

    @classmethod
    def expecting(
        cls,
        invitation_id: str,
        call_id: str,
        user_id: str,
        device: DeviceAddress,
        caller: ParticipantInfo,
        *,
        now: float,
        seconds: float,
    ) -> Invitation:
        """One device expected without ringing it (moved here from another call, or a 1:1
        caller an app answered): it may accept until ``seconds`` pass."""
        invitation = cls(
            invitation_id,
            call_id,
            user_id,
            caller,
            now=now,
            ring_seconds=seconds,
            presence_seconds=seconds,
        )
        invitation.state = InvitationState.RINGING
        invitation._ringing[device.device_id] = device
        return invitation

    @property
    def pending(self) -> bool:
        return self.state in (InvitationState.LOOKING, InvitationState.RINGING)

    @property
    def caller(self) -> ParticipantInfo:
        return self._caller

    @property
    def expires_at(self) -> float:
        """When it stops ringing if nobody answers."""
        return self._created_at + self._ring_seconds

    @property
    def devices_seen(self) -> set[str]:
        """Ids of the user's devices that reported themselves (ringing or busy)."""
        return {*self._ringing, *self._busy}

    def rings(self, device: DeviceAddress) -> bool:
        return self._ringing.get(device.device_id) == device

    def next_timer(self) -> float | None:
        if self.state is InvitationState.LOOKING and not self.held_for_push:
            return self._created_at + min(self._presence_seconds, self._ring_seconds)
        if self.state in (InvitationState.LOOKING, InvitationState.RINGING):
            return self._created_at + self._ring_seconds
        return None

    # ── transitions ──────────────────────────────────────────────────────────────────

    def device_present(self, device: DeviceAddress, busy: bool) -> list[Deliver]:
        if not self.pending:
            # Rang too late (answered elsewhere, or over): tell a free device at once.
            return [] if busy else [self._ended(device, m.ACCEPTED_ELSEWHERE)]
        if busy:
            self._busy.add(device.device_id)
            return []
        self._ringing[device.device_id] = device
        self.state = InvitationState.RINGING
        incoming = IncomingCall(
            self._caller,
            self.invitation_id,
            MediaFlags(audio=True, video=False),
            None,
            self._ring_seconds,
            conference=True,
            call_id=self.call_id,
        )
        return [Deliver(device, incoming)]

    def accept(self, device: DeviceAddress) -> list[Deliver]:
        """The device joins (the conference does that); the user's other devices stop."""
        if self.state is not InvitationState.RINGING or not self.rings(device):
            raise CallStateError("This device is not ringing for the call.")
        others = [d for d in self._ringing.values() if d != device]
        self._ringing.clear()
        self.state = InvitationState.ACCEPTED
        self.accepted_by = device
        return [self._ended(d, m.ACCEPTED_ELSEWHERE) for d in others]

    def reject(self, device: DeviceAddress, busy: bool) -> list[Deliver]:
        if self.state is not InvitationState.RINGING or not self.rings(device):
            raise CallStateError("This device is not ringing for the call.")
        return self._fail(m.BUSY if busy else m.DECLINED)

    def cancel(self) -> list[Deliver]:
        """The app canceled it (or the call ended): every ringing device is told 487/0."""
        if not self.pending:
            return []
        out = self._tell_all(m.CANCELLED)
        self.state = InvitationState.CANCELED
        return out

    def device_lost(self, device: DeviceAddress) -> list[Deliver]:
        if self._ringing.pop(device.device_id, None) is None or self._ringing:
            return []
        return self._fail(m.ENDPOINT_UNREACHABLE)

    def joined_failed(self, reason: EndReason) -> None:
        """The accepting device could not join (a broken offer): the invitation failed."""
        self.state = InvitationState.FAILED
        self.failure = reason

    def handle_timer(self, now: float) -> list[Deliver]:
        deadline = self.next_timer()
        if deadline is None or now < deadline:
            return []
        if self.state is InvitationState.LOOKING:
            nobody = INVITE_TIMED_OUT if self.held_for_push else m.NO_ENDPOINTS
            return self._fail(m.BUSY if self._busy else nobody)
        return self._fail(INVITE_TIMED_OUT)

    # ── helpers ──────────────────────────────────────────────────────────────────────

    def _fail(self, reason: EndReason) -> list[Deliver]:
        out = self._tell_all(reason)
        self.state = InvitationState.FAILED
        self.failure = reason
        return out

    def _tell_all(self, reason: EndReason) -> list[Deliver]:
        devices = sorted(self._ringing.values(), key=lambda d: (d.node, d.device_id))
        self._ringing.clear()
        return [self._ended(device, reason) for device in devices]

    def _ended(self, device: DeviceAddress, reason: EndReason) -> Deliver:
        return Deliver(device, CallEnded(reason.info(), call_id=self.call_id))
