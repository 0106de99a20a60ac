"""The server's WebSocket protocol: stopping the server while a client's close is pending."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.exceptions import InvalidState
from websockets.protocol import State

from switchboard.http.uvicorn_websockets import LeanWebSocketProtocol

pytestmark = pytest.mark.anyio


class Transport:
    def __init__(self) -> None:
        self.closed = False
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def protocol_of(kind: type[WebSocketsSansIOProtocol], loop: asyncio.AbstractEventLoop) -> Any:
    async def app(scope: object, receive: object, send: object) -> None:
        return None

    config = uvicorn.Config(app, ws=kind, lifespan="off")
    config.load()
    protocol = kind(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    protocol.transport = Transport()  # type: ignore[assignment]
    protocol.handshake_complete = True
    # The client's close frame arrived; our reply is not written yet.
    protocol.conn.state = State.CLOSING
    return protocol


async def test_shutdown_drops_a_socket_whose_client_already_sent_its_close() -> None:
    loop = asyncio.get_running_loop()
    with pytest.raises(InvalidState):  # uvicorn's own: the server's stop fails with exit 1
        protocol_of(WebSocketsSansIOProtocol, loop).shutdown()
    ours = protocol_of(LeanWebSocketProtocol, loop)
    ours.shutdown()
    assert ours.transport.closed
