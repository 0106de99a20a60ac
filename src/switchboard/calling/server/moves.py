"""Moving a member from one server call to another of the same owner (ACS moveParticipants).

    a device ─▶ the target call gets a move invitation that "rings" only that device (no
        incomingCall) ─▶ the source releases the member (its transport closes; the others
        hear it left; the device is told nothing there) ─▶ the device gets
        callMoved {callId: source, toCallId: target} ─▶ it accepts the target with a new
        offer, as an invited device would ─▶ InviteAccepted (the app: MoveParticipantSucceeded)
        not within MOVE_SECONDS ─▶ 487/10004 to the device, InviteFailed
    a phone (a leg member) ─▶ it joins the target (a new LocalLeg there; its sink moves the
        phone's media onto it and closes the old one) ─▶ the source releases the old member
        ─▶ InviteAccepted at once

Nobody rings again. Both calls must be this node's (their media is on this SFU); the app's
side refuses the rest (automation/move_ops.py).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from switchboard.calling.conference.conference import is_server_call
from switchboard.calling.conference.group import LegSink, Member
from switchboard.calling.errors import CallStateError
from switchboard.calling.models import Deliver
from switchboard.calling.server.host import (
    ServerCall,
    ServerCallHost,
    participant_of,
)
from switchboard.calling.server.invitation import Invitation
from switchboard.calling.server.models import InviteAccepted
from switchboard.calling.signaling.frames import CallMoved

MOVE_SECONDS = 15.0  # a moved device has this long to rejoin with its new offer


@runtime_checkable
class MovableLeg(LegSink, Protocol):
    """A leg member's owner that can follow it into another call (calling/pstn)."""

    async def rejoin(self, call_id: str, member_id: str) -> None:
        """Put the phone's media on a new leg in ``call_id`` as ``member_id``; the old leg
        closes. Runs inside the target conference's join (its ``attach``)."""
        ...


async def move_member(
    host: ServerCallHost,
    to_call_id: str,
    from_call_id: str,
    raw_id: str,
    *,
    invitation_id: str,
    seconds: float = MOVE_SECONDS,
) -> None:
    """Move ``raw_id`` from one server call of this node to another; the target call's app
    hears InviteAccepted / InviteFailed of ``invitation_id``."""
    if to_call_id == from_call_id:
        raise CallStateError("A participant cannot be moved into the call it is in.")
    target = host.call(to_call_id)
    source = host.call(from_call_id)
    member = source.member_for(raw_id)
    if target.pending_for(raw_id) is not None or invitation_id in target.invitations:
        raise CallStateError(f"'{raw_id}' is being invited to the call already.")
    if any(m.user_id == raw_id for m in target.conference.group.connected()):
        raise CallStateError(f"'{raw_id}' is in the call already.")
    if member.device is not None:
        if not is_server_call(to_call_id):  # a device rejoins by accepting an invitation
            raise CallStateError("A device can be moved into a server call only.")
        await _move_device(host, target, source, member, invitation_id, seconds)
    elif isinstance(member.leg, MovableLeg):
        await _move_leg(target, source, member, member.leg, invitation_id)
    else:
        raise CallStateError(f"'{raw_id}' cannot be moved.")


async def _move_device(
    host: ServerCallHost,
    target: ServerCall,
    source: ServerCall,
    member: Member,
    invitation_id: str,
    seconds: float,
) -> None:
    device = member.device
    assert device is not None
    # (no incomingCall is sent for a move: the caller is only the invitation's bookkeeping)
    invitation = Invitation.expecting(
        invitation_id,
        target.call_id,
        member.user_id,
        device,
        host.app_caller(),
        now=host.now(),
        seconds=seconds,
    )
    host.add_invitation(target, invitation)
    conference = source.conference
    await conference.run(lambda: conference.release_member(member.id))
    moved = CallMoved(to_call_id=target.call_id, call_id=source.call_id)
    host.deliver([Deliver(device, moved)])


async def _move_leg(
    target: ServerCall, source: ServerCall, member: Member, leg: MovableLeg, invitation_id: str
) -> None:
    to_call = target.call_id

    async def attach(member_id: str) -> None:
        await leg.rejoin(to_call, member_id)

    conference = target.conference
    joined = await conference.run(
        lambda: conference.join_leg(member.user_id, member.display_name, leg, attach)
    )
    old = source.conference
    await old.run(lambda: old.release_member(member.id))
    target.emit(InviteAccepted(invitation_id, participant_of(joined)))
