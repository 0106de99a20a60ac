"""What the signaling says about screen sharing, sans-I/O: a 1:1 description carries the
sender's screen-share mids to the other side; ``mediaState {screenShareOn}`` is shown to the
others in both call kinds (their SDK makes the ScreenSharing stream available from it)."""

from __future__ import annotations

from switchboard.calling.models import MediaDirection
from switchboard.rooms.models import ParticipantRole
from tests.unit.test_calling_session import ANSWERED, BOB_1, OFFERED, PHONE, frames, ringing
from tests.unit.test_group_rules import frames_to, group_call, join


def test_a_one_to_one_offer_carries_the_senders_screen_share_mids_to_the_other_side() -> None:
    session = ringing()
    session.accept(BOB_1, ANSWERED, MediaDirection(), 1000.0)

    [offer] = frames(session.relay(PHONE, None, OFFERED, ["3"]), BOB_1)
    [plain] = frames(session.relay(PHONE, None, OFFERED), BOB_1)

    assert offer["screenShareMids"] == ["3"]
    assert "screenShareMids" not in plain  # unchanged: the receiver keeps what it knew


def test_screen_sharing_is_shown_to_the_other_participant_of_a_one_to_one_call() -> None:
    session = ringing()
    session.accept(BOB_1, ANSWERED, MediaDirection(), 1000.0)
    [shown] = frames(session.media_state(PHONE, None, None, screen_share_on=True), BOB_1)
    assert shown["participant"]["screenShareOn"] is True
    assert shown["participant"]["videoOn"] is False  # the camera is another matter


def test_screen_sharing_is_shown_to_everyone_in_a_group_call() -> None:
    call = group_call()
    alice = join(call, "alice", None)
    bob = join(call, "bob", ParticipantRole.ATTENDEE)
    [shown] = frames_to(call.media_state(alice, None, None, True), bob, "participantUpdated")
    assert shown["participant"]["screenShareOn"] is True
    [stopped] = frames_to(call.media_state(alice, None, None, False), bob, "participantUpdated")
    assert stopped["participant"]["screenShareOn"] is False
