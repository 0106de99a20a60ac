"""A real HTTP receiver for Call Automation callbacks, serving in the test's event loop.

It records every POST (path, headers, body: a JSON array of CloudEvents), can answer a chosen
status to the first N requests on a path, and lets a test wait for a number of events.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Callback:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        payload = json.loads(self.body)
        assert isinstance(payload, list), "callbacks are JSON arrays"
        return payload

    @property
    def bearer(self) -> str:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        assert scheme == "Bearer", self.headers
        return token


@dataclass
class CallbackReceiver:
    fail_first: dict[str, int] = field(default_factory=dict)  # path -> requests to fail
    failure_status: int = 503
    received: list[Callback] = field(default_factory=list)  # every request, failed ones too
    accepted: list[Callback] = field(default_factory=list)
    _seen: Counter[str] = field(default_factory=Counter)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted_types(self, path: str) -> list[str]:
        return [e["type"] for c in self.accepted if c.path == path for e in c.events]

    async def start(self) -> CallbackReceiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for_events(self, count: int, within: float = 15.0) -> None:
        """Until ``count`` events were accepted in all (TimeoutError otherwise)."""
        async with asyncio.timeout(within):
            while sum(len(c.events) for c in self.accepted) < count:
                self._changed.clear()
                await self._changed.wait()

    async def event(self, kind: str, within: float = 20.0) -> dict[str, Any]:
        """The ``data`` of the first accepted ``Microsoft.Communication.<kind>`` (waits)."""
        wanted = f"Microsoft.Communication.{kind}"
        async with asyncio.timeout(within):
            while True:
                for callback in self.accepted:
                    for item in callback.events:
                        if item["type"] == wanted:
                            data: dict[str, Any] = item["data"]
                            return data
                self._changed.clear()
                await self._changed.wait()

    async def _handle(self, request: web.Request) -> web.Response:
        callback = Callback(
            request.path, {k.lower(): v for k, v in request.headers.items()}, await request.read()
        )
        self.received.append(callback)
        self._seen[callback.path] += 1
        try:
            if self._seen[callback.path] <= self.fail_first.get(callback.path, 0):
                return web.Response(status=self.failure_status, text="not now")
            self.accepted.append(callback)
            return web.Response(status=200)
        finally:
            self._changed.set()
