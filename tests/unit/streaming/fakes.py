"""An in-memory WebSocket for StreamSocket and MediaStreams: what we sent, what the app says,
and an app that stops reading (a slow app) or is not there at all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from switchboard.automation.ports import CallbackData
from switchboard.automation.streaming.socket import StreamConnectError
from tests.unit.automation_fakes import FakeCallbacks


@dataclass
class FakeConnection:
    sent: list[bytes] = field(default_factory=list)
    reading: asyncio.Event = field(default_factory=asyncio.Event)  # clear: the app is stuck
    incoming: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    closed: bool = False
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.reading.set()

    async def send(self, message: bytes) -> None:
        await self.reading.wait()
        self.sent.append(message)
        self.arrived.set()

    async def until(self, done: Callable[[list[bytes]], bool]) -> None:
        """Wait until what was sent satisfies ``done``."""
        async with asyncio.timeout(5):
            while not done(self.sent):
                self.arrived.clear()
                await self.arrived.wait()

    async def messages(self) -> AsyncIterator[str | bytes]:
        while (message := await self.incoming.get()) is not None:
            yield message
            self.incoming.task_done()  # the reader has handled it (``await incoming.join()``)

    async def close(self) -> None:
        self.closed = True
        self.arrived.set()

    def app_hangs_up(self) -> None:
        self.incoming.put_nowait(None)


@dataclass
class FakeConnector:
    connections: dict[str, FakeConnection] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)

    async def connect(self, url: str) -> FakeConnection:
        if url in self.refused:
            raise StreamConnectError(f"{url}: connection refused")
        return self.connections.setdefault(url, FakeConnection())


@dataclass
class WaitableCallbacks(FakeCallbacks):
    queued: asyncio.Event = field(default_factory=asyncio.Event)

    async def enqueue(
        self, call_connection_id: str, url: str, events: Sequence[CallbackData]
    ) -> None:
        await super().enqueue(call_connection_id, url, events)
        self.queued.set()

    async def until(self, kind: str) -> None:
        async with asyncio.timeout(5):
            while kind not in self.types():
                self.queued.clear()
                await self.queued.wait()
