"""LeanWebSocketProtocol (http/uvicorn_websockets.py) on a fake transport: a held socket keeps
no handshake request or response, and still speaks WebSocket after the accept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from switchboard.http.uvicorn_websockets import LeanWebSocketProtocol
from switchboard.http.websocket import SEND_TEXTS

pytestmark = pytest.mark.anyio

HANDSHAKE = (
    b"GET /chat/realtime HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        addresses = {"sockname": ("127.0.0.1", 8443), "peername": ("127.0.0.1", 50000)}
        return addresses.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def test_a_held_socket_keeps_no_handshake_and_still_echoes_a_frame() -> None:
    accepted, echoed = asyncio.Event(), asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        accepted.set()
        message = await receive()
        await send({"type": "websocket.send", "text": message["text"].upper()})
        echoed.set()
        await receive()  # the disconnect

    config = uvicorn.Config(app, ws=LeanWebSocketProtocol, ws_ping_interval=None, log_config=None)
    config.load()
    state = ServerState()
    protocol = LeanWebSocketProtocol(config=config, server_state=state, app_state={})
    transport = FakeTransport()
    protocol.connection_made(transport)
    protocol.data_received(HANDSHAKE)
    request = protocol.request
    async with asyncio.timeout(5):
        await accepted.wait()
    assert transport.written.startswith(b"HTTP/1.1 101 ")
    assert not hasattr(protocol, "request")
    assert not hasattr(protocol, "response")
    assert len(request.headers) == 0  # websockets' parser still holds the request itself

    protocol.data_received(Frame(Opcode.TEXT, b"hello").serialize(mask=True))
    async with asyncio.timeout(5):
        await echoed.wait()
    assert transport.written.endswith(Frame(Opcode.TEXT, b"HELLO").serialize(mask=False))
    protocol.connection_lost(None)
    async with asyncio.timeout(5):
        await asyncio.gather(*state.tasks)


async def test_texts_sent_together_are_one_write_of_frames_a_client_parses_back() -> None:
    """SEND_TEXTS (http/websocket.py): offered in the scope, every length of RFC 6455 header
    (7-bit, 16-bit, 64-bit), all in one write of the transport."""
    texts = ["a", "é" * 70, "x" * 125, "y" * 126, "z" * 65_535, "w" * 65_536]
    sent = asyncio.Event()
    offered: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        offered.append(SEND_TEXTS in scope["extensions"])
        await send({"type": "websocket.accept"})
        await send({"type": SEND_TEXTS, "texts": texts})
        sent.set()
        await receive()

    config = uvicorn.Config(app, ws=LeanWebSocketProtocol, ws_ping_interval=None, log_config=None)
    config.load()
    state = ServerState()
    protocol = LeanWebSocketProtocol(config=config, server_state=state, app_state={})
    writes: list[bytes] = []
    transport = FakeTransport()
    transport.write = lambda data: writes.append(bytes(data))  # type: ignore[method-assign]
    protocol.connection_made(transport)
    protocol.data_received(HANDSHAKE)
    async with asyncio.timeout(5):
        await sent.wait()
    assert offered == [True]
    assert writes[0].startswith(b"HTTP/1.1 101 ")
    assert len(writes) == 2  # the 101, then every frame in one write

    client = ClientProtocol(parse_uri("ws://localhost/chat/realtime"), state=State.OPEN)
    client.receive_data(writes[1])
    received = [event for event in client.events_received() if isinstance(event, Frame)]
    assert [(frame.opcode, frame.fin) for frame in received] == [(Opcode.TEXT, True)] * len(texts)
    assert [bytes(frame.data).decode() for frame in received] == texts
    protocol.connection_lost(None)
    async with asyncio.timeout(5):
        await asyncio.gather(*state.tasks)
