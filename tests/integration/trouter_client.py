"""A trouter client by hand (docs/trouter.md): allocation, Socket.IO handshake, socket,
registration, and the requests the server sends on it. For wire-level tests; the unmodified
SDK runs in tests/e2e/test_trouter_browser.py."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import httpx
import websockets

from tests.integration.server import RunningServer


class TrouterConnection:
    """One trouter connection, by hand: allocation, handshake, socket, registration."""

    def __init__(self, server: RunningServer, http: httpx.AsyncClient, token: str) -> None:
        self._server, self._http, self._token = server, http, token
        self.socket: Any = None

    async def open(self, registration_id: str) -> None:
        headers = {"X-Skypetoken": self._token}
        allocated = (await self._http.post("/v4/a", headers=headers)).json()
        handshake = await self._http.get(
            "/socket.io/1/", params={"sr": allocated["connectparams"]["sr"]}, headers=headers
        )
        session_id, heartbeat, _close, transports = handshake.text.split(":")
        assert (int(heartbeat), transports) == (60, "websocket")
        context = ssl.create_default_context(cafile=self._server.ca_path)
        url = f"wss://127.0.0.1:{self._server.port}/socket.io/1/websocket/{session_id}"
        self.socket = await websockets.connect(url, ssl=context)
        assert await self.socket.recv() == "1::"
        connected = await self.socket.recv()
        assert connected.startswith('5:::{"name":"trouter.connected"')
        registered = await self._http.post(
            "/registrar/v3/registrations",
            headers=headers,
            json={
                "registrationId": registration_id,
                "nodeId": "",
                "clientDescription": {"appId": "AcsWeb"},
                "transports": {"TROUTER": [{"context": "", "path": allocated["surl"], "ttl": 60}]},
            },
        )
        assert registered.status_code == 202

    async def request(self) -> dict[str, Any]:
        """The next trouter request (heartbeats skipped); fails after 30 s without one."""
        while True:
            async with asyncio.timeout(30):
                frame = await self.socket.recv()
            if frame.startswith("3:::"):
                request: dict[str, Any] = json.loads(frame[4:])
                request["payload"] = json.loads(request["body"])
                return request

    async def answer(self, request: dict[str, Any]) -> None:
        await self.socket.send("3:::" + json.dumps({"id": request["id"], "status": 200}))
