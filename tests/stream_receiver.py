"""A real WebSocket server for media streaming and transcription, in the test's event loop:
it records every text message of every connection (with its arrival time) and lets a test
send the app's messages back (bidirectional audio)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve


@dataclass
class StreamConnection:
    path: str
    connection: ServerConnection
    messages: list[str] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each message
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(message) for message in self.messages]

    def kinds(self) -> list[str]:
        return [frame["kind"] for frame in self.frames()]

    async def send(self, message: str) -> None:
        await self.connection.send(message)


@dataclass
class StreamReceiver:
    connections: list[StreamConnection] = field(default_factory=list)
    port: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: Server | None = None

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def start(self) -> StreamReceiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = await serve(self._handle, sock=sock, compression=None, max_size=None)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def connection(self, path: str, within: float = 20.0) -> StreamConnection:
        """The first connection made to ``path`` (waiting for it)."""
        found: list[StreamConnection] = []

        def made() -> bool:
            found[:] = [c for c in self.connections if c.path == path]
            return bool(found)

        await self.wait_until(made, within)
        return found[0]

    async def wait_until(self, done: Callable[[], bool], within: float = 20.0) -> None:
        async with asyncio.timeout(within):
            while not done():
                self._changed.clear()
                await self._changed.wait()

    async def _handle(self, connection: ServerConnection) -> None:
        record = StreamConnection(connection.request.path if connection.request else "", connection)
        self.connections.append(record)
        self._changed.set()
        try:
            async for message in connection:
                record.messages.append(message if isinstance(message, str) else message.decode())
                record.arrived.append(time.monotonic())
                self._changed.set()
        finally:
            record.closed.set()
            self._changed.set()
