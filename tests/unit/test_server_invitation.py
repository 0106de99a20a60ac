"""Invitation, the sans-I/O ringing of one user for a server call: every outcome, no sockets."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from switchboard.calling.errors import CallStateError
from switchboard.calling.models import Deliver, DeviceAddress, participant_info
from switchboard.calling.server.invitation import Invitation, InvitationState

T0 = 1000.0
BOB = "8:acs:r_bob"
PHONE, LAPTOP = DeviceAddress("a", "bob-phone"), DeviceAddress("b", "bob-laptop")
APP = participant_info(
    "app", "4:+14255550100", "Contoso", "caller", "Connected", muted=False, video_on=False
)


def new_invitation(ring: float = 30.0, presence: float = 1.0) -> Invitation:
    return Invitation(
        "inv-1", "server:c", BOB, APP, now=T0, ring_seconds=ring, presence_seconds=presence
    )


def wire(outputs: list[Deliver]) -> list[tuple[DeviceAddress, dict[str, Any]]]:
    return [(o.to, msgspec.to_builtins(o.frame)) for o in outputs]


def ended(outputs: list[Deliver]) -> dict[DeviceAddress, tuple[int, int]]:
    found = {}
    for to, frame in wire(outputs):
        assert frame["type"] == "callEnded"
        found[to] = (frame["reason"]["code"], frame["reason"]["subCode"])
    return found


def ringing(ring: float = 30.0) -> Invitation:
    invitation = new_invitation(ring)
    invitation.device_present(PHONE, busy=False)
    invitation.device_present(LAPTOP, busy=False)
    return invitation


def test_each_device_rings_with_a_conference_invitation_that_carries_no_offer() -> None:
    invitation = new_invitation()
    [(to, frame)] = wire(invitation.device_present(PHONE, busy=False))
    assert to == PHONE and frame["type"] == "incomingCall"
    assert frame["conference"] is True and frame["offer"] is None
    assert frame["caller"]["identifier"] == {
        "rawId": "4:+14255550100",
        "phoneNumber": {"value": "+14255550100"},
    }
    assert frame["caller"]["displayName"] == "Contoso"
    assert frame["ringTimeoutSeconds"] == 30.0
    assert invitation.state is InvitationState.RINGING


def test_accepting_on_one_device_ends_the_others_as_accepted_elsewhere() -> None:
    invitation = ringing()
    assert ended(invitation.accept(LAPTOP)) == {PHONE: (487, 10003)}
    assert invitation.state is InvitationState.ACCEPTED and invitation.accepted_by == LAPTOP
    with pytest.raises(CallStateError):
        invitation.accept(PHONE)


@pytest.mark.parametrize(("busy", "code"), [(False, (603, 0)), (True, (486, 0))])
def test_a_rejection_fails_the_invitation_and_stops_every_device(
    busy: bool, code: tuple[int, int]
) -> None:
    invitation = ringing()
    assert ended(invitation.reject(PHONE, busy)) == {PHONE: code, LAPTOP: code}
    assert invitation.state is InvitationState.FAILED
    assert (
        invitation.failure is not None
        and (invitation.failure.code, invitation.failure.sub_code) == code
    )


def test_nobody_answering_in_time_fails_with_487_10004_everywhere() -> None:
    invitation = ringing(ring=20.0)
    assert invitation.next_timer() == T0 + 20.0
    assert invitation.handle_timer(T0 + 19.0) == []
    assert ended(invitation.handle_timer(T0 + 20.0)) == {PHONE: (487, 10004), LAPTOP: (487, 10004)}
    assert invitation.failure is not None and invitation.failure.sub_code == 10004
    assert invitation.next_timer() is None


def test_a_user_without_devices_fails_with_480_10037_after_the_presence_window() -> None:
    invitation = new_invitation(presence=1.0)
    assert invitation.next_timer() == T0 + 1.0
    assert invitation.handle_timer(T0 + 1.0) == []
    assert invitation.failure is not None
    assert (invitation.failure.code, invitation.failure.sub_code) == (480, 10037)


def test_a_user_whose_devices_are_all_busy_fails_with_486() -> None:
    invitation = new_invitation()
    assert invitation.device_present(PHONE, busy=True) == []
    invitation.handle_timer(T0 + 1.0)
    assert invitation.failure is not None and invitation.failure.code == 486


def test_cancel_stops_the_ringing_devices_with_487_0() -> None:
    invitation = ringing()
    assert ended(invitation.cancel()) == {PHONE: (487, 0), LAPTOP: (487, 0)}
    assert invitation.state is InvitationState.CANCELED
    assert invitation.cancel() == []


def test_losing_the_last_ringing_device_fails_with_480_10078() -> None:
    invitation = ringing()
    assert invitation.device_lost(PHONE) == [] and invitation.pending
    invitation.device_lost(LAPTOP)
    assert invitation.failure is not None
    assert (invitation.failure.code, invitation.failure.sub_code) == (480, 10078)


def test_a_device_reported_after_the_answer_is_ended_at_once() -> None:
    invitation = ringing()
    invitation.accept(PHONE)
    late = DeviceAddress("c", "bob-tablet")
    assert ended(invitation.device_present(late, busy=False)) == {late: (487, 10003)}
    assert invitation.device_present(late, busy=True) == []


def test_held_for_push_it_looks_until_the_ring_timeout_and_a_woken_device_rings() -> None:
    invitation = new_invitation(ring=30.0, presence=1.0)
    invitation.held_for_push = True  # the user's offline devices are being pushed
    assert invitation.next_timer() == T0 + 30.0
    assert invitation.handle_timer(T0 + 1.0) == []  # past the presence window: still looking
    assert invitation.pending and invitation.devices_seen == set()
    [(to, frame)] = wire(invitation.device_present(PHONE, busy=False))  # woken by the push
    assert to == PHONE and frame["type"] == "incomingCall"
    assert invitation.devices_seen == {PHONE.device_id}


def test_held_for_push_and_never_answered_it_times_out_as_unanswered() -> None:
    invitation = new_invitation(ring=30.0, presence=1.0)
    invitation.held_for_push = True
    invitation.handle_timer(T0 + 30.0)
    assert invitation.state is InvitationState.FAILED
    assert invitation.failure is not None
    assert (invitation.failure.code, invitation.failure.sub_code) == (487, 10004)
