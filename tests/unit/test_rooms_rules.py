"""Rooms rules without storage: validity windows (fake clock), roles, ids, permissions."""

from __future__ import annotations

import msgspec
import pytest

from switchboard.core.clock import FakeClock
from switchboard.core.errors import BadRequestError
from switchboard.rooms.events import RoomParticipantsChanged, decode_room_event, encode_room_event
from switchboard.rooms.models import (
    DAY_MS,
    MAX_WINDOW_MS,
    ParticipantRole,
    Permission,
    Room,
    check_invitable,
    check_room_id,
    new_room_id,
    parse_role,
    permissions,
)
from switchboard.rooms.validity import Window, changed_window, new_window

NOW = int(FakeClock().now() * 1000)


def target_of(error: pytest.ExceptionInfo[BadRequestError]) -> str | None:
    """The field ACS names: in the one nested detail (the top level is generic)."""
    [detail] = error.value.details
    assert detail.error_code == "BadArgument"
    return detail.target


def test_defaults_are_now_and_180_days_later() -> None:
    assert new_window(NOW, None, None) == Window(NOW, NOW + MAX_WINDOW_MS)
    start = NOW + 3 * DAY_MS
    assert new_window(NOW, start, None) == Window(start, start + MAX_WINDOW_MS)
    assert new_window(NOW, None, NOW + DAY_MS) == Window(NOW, NOW + DAY_MS)


def test_window_may_start_in_the_past_but_must_end_in_the_future() -> None:
    assert new_window(NOW, NOW - DAY_MS, NOW + DAY_MS) == Window(NOW - DAY_MS, NOW + DAY_MS)
    with pytest.raises(BadRequestError) as caught:
        new_window(NOW, NOW - 2 * DAY_MS, NOW - DAY_MS)
    assert target_of(caught) == "ValidUntil"
    assert "in the past" in caught.value.details[0].message
    with pytest.raises(BadRequestError):
        new_window(NOW, None, NOW)  # ending exactly now is already over


def test_limits_of_180_days() -> None:
    assert new_window(NOW, NOW + MAX_WINDOW_MS, None).valid_from_ms == NOW + MAX_WINDOW_MS
    with pytest.raises(BadRequestError) as caught:
        new_window(NOW, NOW + MAX_WINDOW_MS + 1, None)
    assert target_of(caught) == "ValidFrom"
    assert new_window(NOW, NOW, NOW + MAX_WINDOW_MS).valid_until_ms == NOW + MAX_WINDOW_MS
    with pytest.raises(BadRequestError) as caught:
        new_window(NOW, NOW, NOW + MAX_WINDOW_MS + 1)
    assert target_of(caught) == "ValidUntil"


def test_end_before_start_is_refused() -> None:
    with pytest.raises(BadRequestError) as caught:
        new_window(NOW, NOW + 2 * DAY_MS, NOW + DAY_MS)
    assert target_of(caught) == "ValidUntil"
    with pytest.raises(BadRequestError):
        new_window(NOW, NOW + DAY_MS, NOW + DAY_MS)  # empty window


def test_update_merges_with_the_current_window() -> None:
    clock = FakeClock()
    room = Room("1" * 17, NOW, NOW, NOW + DAY_MS)
    now = int(clock.now() * 1000)
    assert changed_window(room, now, None, NOW + 2 * DAY_MS) == Window(NOW, NOW + 2 * DAY_MS)
    assert changed_window(room, now, NOW + 1000, None) == Window(NOW + 1000, NOW + DAY_MS)
    with pytest.raises(BadRequestError):
        changed_window(room, now, NOW + 2 * DAY_MS, None)  # would end before it starts


def test_update_of_an_ended_room() -> None:
    clock = FakeClock()
    room = Room("1" * 17, NOW, NOW, NOW + DAY_MS)
    clock.advance(2 * 86400)
    later = int(clock.now() * 1000)
    # Leaving the window alone is fine (e.g. toggling dial-out) ...
    assert changed_window(room, later, None, None) == Window(NOW, NOW + DAY_MS)
    # ... but touching it must give a window that has not ended.
    with pytest.raises(BadRequestError):
        changed_window(room, later, NOW + 1, None)
    assert changed_window(room, later, None, later + DAY_MS) == Window(NOW, later + DAY_MS)


def test_room_is_open_within_its_window() -> None:
    room = Room("1" * 17, NOW, NOW + 10, NOW + 20)
    assert [room.is_open(t) for t in (NOW + 9, NOW + 10, NOW + 19, NOW + 20)] == [
        False,
        True,
        True,
        False,
    ]


def test_roles() -> None:
    assert parse_role(None) is ParticipantRole.ATTENDEE
    assert parse_role("presenter") is ParticipantRole.PRESENTER
    assert parse_role(" Collaborator ") is ParticipantRole.COLLABORATOR
    with pytest.raises(BadRequestError) as caught:
        parse_role("Kafka")
    assert "Kafka" in caught.value.message


def test_who_can_be_invited() -> None:
    assert check_invitable("8:acs:r_u") == "8:acs:r_u"
    assert check_invitable("8:orgid:abc") == "8:orgid:abc"
    for bad in ("", "wrong_mri", "4:+14255550123", "28:orgid:bot"):
        with pytest.raises(BadRequestError):
            check_invitable(bad)


def test_room_ids() -> None:
    ids = {new_room_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 17 and i.isdigit() and i[0] != "0" for i in ids)
    assert all(check_room_id(i) == i for i in ids)
    for bad in ("123", "invalid_id", "1" * 30, "１" * 17):
        with pytest.raises(BadRequestError):
            check_room_id(bad)


def test_permissions_follow_the_role_table() -> None:
    room = Room("1" * 17, NOW, NOW, NOW + DAY_MS, pstn_dial_out_enabled=True)
    assert permissions(ParticipantRole.PRESENTER, room) == frozenset(Permission)
    assert permissions(ParticipantRole.CONSUMER, room) == {Permission.JOIN}
    assert Permission.SHARE_SCREEN not in permissions(ParticipantRole.ATTENDEE, room)
    assert Permission.MANAGE_PARTICIPANTS not in permissions(ParticipantRole.COLLABORATOR, room)
    assert permissions(None, room) == frozenset()
    closed = Room(room.id, NOW, NOW, NOW + DAY_MS, pstn_dial_out_enabled=False)
    assert Permission.DIAL_OUT not in permissions(ParticipantRole.PRESENTER, closed)


def test_a_roster_change_travels_as_a_typed_event() -> None:
    event = RoomParticipantsChanged("99561232344012345")
    data = encode_room_event(event)
    assert data == b'{"type":"participantsChanged","room_id":"99561232344012345"}'
    assert decode_room_event(data) == event
    with pytest.raises(msgspec.DecodeError):
        decode_room_event(b"99561232344012345")  # the bare id the bus carried before
