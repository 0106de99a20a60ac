"""GroupCall (group.py), the sans-I/O rules of a group or Room call: the lobby, roles, the
participant limit and voip.join. No media, no sockets: only the frames each rule produces."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from switchboard.calling.conference.group import (
    LOBBY_REJECTED,
    ROSTER_REMOVED,
    CallFullError,
    GroupCall,
    Member,
    MemberState,
)
from switchboard.calling.errors import CallNotAllowedError, CallPermissionError
from switchboard.calling.models import Deliver, DeviceAddress
from switchboard.media.streams import MediaKind
from switchboard.rooms.models import ParticipantRole, Room, permissions

T0 = 1000.0
ROOM = Room("99000000000000001", 0, 0, 10**13)


def room_call(max_participants: int = 350) -> GroupCall:
    return GroupCall("room:" + ROOM.id, room_id=ROOM.id, max_participants=max_participants)


def group_call(max_participants: int = 350) -> GroupCall:
    return GroupCall("group:g", room_id=None, max_participants=max_participants)


def join(call: GroupCall, name: str, role: ParticipantRole | None) -> Member:
    """A device of user ``name`` joins: roster members with their role, others to the lobby."""
    member = call.add(
        f"8:acs:{name}",
        DeviceAddress("n", name),
        role.value if role is not None else None,
        permissions(role, ROOM),
        lobby=role is None and call.room_id is not None,
        now=T0,
    )
    call.joined(member)
    return member


def frames_to(outputs: list[Deliver], member: Member, kind: str) -> list[dict[str, Any]]:
    """The ``kind`` frames for the member, as they go on the wire (less "v" and "seq")."""
    wire = [msgspec.to_builtins(o.frame) for o in outputs if o.to == member.device]
    return [frame for frame in wire if frame["type"] == kind]


# ── the lobby ────────────────────────────────────────────────────────────────────────────


def test_an_off_roster_user_waits_in_the_lobby_and_presenters_are_told() -> None:
    call = room_call()
    presenter = join(call, "p", ParticipantRole.PRESENTER)
    attendee = join(call, "a", ParticipantRole.ATTENDEE)
    guest = call.add("8:acs:g", DeviceAddress("n", "g"), None, frozenset(), lobby=True, now=T0)
    out = call.joined(guest)
    assert guest.state is MemberState.IN_LOBBY
    [lobby] = frames_to(out, presenter, "lobbyParticipantsUpdated")
    assert [p["participantId"] for p in lobby["lobby"]] == [guest.id]
    assert frames_to(out, attendee, "lobbyParticipantsUpdated") == []  # not a manager
    assert frames_to(out, attendee, "participantsUpdated") == []  # not in the call yet


def test_a_presenter_admits_a_lobby_member_as_an_attendee() -> None:
    call = room_call()
    presenter = join(call, "p", ParticipantRole.PRESENTER)
    guest = join(call, "g", None)
    [admitted], out = call.admit(presenter, [guest.id])
    assert admitted is guest and guest.state is MemberState.CONNECTED
    [lobby] = frames_to(out, presenter, "lobbyParticipantsUpdated")
    assert lobby["lobby"] == []  # the presenter's lobby list drops the admitted guest
    assert guest.role == "Attendee"
    assert guest.may_publish(MediaKind.AUDIO, screen_share=False)
    assert not guest.may_publish(MediaKind.VIDEO, screen_share=True)


@pytest.mark.parametrize(
    "role", [ParticipantRole.ATTENDEE, ParticipantRole.CONSUMER, ParticipantRole.COLLABORATOR]
)
def test_only_presenters_admit_or_reject(role: ParticipantRole) -> None:
    call = room_call()
    member = join(call, "m", role)
    guest = join(call, "g", None)
    with pytest.raises(CallPermissionError):
        call.admit(member, [guest.id])
    with pytest.raises(CallPermissionError):
        call.reject(member, [guest.id])
    assert guest.state is MemberState.IN_LOBBY


def test_a_lobby_member_cannot_admit_another() -> None:
    call = room_call()
    join(call, "p", ParticipantRole.PRESENTER)
    first, second = join(call, "g1", None), join(call, "g2", None)
    first.permissions = permissions(ParticipantRole.PRESENTER, ROOM)  # even with the right
    with pytest.raises(CallPermissionError):
        call.admit(first, [second.id])


def test_a_rejected_lobby_member_is_ended_with_403_5854() -> None:
    call = room_call()
    presenter = join(call, "p", ParticipantRole.PRESENTER)
    guest = join(call, "g", None)
    out = call.reject(presenter, [guest.id])
    [ended] = frames_to(out, guest, "callEnded")
    assert ended["reason"] == LOBBY_REJECTED.json()
    assert guest.id not in call.members
    [lobby] = frames_to(out, presenter, "lobbyParticipantsUpdated")
    assert lobby["lobby"] == []


# ── roles ────────────────────────────────────────────────────────────────────────────────


def test_a_consumer_cannot_publish_anything() -> None:
    consumer = join(room_call(), "c", ParticipantRole.CONSUMER)
    assert not consumer.may_publish(MediaKind.AUDIO, screen_share=False)
    assert not consumer.may_publish(MediaKind.VIDEO, screen_share=False)
    assert not consumer.may_publish(MediaKind.VIDEO, screen_share=True)


def test_an_attendee_talks_but_cannot_share_the_screen_and_a_presenter_can() -> None:
    call = room_call()
    attendee = join(call, "a", ParticipantRole.ATTENDEE)
    presenter = join(call, "p", ParticipantRole.PRESENTER)
    assert attendee.may_publish(MediaKind.VIDEO, screen_share=False)
    assert not attendee.may_publish(MediaKind.VIDEO, screen_share=True)
    assert presenter.may_publish(MediaKind.VIDEO, screen_share=True)


def test_a_role_change_is_told_to_the_member_and_to_the_others_and_applies_at_once() -> None:
    call = room_call()
    presenter = join(call, "p", ParticipantRole.PRESENTER)
    consumer = join(call, "c", ParticipantRole.CONSUMER)
    out = call.set_role(consumer, "Attendee", permissions(ParticipantRole.ATTENDEE, ROOM))
    [own] = frames_to(out, consumer, "callUpdated")
    assert own["role"] == "Attendee"
    [seen] = frames_to(out, presenter, "participantUpdated")
    assert seen["participant"]["role"] == "Attendee"
    assert consumer.may_publish(MediaKind.AUDIO, screen_share=False)


def test_a_member_removed_from_the_roster_is_ended_with_403_5855_and_leaves_the_roster() -> None:
    call = room_call()
    presenter = join(call, "p", ParticipantRole.PRESENTER)
    attendee = join(call, "a", ParticipantRole.ATTENDEE)
    out = call.remove(attendee.id, ROSTER_REMOVED)
    [ended] = frames_to(out, attendee, "callEnded")
    assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (403, 5855)
    [gone] = frames_to(out, presenter, "participantsUpdated")
    assert [p["participantId"] for p in gone["removed"]] == [attendee.id]
    assert not call.empty  # the presenter is still in


# ── limits and tokens ────────────────────────────────────────────────────────────────────


def test_the_participant_limit_counts_the_lobby_too() -> None:
    call = room_call(max_participants=2)
    join(call, "p", ParticipantRole.PRESENTER)
    join(call, "g", None)
    with pytest.raises(CallFullError) as full:
        join(call, "late", ParticipantRole.ATTENDEE)
    assert full.value.error_code == "ParticipantLimitReached"


def test_a_place_frees_up_when_someone_leaves() -> None:
    call = group_call(max_participants=1)
    first = join(call, "a", None)
    call.remove(first.id, None)
    assert join(call, "b", None).state is MemberState.CONNECTED


def test_a_voip_join_token_cannot_start_a_group_call_but_joins_a_running_one() -> None:
    call = group_call()
    with pytest.raises(CallNotAllowedError):
        call.add(
            "8:acs:j",
            DeviceAddress("n", "j"),
            None,
            frozenset(),
            lobby=False,
            now=T0,
            join_only=True,
        )
    join(call, "starter", None)
    member = call.add(
        "8:acs:j", DeviceAddress("n", "j"), None, frozenset(), lobby=False, now=T0, join_only=True
    )
    assert member.state is MemberState.CONNECTED


def test_a_voip_join_token_may_open_a_room_call() -> None:
    call = room_call()
    member = call.add(
        "8:acs:j",
        DeviceAddress("n", "j"),
        "Attendee",
        permissions(ParticipantRole.ATTENDEE, ROOM),
        lobby=False,
        now=T0,
        join_only=True,
    )
    assert member.state is MemberState.CONNECTED


def test_members_carry_their_display_name_to_the_others() -> None:
    call = group_call()
    first = join(call, "a", None)
    second = call.add("8:acs:b", DeviceAddress("n", "b"), None, frozenset(), lobby=False, now=T0)
    second.display_name = "Bob"
    out = call.joined(second)
    [added] = frames_to(out, first, "participantsUpdated")
    assert added["added"][0]["displayName"] == "Bob"
