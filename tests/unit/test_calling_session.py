"""CallSession, the sans-I/O call state machine: every outcome with no sockets or sleeps."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from switchboard.calling import models
from switchboard.calling.errors import CallStateError
from switchboard.calling.models import CallPhase, DeviceAddress, MediaDirection
from switchboard.calling.signaling.protocol import Candidate, Description
from switchboard.calling.twoparty.session import (
    CallSession,
    CallTimeouts,
    Deliver,
    Lifecycle,
    LifecycleKind,
    Output,
)

T0 = 1000.0
CALLER, CALLEE = "8:acs:r_alice", "8:acs:r_bob"
PHONE = DeviceAddress("a", "alice-phone")
BOB_1, BOB_2 = DeviceAddress("a", "bob-1"), DeviceAddress("b", "bob-2")
OFFER = {"type": "offer", "sdp": "v=0 offer"}
ANSWER = {"type": "answer", "sdp": "v=0 answer"}
OFFERED, ANSWERED = Description(**OFFER), Description(**ANSWER)


def new_call(presence: float = 1.0, ring: float = 85.0) -> CallSession:
    session = CallSession(
        "call-1",
        CALLER,
        PHONE,
        CALLEE,
        offer=OFFERED,
        media=MediaDirection(),
        now=T0,
        timeouts=CallTimeouts(ring, presence),
    )
    session.start()
    return session


def frames(outputs: list[Output], to: DeviceAddress | None = None) -> list[dict[str, Any]]:
    """The frames for ``to`` (everyone), as they go on the wire (less "v" and "seq")."""
    return [
        msgspec.to_builtins(o.frame)
        for o in outputs
        if isinstance(o, Deliver) and (to is None or o.to == to)
    ]


def ends(outputs: list[Output]) -> dict[DeviceAddress, tuple[int, int]]:
    ended = {}
    for o in outputs:
        if isinstance(o, Deliver):
            frame = msgspec.to_builtins(o.frame)
            if frame["type"] == "callEnded":
                ended[o.to] = (frame["reason"]["code"], frame["reason"]["subCode"])
    return ended


def kinds(outputs: list[Output]) -> list[LifecycleKind]:
    return [o.kind for o in outputs if isinstance(o, Lifecycle)]


def ringing() -> CallSession:
    session = new_call()
    session.device_present(CALLEE, BOB_1, busy=False)
    session.device_present(CALLEE, BOB_2, busy=False)
    return session


def test_starting_a_call_reports_it_started_with_the_caller_in_it() -> None:
    session = CallSession(
        "c",
        CALLER,
        PHONE,
        CALLEE,
        offer=None,
        media=MediaDirection(),
        now=T0,
        timeouts=CallTimeouts(),
    )
    out = session.start()
    assert kinds(out) == [LifecycleKind.CALL_STARTED, LifecycleKind.PARTICIPANT_ADDED]
    assert frames(out, PHONE)[0]["state"] == "Connecting"


def test_each_present_device_rings_with_the_offer_and_the_caller_hears_ringing() -> None:
    session = new_call()
    first = session.device_present(CALLEE, BOB_1, busy=False)
    second = session.device_present(CALLEE, BOB_2, busy=False)
    [incoming] = frames(first, BOB_1)
    assert incoming["type"] == "incomingCall" and incoming["offer"] == OFFER
    assert incoming["caller"]["identifier"]["rawId"] == CALLER
    assert frames(first, PHONE)[0]["state"] == "Ringing"
    assert frames(second, PHONE) == []  # ringing is announced once
    assert session.phase is CallPhase.RINGING


def test_accepting_relays_the_answer_and_stops_the_other_devices_ringing() -> None:
    session = ringing()
    out = session.accept(BOB_2, ANSWERED, MediaDirection(), T0 + 2)
    assert ends(out) == {BOB_1: (487, 10003)}
    to_caller = frames(out, PHONE)
    assert to_caller[0] == {"type": "sdp", "callId": "call-1", "from": "p2", "description": ANSWER}
    assert to_caller[1]["state"] == "Connected"
    assert kinds(out) == [LifecycleKind.PARTICIPANT_ADDED]
    assert session.phase is CallPhase.CONNECTED


def test_a_device_that_is_not_ringing_cannot_accept() -> None:
    session = ringing()
    with pytest.raises(CallStateError):
        session.accept(DeviceAddress("a", "stranger"), ANSWERED, MediaDirection(), T0)


def test_candidates_trickled_before_the_answer_reach_the_device_that_accepts() -> None:
    session = ringing()
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host"}
    assert session.relay(PHONE, None, Candidate(candidate["candidate"])) == []
    out = session.accept(BOB_1, ANSWERED, MediaDirection(), T0)
    assert frames(out, BOB_1)[-1] == {
        "type": "candidate",
        "callId": "call-1",
        "from": "p1",
        "candidate": candidate,
    }


def test_a_ringing_devices_own_candidates_reach_the_caller_after_the_answer() -> None:
    session = ringing()
    first = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}
    last = {"candidate": ""}
    for candidate in (first, last):
        typed = msgspec.convert(candidate, Candidate)
        assert session.relay(BOB_1, None, typed) == []
    out = session.accept(BOB_1, ANSWERED, MediaDirection(), T0 + 1)
    to_caller = frames(out, PHONE)
    assert to_caller[0]["type"] == "sdp"  # the answer first: ICE needs it before candidates
    assert [f["candidate"] for f in to_caller if f["type"] == "candidate"] == [first, last]
    assert all(f["from"] == "p2" for f in to_caller if f["type"] == "candidate")


def test_candidates_of_a_device_that_did_not_answer_are_dropped() -> None:
    session = ringing()
    candidate = {"candidate": "candidate:1 1 udp 1 10.0.0.2 5000 typ host"}
    session.relay(BOB_2, None, Candidate(candidate["candidate"]))
    out = session.accept(BOB_1, ANSWERED, MediaDirection(), T0 + 1)
    assert [f for f in frames(out, PHONE) if f["type"] == "candidate"] == []


def test_a_ringing_device_cannot_send_a_description_before_it_accepts() -> None:
    session = ringing()
    with pytest.raises(CallStateError):
        session.relay(BOB_1, None, ANSWERED)


def test_display_names_are_shown_to_the_callee_and_to_the_caller() -> None:
    session = CallSession(
        "c",
        CALLER,
        PHONE,
        CALLEE,
        offer=OFFERED,
        media=MediaDirection(),
        now=T0,
        timeouts=CallTimeouts(),
        caller_name="Alice",
    )
    session.start()
    [incoming] = frames(session.device_present(CALLEE, BOB_1, busy=False), BOB_1)
    assert incoming["caller"]["displayName"] == "Alice"
    out = session.accept(BOB_1, ANSWERED, MediaDirection(), T0, display_name="Bob")
    [updated] = [f for f in frames(out, PHONE) if f["type"] == "callUpdated"]
    assert [p["displayName"] for p in updated["participants"]] == ["Bob"]
    [added] = [o for o in out if isinstance(o, Lifecycle)]
    assert added.participant is not None and added.participant.display_name == "Bob"


def test_rejecting_declines_the_call_for_everyone() -> None:
    session = ringing()
    out = session.reject(BOB_1, busy=False, now=T0 + 1)
    assert ends(out) == {PHONE: (603, 0), BOB_1: (603, 0), BOB_2: (603, 0)}
    assert kinds(out) == [LifecycleKind.PARTICIPANT_REMOVED, LifecycleKind.CALL_ENDED]
    assert session.phase is CallPhase.ENDED


def test_the_caller_hanging_up_while_ringing_is_a_cancel() -> None:
    session = ringing()
    out = session.hang_up(PHONE, T0 + 1)
    assert ends(out) == {PHONE: (0, 0), BOB_1: (487, 0), BOB_2: (487, 0)}


def test_an_unanswered_call_times_out_after_the_ring_timeout() -> None:
    session = ringing()
    assert session.next_timer() == T0 + 85
    assert session.handle_timer(T0 + 84.9) == []
    out = session.handle_timer(T0 + 85)
    assert ends(out) == {PHONE: (487, 10004), BOB_1: (487, 10004), BOB_2: (487, 10004)}


def test_no_device_within_the_presence_window_ends_with_480() -> None:
    session = new_call(presence=1.0)
    assert session.next_timer() == T0 + 1.0
    assert ends(session.handle_timer(T0 + 1.0)) == {PHONE: (480, 10037)}


def test_only_busy_devices_within_the_presence_window_end_with_486() -> None:
    session = new_call(presence=1.0)
    assert session.device_present(CALLEE, BOB_1, busy=True) == []
    assert ends(session.handle_timer(T0 + 1.0)) == {PHONE: (486, 0)}


def test_hanging_up_a_connected_call_ends_it_for_both_with_duration() -> None:
    session = ringing()
    session.accept(BOB_1, ANSWERED, MediaDirection(), T0 + 5)
    out = session.hang_up(BOB_1, T0 + 65)
    assert ends(out) == {PHONE: (0, 0), BOB_1: (0, 0)}
    [ended] = [o for o in out if isinstance(o, Lifecycle) and o.kind is LifecycleKind.CALL_ENDED]
    assert ended.duration == 60 and ended.ended_by == CALLEE


def test_losing_a_connected_device_ends_the_call_for_the_other_side() -> None:
    session = ringing()
    session.accept(BOB_1, ANSWERED, MediaDirection(), T0)
    out = session.device_lost(BOB_1, models.NETWORK_LOST, T0 + 10)
    assert ends(out) == {PHONE: (0, 4521)}


def test_mute_and_hold_are_announced_to_the_other_participant() -> None:
    session = ringing()
    session.accept(BOB_1, ANSWERED, MediaDirection(), T0)
    [muted] = frames(session.media_state(BOB_1, muted=True, video_on=None), PHONE)
    assert muted["participant"]["isMuted"] is True
    [held] = frames(session.hold(PHONE, on_hold=True), BOB_1)
    assert held["participant"]["state"] == "Hold"


def test_a_device_reporting_in_after_the_answer_is_told_the_call_was_taken() -> None:
    session = ringing()
    session.accept(BOB_1, ANSWERED, MediaDirection(), T0)
    late = DeviceAddress("c", "bob-3")
    assert ends(session.device_present(CALLEE, late, busy=False)) == {late: (487, 10003)}
