"""Hypothesis frames and bodies to ACS's chat real-time channel (chat/trouter), one real server.

fuzzed frame ─▶ a registered trouter socket ─▶ then a ping with an ack id ─▶ its ack:
               the socket still serves after any text (Socket.IO-shaped or not)
fuzzed body  ─▶ the registrar ─▶ a 4xx ACS error, never a 5xx
afterwards   ─▶ the process still serves
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import ClientConnection

from switchboard.chat.trouter import socketio
from tests.fuzz.conftest import FuzzTarget
from tests.fuzz.test_websocket_fuzz import HANDSHAKE_TIMEOUT, WS_SETTINGS, _connect, _ws_url

ANSWER_TIMEOUT = 10.0
FUZZ = WS_SETTINGS  # the same examples, derandomized, as the other WebSocket fuzz tests

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
_packets = st.builds(
    lambda kind, ack, endpoint, data: f"{kind}:{ack}:{endpoint}:{data}",
    st.integers(0, 12),
    st.sampled_from(["", "1", "2+", "+", "x"]),
    st.sampled_from(["", "/chat", ":"]),
    st.text(max_size=200) | _json.map(json.dumps),
)


def _not_a_disconnect(frame: str) -> bool:
    try:
        return socketio.decode(frame).type is not socketio.PacketType.DISCONNECT
    except socketio.PacketError:
        return True


# A disconnect packet ends the socket, as it should (its own test below).
frames = (_packets | st.text(max_size=300) | _json.map(json.dumps)).filter(_not_a_disconnect)


@contextlib.contextmanager
def trouter_socket(target: FuzzTarget, token: str) -> Iterator[ClientConnection]:
    headers = {"X-Skypetoken": token}
    allocated = target.http.post("/v4/a", headers=headers).json()
    handshake = target.http.get(
        "/socket.io/1/", params={"sr": allocated["connectparams"]["sr"]}, headers=headers
    )
    session_id = handshake.text.split(":")[0]
    with _connect(
        _ws_url(target, f"/socket.io/1/websocket/{session_id}"),
        ssl=target.tls,
        open_timeout=HANDSHAKE_TIMEOUT,
    ) as ws:
        assert ws.recv(timeout=ANSWER_TIMEOUT) == "1::"
        yield ws


def test_any_frame_leaves_the_trouter_socket_serving(fuzz_target: FuzzTarget) -> None:
    token = fuzz_target.user_token("chat")
    with trouter_socket(fuzz_target, token) as ws:
        counter = iter(range(1_000_000, 2_000_000))

        @FUZZ
        @given(frame=frames)
        def run(frame: str) -> None:
            ws.send(frame)
            ack_id = next(counter)
            ws.send(f'5:{ack_id}+::{{"name":"ping"}}')
            while (answer := str(ws.recv(timeout=ANSWER_TIMEOUT))) != f"6:::{ack_id}":
                # acks of fuzzed events that asked for one, heartbeats, trouter.connected
                assert answer.startswith(("6:::", "2::", "5:::")), answer

        run()
    fuzz_target.assert_serving()


def test_a_disconnect_packet_closes_the_socket_cleanly(fuzz_target: FuzzTarget) -> None:
    with trouter_socket(fuzz_target, fuzz_target.user_token("chat")) as ws:
        ws.send("0::")
        with contextlib.suppress(ConnectionClosedOK):
            while True:
                ws.recv(timeout=ANSWER_TIMEOUT)
        assert ws.close_code == 1000


def test_any_registrar_body_is_an_acs_error(fuzz_target: FuzzTarget) -> None:
    headers = {"X-Skypetoken": fuzz_target.user_token("chat")}
    bodies = _json | st.fixed_dictionaries(
        {"registrationId": _json, "transports": st.fixed_dictionaries({"TROUTER": _json})}
    )

    @FUZZ
    @given(body=bodies)
    def run(body: Any) -> None:
        answer = fuzz_target.http.post("/registrar/v3/registrations", headers=headers, json=body)
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["error"]["code"]

    run()
    fuzz_target.assert_serving()
