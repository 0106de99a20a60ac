"""LeanWebSocketProtocol (http/uvicorn_websockets.py) on a fake transport: a held socket keeps
no handshake request or response, and still speaks WebSocket after the accept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from switchboard.http.uvicorn_websockets import LeanWebSocketProtocol

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
