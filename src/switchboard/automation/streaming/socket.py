"""StreamSocket: one subscription's WebSocket to the app, which never holds up the media.

    media (every 20 ms, on the loop) ─send(frame)─▶ bounded queue (oldest dropped, counted)
        ─▶ run(): connect (through the SSRF guard) ─▶ the metadata frame ─▶ the queue, in
           order ─▶ the app;  the app's messages ─▶ on_message (bidirectional audio)
    outcomes ─▶ on_state: CONNECTED, FAILED (never connected), INTERRUPTED (the app closed or
        the connection broke), CLOSED (we closed it)

A slow app only fills the queue: ``send`` never waits, so the call's media never does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import Protocol

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
QUEUE_FRAMES = 50  # 1 s of 20 ms frames: a slow app loses the oldest, latency stays bounded


class StreamConnectError(Exception):
    """The transport URL could not be reached (refused, unresolvable, TLS, handshake)."""


class StreamConnection(Protocol):
    async def send(self, message: bytes) -> None:
        """One text message (UTF-8 JSON)."""
        ...

    def messages(self) -> AsyncIterator[str | bytes]: ...

    async def close(self) -> None: ...


class StreamConnector(Protocol):
    async def connect(self, url: str) -> StreamConnection:
        """StreamConnectError if the URL cannot be reached or is refused by the guard."""
        ...


class SocketState(StrEnum):
    CONNECTED = "connected"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CLOSED = "closed"


class StreamSocket:
    def __init__(
        self,
        url: str,
        connector: StreamConnector,
        first: bytes,
        *,
        on_state: Callable[[SocketState, str], None],
        on_message: Callable[[str | bytes], None] | None = None,
        max_frames: int = QUEUE_FRAMES,
    ) -> None:
        self.url = url
        self._connector = connector
        self._first = first
        self._on_state = on_state
        self._on_message = on_message
        self._queue: deque[bytes] = deque()
        self._max = max_frames
        self._ready = asyncio.Event()
        self._closing = False
        self.sent_frames = 0
        self.dropped_frames = 0

    def send(self, frame: bytes) -> None:
        """Queue a frame; never waits. Past ``max_frames`` the oldest is dropped."""
        if self._closing:
            return
        if len(self._queue) >= self._max:
            self._queue.popleft()
            self.dropped_frames += 1
        self._queue.append(frame)
        self._ready.set()

    def close(self) -> None:
        """Stop sending; run() closes the connection and reports CLOSED."""
        self._closing = True
        self._ready.set()

    async def run(self) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                connection = await self._connector.connect(self.url)
        except (StreamConnectError, TimeoutError, OSError) as error:
            log.info("stream to %s: cannot connect: %s", self.url, error or "timed out")
            self._on_state(SocketState.FAILED, str(error) or "timed out")
            return
        if self._closing:
            await connection.close()
            self._on_state(SocketState.CLOSED, "")
            return
        self._on_state(SocketState.CONNECTED, "")
        reader = asyncio.get_running_loop().create_task(self._read(connection))
        outcome, detail = SocketState.CLOSED, ""
        try:
            await connection.send(self._first)
            while True:
                while self._queue and not self._closing:
                    await connection.send(self._queue.popleft())
                    self.sent_frames += 1
                if self._closing:
                    break
                if reader.done():
                    outcome, detail = SocketState.INTERRUPTED, "the app closed the connection"
                    break
                self._ready.clear()
                waiter = asyncio.ensure_future(self._ready.wait())
                await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        except Exception as error:  # a broken connection: the call goes on without it
            outcome, detail = SocketState.INTERRUPTED, str(error) or type(error).__name__
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            try:
                await connection.close()
            except Exception:
                log.debug("stream to %s: close failed", self.url, exc_info=True)
        self._on_state(outcome, detail)

    async def _read(self, connection: StreamConnection) -> None:
        async for message in connection.messages():
            if self._on_message is not None:
                try:
                    self._on_message(message)
                except Exception:
                    log.exception("stream to %s: the app's message failed", self.url)
