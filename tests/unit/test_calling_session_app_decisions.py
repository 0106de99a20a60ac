"""CallSession when an app decides for a ringing call (Call Automation answered the callee's
IncomingCall): convert, refuse and redirect, sans-I/O."""

from __future__ import annotations

import pytest

from switchboard.calling import models
from switchboard.calling.errors import CallStateError, InvalidSignalError
from switchboard.calling.models import CallPhase, DeviceAddress
from switchboard.calling.signaling.protocol import Candidate
from switchboard.calling.twoparty.session import LifecycleKind
from tests.unit.test_calling_session import (
    ANSWERED,
    BOB_1,
    BOB_2,
    CALLEE,
    CALLER,
    PHONE,
    T0,
    ends,
    frames,
    kinds,
    new_call,
    ringing,
)

CAROL = "8:acs:r_carol"
CAROL_1 = DeviceAddress("a", "carol-1")
SERVER_CALL = "server:5f0c"


def test_an_app_answering_stops_the_callee_and_sends_the_caller_to_the_server_call() -> None:
    session = ringing()
    out = session.convert(SERVER_CALL, T0 + 3)
    assert ends(out) == {BOB_1: (487, 10003), BOB_2: (487, 10003)}
    assert frames(out, PHONE) == [
        {"type": "callConverted", "callId": "call-1", "serverCallId": SERVER_CALL}
    ]
    assert session.ended
    assert kinds(out) == [LifecycleKind.PARTICIPANT_REMOVED, LifecycleKind.CALL_ENDED]


def test_an_app_cannot_take_a_call_the_callee_answered() -> None:
    session = ringing()
    session.accept(BOB_1, ANSWERED, models.MediaDirection(), T0 + 1)
    with pytest.raises(CallStateError):
        session.convert(SERVER_CALL, T0 + 2)
    with pytest.raises(CallStateError):
        session.refuse(models.DECLINED, T0 + 2)
    assert session.phase is CallPhase.CONNECTED


def test_an_app_rejecting_ends_the_call_for_the_caller_and_the_ringing_devices() -> None:
    session = ringing()
    out = session.refuse(models.BUSY, T0 + 2)
    assert ends(out) == {PHONE: (486, 0), BOB_1: (486, 0), BOB_2: (486, 0)}
    assert session.ended


def test_a_redirect_rings_the_new_callee_with_a_fresh_timeout_and_the_callers_offer() -> None:
    session = ringing()
    session.relay(PHONE, None, Candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0))
    out = session.redirect(CAROL, T0 + 80)
    assert ends(out) == {BOB_1: (487, 0), BOB_2: (487, 0)}
    updated = frames(out, PHONE)[-1]
    assert updated["state"] == "Connecting"
    assert [p["identifier"]["rawId"] for p in updated["participants"]] == [CAROL]
    assert session.device_present(CALLEE, BOB_1, busy=False) == []  # Bob no longer rings
    rung = session.device_present(CAROL, CAROL_1, busy=False)
    assert frames(rung, CAROL_1)[0]["type"] == "incomingCall"
    assert frames(rung, CAROL_1)[0]["offer"]["sdp"] == "v=0 offer"
    assert session.next_timer() == T0 + 80 + 85.0  # not the first ring's deadline
    accepted = session.accept(CAROL_1, ANSWERED, models.MediaDirection(), T0 + 81)
    assert [f["type"] for f in frames(accepted, CAROL_1)] == ["callUpdated", "candidate"]
    assert session.phase is CallPhase.CONNECTED


def test_a_call_cannot_be_redirected_to_its_caller() -> None:
    session = new_call()
    with pytest.raises(InvalidSignalError):
        session.redirect(CALLER, T0 + 1)


def test_a_call_held_for_an_app_rings_on_with_no_device_until_the_ring_timeout() -> None:
    session = new_call(presence=1.0, ring=85.0)
    session.held_for_app = True
    assert session.next_timer() == T0 + 85.0
    assert session.handle_timer(T0 + 1.0) == []
    out = session.handle_timer(T0 + 85.0)
    assert ends(out) == {PHONE: (487, 10004)}
