"""The wire layer of switchboard.calling.v1: request parsing, the client's sans-I/O session
(register, acks, ping → pong, resend after reconnect, replay dedupe) and the device hub's
numbering and replay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchboard.calling.errors import InvalidSignalError
from switchboard.calling.signaling.frames import CallEnded, Ping
from switchboard.calling.signaling.hub import DeviceHub
from switchboard.calling.signaling.protocol import EndReasonInfo, IceServer
from switchboard.calling.signaling.requests import (
    Accept,
    HangUp,
    MediaState,
    UnknownRequest,
    parse_request,
    require_description,
)
from switchboard.client.calling.session import (
    Ack,
    ProtocolViolation,
    Registered,
    SignalingSession,
    signaling_url,
)


class Socket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def recheck(self) -> None:
        pass


def server_frame(**fields: Any) -> str:
    return json.dumps({"v": 1, **fields})


def registered(session: SignalingSession, request_id: str = "r1") -> None:
    session.receive(
        server_frame(
            type="ack",
            id=request_id,
            ok=True,
            deviceId="d1",
            userId="8:acs:u",
            heartbeatSeconds=15,
            iceServers=[],
        ),
        0.0,
    )


def test_requests_of_another_version_or_unreadable_are_refused() -> None:
    with pytest.raises(InvalidSignalError):
        parse_request('{"v": 2, "type": "register"}')
    with pytest.raises(InvalidSignalError):
        parse_request("{not json")
    assert parse_request('{"v":1,"type":"hangUp","id":"r9","callId":"c"}') == HangUp(
        id="r9", call_id="c"
    )


def test_a_frame_nested_thousands_deep_is_refused_not_crashed_on() -> None:
    deep = '{"v":1,"type":"startCall","id":"1","targets":' + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(InvalidSignalError, match="nested too deeply"):
        parse_request(deep)


def test_a_request_of_an_unknown_type_is_read_so_its_refusal_carries_its_id() -> None:
    assert parse_request('{"v":1,"type":"teleport","id":"r3"}') == UnknownRequest(
        "teleport", 1, "r3"
    )
    with pytest.raises(InvalidSignalError):  # a known type with a field of the wrong type
        parse_request('{"v":1,"type":"mediaState","id":"r4","muted":"yes"}')


@pytest.mark.parametrize("kind", ["hangUp", "teleport"])
def test_a_request_id_over_128_characters_is_refused_without_being_echoed(kind: str) -> None:
    assert parse_request(f'{{"v":1,"type":"{kind}","id":"{"a" * 128}"}}').id == "a" * 128
    with pytest.raises(InvalidSignalError) as refused:
        parse_request(f'{{"v":1,"type":"{kind}","id":"{"b" * 129}"}}')
    assert "b" * 129 not in refused.value.message


def test_a_description_must_be_of_the_expected_kind() -> None:
    with pytest.raises(InvalidSignalError):
        require_description({"type": "offer", "sdp": "v=0"}, "answer")
    assert require_description({"type": "answer", "sdp": "v=0"}, "answer").sdp == "v=0"


def test_the_endpoint_becomes_the_signaling_url() -> None:
    assert signaling_url("https://h:8443/") == "wss://h:8443/calling/signaling"
    with pytest.raises(ValueError):
        signaling_url("ftp://h")


def test_the_client_registers_first_then_sends_requests() -> None:
    session = SignalingSession()
    session.connection_made(0.0)
    request_id = session.request(HangUp(call_id="c1"))
    sent = [json.loads(t) for t in session.data_to_send()]
    assert [f["type"] for f in sent] == ["register", "hangUp"]
    assert sent[1]["id"] == request_id
    registered(session, sent[0]["id"])
    assert session.device_id == "d1" and session.registered


def test_unacked_requests_are_resent_after_a_reconnect_with_the_device_and_position() -> None:
    session = SignalingSession()
    session.connection_made(0.0)
    register_id = json.loads(session.data_to_send()[0])["id"]
    registered(session, register_id)
    acked = session.request(MediaState(call_id="c", muted=True))
    lost = session.request(HangUp(call_id="c"))
    session.data_to_send()
    [event] = session.receive(server_frame(type="ack", id=acked, ok=True, seq=7), 1.0)
    assert isinstance(event, Ack) and (event.id, event.ok) == (acked, True)
    session.connection_lost()
    session.connection_made(2.0)
    resent = [json.loads(t) for t in session.data_to_send()]
    assert resent[0] == {
        "v": 1,
        "type": "register",
        "id": resent[0]["id"],
        "deviceId": "d1",
        "lastSeq": 7,
    }
    assert [f.get("id") for f in resent[1:]] == [lost]


def test_a_replayed_frame_is_handed_over_once() -> None:
    session = SignalingSession()
    session.connection_made(0.0)
    registered(session)
    frame = server_frame(type="callEnded", callId="c", seq=3, reason={"code": 0})
    [event] = session.receive(frame, 1.0)
    assert event == CallEnded(EndReasonInfo(0), call_id="c", seq=3)
    assert session.receive(frame, 2.0) == []


def test_a_frame_of_a_type_the_client_does_not_know_is_skipped_but_counted() -> None:
    session = SignalingSession()
    session.connection_made(0.0)
    registered(session)
    assert session.receive(server_frame(type="holographic", callId="c", seq=4), 1.0) == []
    assert session.last_seq == 4


def test_pings_are_answered_and_silence_means_the_server_is_gone() -> None:
    session = SignalingSession()
    session.connection_made(0.0)
    registered(session)
    session.data_to_send()
    session.receive(server_frame(type="ping"), 10.0)
    assert [json.loads(t)["type"] for t in session.data_to_send()] == ["pong"]
    assert not session.server_dead(39.9)
    assert session.server_dead(40.0)


def test_a_refused_request_carries_the_servers_code() -> None:
    session = SignalingSession()
    session.connection_made(0.0)
    registered(session)
    request_id = session.request(Accept(call_id="gone"))
    error = {"code": "CallNotFound", "message": "no"}
    [event] = session.receive(server_frame(type="ack", id=request_id, ok=False, error=error), 1)
    assert isinstance(event, Ack) and event.error is not None
    assert event.error.code == "CallNotFound"


def test_a_server_speaking_another_version_is_a_protocol_violation() -> None:
    session = SignalingSession()
    session.connection_made(0.0)
    with pytest.raises(ProtocolViolation):
        session.receive('{"v": 2, "type": "ping"}', 0.0)


def test_the_hub_numbers_frames_and_replays_what_a_resuming_device_missed() -> None:
    hub = DeviceHub("node")
    first = Socket()
    device = hub.register("8:acs:u", None, None, first).device
    for _ in range(3):
        hub.deliver(device.device_id, Ping())
    assert [f["seq"] for f in first.sent] == [1, 2, 3]
    assert first.sent[0] == {"v": 1, "seq": 1, "type": "ping"}
    hub.detach(device, first, now=1.0)
    hub.deliver(device.device_id, Ping())
    second = Socket()
    registration = hub.register("8:acs:u", device.device_id, 2, second)
    assert registration.resumed and registration.device is device
    assert [f["seq"] for f in second.sent] == [3, 4]


def test_another_users_device_id_is_not_taken_over() -> None:
    hub = DeviceHub("node")
    theirs = hub.register("8:acs:a", None, None, Socket()).device
    mine = hub.register("8:acs:b", theirs.device_id, None, Socket())
    assert not mine.resumed and mine.device.device_id != theirs.device_id


def test_registered_event_carries_the_ice_servers() -> None:
    session = SignalingSession()
    session.connection_made(0.0)
    ice = [{"urls": ["turn:h:3478"], "username": "u", "credential": "c"}]
    [event] = session.receive(
        server_frame(
            type="ack",
            id="r1",
            ok=True,
            deviceId="d",
            userId="u",
            heartbeatSeconds=5,
            iceServers=ice,
            resumed=False,
        ),
        0.0,
    )
    assert event == Registered("d", "u", False, 5.0, [IceServer(["turn:h:3478"], "u", "c")])


def test_registered_event_says_which_calls_the_server_still_has() -> None:
    """A device back after the grace learns its calls are gone (the agent ends them)."""
    session = SignalingSession()
    session.connection_made(0.0)
    ack = server_frame(
        type="ack",
        id="r1",
        ok=True,
        deviceId="d",
        userId="u",
        heartbeatSeconds=5,
        calls=["c1", "c2"],
    )
    [event] = session.receive(ack, 0.0)
    assert isinstance(event, Registered) and event.calls == ("c1", "c2")
