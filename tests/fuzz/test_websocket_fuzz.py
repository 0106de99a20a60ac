"""Hypothesis-generated frames to both WebSocket protocols, against one real server.

    fuzzed frames ─▶ /calling/signaling (registered device) ─▶ one failed ack per frame
                  ─▶ /chat/realtime (a thread's participant) ─▶ ignored: a later event arrives
    binary frame  ─▶ either endpoint ─▶ closed with 1003 (a proper close, not 1006/1011)
    afterwards    ─▶ a fresh client is served (its first frame), the process is still up

Frames: valid JSON of the wrong shapes (known request types with fields of the wrong type,
other versions, arrays, scalars), nesting thousands deep, strings of hundreds of kilobytes,
and text that is not JSON at all. Derandomized, so CI sends the same frames every run.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.sync.client import ClientConnection, connect

from switchboard.calling.signaling.protocol import PROTOCOL as CALLING_PROTOCOL
from switchboard.calling.signaling.protocol import ClientMessage
from tests.fuzz.conftest import FuzzTarget

CHAT_VERSION = "api-version=2024-03-07"
ANSWER_TIMEOUT = 10.0  # seconds; a frame the server dropped fails here, not by hanging
# A handshake on a loaded two-core CI machine (the suite's other work, the previous example's
# 400 kB frames still being read) once took over 10 s; a generous bound, not a speed check.
HANDSHAKE_TIMEOUT = 30.0

WS_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Requests that are answered by nothing (pong) or by a close (unregister) when well formed.
_UNANSWERED = {ClientMessage.PONG.value, ClientMessage.UNREGISTER.value}
_ANSWERED_TYPES = sorted(m.value for m in ClientMessage if m.value not in _UNANSWERED)

_json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_field_names = st.sampled_from(
    ["id", "callId", "targets", "description", "candidate", "media", "groupId", "roomId",
     "deviceId", "lastSeq", "muted", "data", "participantId", "displayName"]
)  # fmt: skip


@st.composite
def _wrong_shapes(draw: st.DrawFn) -> str:
    """A JSON object that looks like a request and is not one: a known type with fields of any
    type, or another version, or no type; never a well-formed pong or unregister."""
    frame: dict[str, Any] = draw(st.dictionaries(_field_names, _json_values, max_size=4))
    frame["v"] = draw(st.just(1) | _json_values)
    kind = draw(st.sampled_from(_ANSWERED_TYPES) | st.text(max_size=12) | _json_values)
    if isinstance(kind, str) and kind in _UNANSWERED:
        kind = "pong!"
    frame["type"] = kind
    if draw(st.booleans()):
        frame["id"] = draw(_json_values)
    return json.dumps(frame)


def _nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"v":1,"type":"startCall","targets":' + '{"a":' * depth + "1" + "}" * depth + "}"


_deep = st.builds(_nested, st.integers(100, 20_000), st.sampled_from(["list", "object"]))
_huge = st.builds(
    lambda n, kind: json.dumps({"v": 1, "type": kind, "id": "x" * n, "callId": "y" * n}),
    st.integers(50_000, 400_000),
    st.sampled_from(_ANSWERED_TYPES),
) | st.builds(lambda n: "z" * n, st.integers(50_000, 400_000))
_garbage = st.text(max_size=200).filter(lambda text: not _is_unanswered_request(text))

text_frames = st.one_of(
    _wrong_shapes(), st.lists(_json_values).map(json.dumps), _deep, _huge, _garbage
)


def _request_id(text: str) -> object:
    """A frame's request id, else the frame: a signaling device acks each id once (a resent
    request's ack is in the replay), so the frames of one connection carry distinct ids."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's limit
        return text
    if isinstance(frame, dict) and isinstance(frame.get("id"), str):
        return ("id", frame["id"])
    return text


def _is_unanswered_request(text: str) -> bool:
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's limit
        return False
    return isinstance(frame, dict) and frame.get("type") in _UNANSWERED


# ── clients ──────────────────────────────────────────────────────────────────────────────


def _ws_url(target: FuzzTarget, path: str) -> str:
    return target.server.endpoint.replace("https://", "wss://", 1) + path


def _connect(url: str, **options: Any) -> ClientConnection:
    """``connect``, once more if the server closed the connection before answering the
    handshake. Seen about once in four runs of this module on a loaded 2-core machine, never
    reproduced alone (cause not found yet: the closing note of 2026-12-07 says where to look);
    these tests fuzz frames on open sockets, not the opening itself."""
    try:
        opened: ClientConnection = connect(url, **options)
    except InvalidMessage:
        opened = connect(url, **options)
    return opened


@contextlib.contextmanager
def calling_device(target: FuzzTarget, token: str) -> Iterator[ClientConnection]:
    """A registered device (the register ack read)."""
    with _connect(
        _ws_url(target, "/calling/signaling"),
        ssl=target.tls,
        additional_headers={"Authorization": f"Bearer {token}"},
        subprotocols=[CALLING_PROTOCOL],
        max_size=None,
        open_timeout=HANDSHAKE_TIMEOUT,
    ) as ws:
        ws.send(json.dumps({"v": 1, "type": "register", "id": "register-1"}))
        ack = next_frame_of(ws, "ack")
        assert ack["ok"] is True, ack
        yield ws


@contextlib.contextmanager
def chat_listener(target: FuzzTarget, token: str) -> Iterator[ClientConnection]:
    """A chat real-time socket, live (the hello frame read)."""
    with _connect(
        _ws_url(target, "/chat/realtime"),
        ssl=target.tls,
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=None,
        open_timeout=HANDSHAKE_TIMEOUT,
    ) as ws:
        assert next_frame_of(ws, "hello")["protocol"] == "switchboard.chat.v1"
        yield ws


def next_frame_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next server frame of ``kind`` (pings and other frames in between are skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=ANSWER_TIMEOUT))
        if frame.get("type") == kind:
            return frame


def assert_closed_properly(ws: ClientConnection, code: int) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=ANSWER_TIMEOUT)
    assert closed.value.rcvd is not None, "closed without a close frame (abnormal, 1006)"
    assert closed.value.rcvd.code == code, closed.value


class ChatThread:
    """A thread of one user, and a way to make it say something (the sentinel event)."""

    def __init__(self, target: FuzzTarget, token: str) -> None:
        self.http = target.http
        self.bearer = {"Authorization": f"Bearer {token}"}
        created = self.http.post(
            f"/chat/threads?{CHAT_VERSION}", json={"topic": "fuzz"}, headers=self.bearer
        )
        assert created.status_code == 201, created.text
        self.thread_id: str = created.json()["chatThread"]["id"]

    def say(self, text: str) -> str:
        sent = self.http.post(
            f"/chat/threads/{self.thread_id}/messages?{CHAT_VERSION}",
            json={"content": text},
            headers=self.bearer,
        )
        assert sent.status_code == 201, sent.text
        message_id: str = sent.json()["id"]
        return message_id


def assert_event_for(ws: ClientConnection, message_id: str) -> None:
    while True:
        event = next_frame_of(ws, "event")
        if event["name"] == "chatMessageReceived" and event["data"]["id"] == message_id:
            return


# ── tests ────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def voip_token(fuzz_target: FuzzTarget) -> str:
    return fuzz_target.user_token("voip")


@pytest.fixture(scope="module")
def chat_token(fuzz_target: FuzzTarget) -> str:
    return fuzz_target.user_token("chat")


@pytest.fixture
def serving_afterwards(fuzz_target: FuzzTarget, chat_token: str) -> Iterator[None]:
    yield
    with chat_listener(fuzz_target, chat_token):
        pass
    fuzz_target.assert_serving()


@pytest.mark.usefixtures("serving_afterwards")
def test_every_fuzzed_signaling_frame_gets_a_failed_ack(
    fuzz_target: FuzzTarget, voip_token: str
) -> None:
    @WS_SETTINGS
    @given(frames=st.lists(text_frames, min_size=1, max_size=4, unique_by=_request_id))
    def run(frames: list[str]) -> None:
        with calling_device(fuzz_target, voip_token) as ws:
            for text in frames:
                ws.send(text)
                ack = next_frame_of(ws, "ack")
                assert ack["ok"] is False, (text[:200], ack)
                assert isinstance(ack["error"]["code"], str), ack
                assert isinstance(ack["error"]["message"], str), ack

    run()


@pytest.mark.usefixtures("serving_afterwards")
def test_fuzzed_chat_frames_are_ignored_and_events_keep_coming(
    fuzz_target: FuzzTarget, chat_token: str
) -> None:
    thread = ChatThread(fuzz_target, chat_token)

    @WS_SETTINGS
    @given(frames=st.lists(text_frames, min_size=1, max_size=4))
    def run(frames: list[str]) -> None:
        with chat_listener(fuzz_target, chat_token) as ws:
            for text in frames:
                ws.send(text)
            assert_event_for(ws, thread.say("after the fuzzed frames"))

    run()


@pytest.mark.usefixtures("serving_afterwards")
@pytest.mark.parametrize("endpoint", ["calling", "chat"])
def test_a_binary_frame_gets_a_proper_close(
    fuzz_target: FuzzTarget, voip_token: str, chat_token: str, endpoint: str
) -> None:
    @settings(WS_SETTINGS, max_examples=5)
    @given(payload=st.binary(max_size=2048))
    def run(payload: bytes) -> None:
        if endpoint == "calling":
            client = calling_device(fuzz_target, voip_token)
        else:
            client = chat_listener(fuzz_target, chat_token)
        with client as ws:
            ws.send(payload)
            assert_closed_properly(ws, 1003)

    run()
