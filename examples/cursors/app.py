"""Shared cursors over a custom transport: a plain WebRTC data channel through Switchboard's TURN.

The other way to exchange data in a call-like app (see examples/README.md "Which data path"):
no calling SDK, no media node. This app's own small server hands out TURN credentials from
the Network Traversal API (the connection string stays here) and relays the two browsers'
offer/answer; the browsers then talk through coturn only (``iceTransportPolicy: "relay"``).

    browser ─GET /api/relay─▶ app ─CommunicationRelayClient.get_relay_configuration─▶ Switchboard
        ◀─ iceServers (urls, username, credential: valid for an hour) ─┘
    browser ─WS /ws/{board}─▶ app: the first to come waits; the second makes both peers:
        "peer" to the first ─▶ offer ─▶ answer ─▶ candidates (relayed as they are)
    browser ═ RTCPeerConnection (relay only) ═ coturn ═ browser: cursor positions,
        unordered and maxRetransmits 0 (a lost position is replaced by the next one)

``GET /api/relay`` · ``WS /ws/{board}`` · ``GET /`` (the page: static/index.html + cursors.js).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.communication.networktraversal import CommunicationRelayClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

STATIC = Path(__file__).parent / "static"
RELAY_TTL = 3600  # seconds a browser's TURN credentials stay valid


@dataclass(slots=True)
class Board:
    """Two browsers at most: the second one's arrival starts their negotiation."""

    sockets: list[WebSocket] = field(default_factory=list)


def create_app(connection_string: str, ca_path: str | None) -> Starlette:
    relay = CommunicationRelayClient.from_connection_string(
        connection_string, connection_verify=ca_path or True
    )
    boards: dict[str, Board] = {}

    async def relay_configuration(request: Request) -> JSONResponse:
        config = await asyncio.to_thread(relay.get_relay_configuration, ttl=RELAY_TTL)
        servers = [
            {"urls": s.urls, "username": s.username, "credential": s.credential}
            for s in config.ice_servers
        ]
        return JSONResponse({"iceServers": servers, "expiresOn": config.expires_on.isoformat()})

    async def board_socket(websocket: WebSocket) -> None:
        board = boards.setdefault(websocket.path_params["board"], Board())
        if len(board.sockets) >= 2:
            await websocket.close(code=4409, reason="the board has two people already")
            return
        await websocket.accept()
        board.sockets.append(websocket)
        if len(board.sockets) == 2:
            await board.sockets[0].send_json({"type": "peer"})  # the first one offers
        try:
            while True:
                message: Any = await websocket.receive_json()
                for other in board.sockets:
                    if other is not websocket:
                        await other.send_json(message)
        except WebSocketDisconnect:
            pass
        finally:
            board.sockets.remove(websocket)

    async def index(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/relay", relay_configuration),
            WebSocketRoute("/ws/{board}", board_socket),
            Mount("/static", StaticFiles(directory=STATIC)),
        ]
    )
