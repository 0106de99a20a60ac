"""``ChatEvents``: a user's chat events as an async iterator that reconnects by itself.

    async with ChatEvents("https://host:8443", token, ssl="ca.pem") as events:
        async for event in events:          # ChatEvent(name, cursor, data) or Resync
            ...
        # events.cursor: store it; ChatEvents(..., cursor=saved) resumes exactly there

One reader task (owned by the ``async with``) runs the connection loop:

    token ─▶ connect wss://…/chat/realtime?cursor=<resume cursor> ─▶ frames ─▶ EventSession
       ▲          │ refused / dropped / server silent (heartbeat_grace)        │ pongs ─▶ server
       │          ▼                                                          ▼ events ─▶ consumer
       └─ backoff (exponential, jitter) ◀── close: 4001 → fetch a new token (if callable)
                                                   4003 → ChatEventsClosed (iteration ends)
                                                   anything else → reconnect with the cursor

Everything protocol-shaped (dedupe by cursor, resync, ping → pong, timers) lives in the
sans-I/O ``EventSession``; this module only moves frames and sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from types import TracebackType
from typing import Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from switchboard.client.backoff import Backoff
from switchboard.client.chat.session import (
    CLOSE_REVOKED,
    CLOSE_UNAUTHORIZED,
    ChatEvent,
    ChatEventsClosed,
    ChatEventsRejected,
    EventSession,
    Resync,
    realtime_url,
)
from switchboard.client.tokens import TokenSource, token_of

log = logging.getLogger(__name__)

MAX_PENDING = 10_000  # events received but not yet consumed; beyond it, stop reading
_CLOSED_ABRUPTLY = 1006


class ChatEvents:
    """Chat events of the token's user; see the module docstring.

    ``token`` is a user access token, or a function (sync or async) returning a fresh one:
    it is called once at the start and again whenever the server closes with 4001 (token
    expired or invalid). With a plain string, 4001 ends the iteration with ChatEventsClosed,
    as does 4003 (revoked) always. ``cursor`` resumes after a position saved from
    ``.cursor``. ``ssl`` is a context or a CA file to trust. ``heartbeat_grace`` is how many
    seconds of silence mean the server is dead (default: twice its heartbeat interval).
    """

    def __init__(
        self,
        endpoint: str,
        token: TokenSource,
        *,
        cursor: str | None = None,
        ssl: ssl_module.SSLContext | str | None = None,
        heartbeat_grace: float | None = None,
        backoff: Backoff | None = None,
        open_timeout: float = 10.0,
    ) -> None:
        realtime_url(endpoint, None)  # fail fast on a malformed endpoint
        self._endpoint = endpoint
        self._token_source = token
        self._ssl = ssl_module.create_default_context(cafile=ssl) if isinstance(ssl, str) else ssl
        self._session = EventSession(
            cursor, heartbeat_grace=heartbeat_grace, hello_timeout=open_timeout
        )
        self._backoff = backoff or Backoff()
        self._open_timeout = open_timeout
        self._reader: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # the queue grew, or the reader ended
        self._room = asyncio.Event()  # the queue has room again
        self._room.set()

    @property
    def cursor(self) -> str | None:
        """Position after the last event yielded: pass it as ``cursor`` to resume."""
        return self._session.cursor

    @property
    def user_id(self) -> str | None:
        """The user the server says the token belongs to (known after the first hello)."""
        return self._session.user_id

    # ---- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._reader is not None:
            raise RuntimeError("ChatEvents can be entered only once")
        self._reader = asyncio.create_task(self._run(), name="ChatEvents reader")
        self._reader.add_done_callback(lambda _: self._wake.set())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        reader = self._reader
        if reader is None:
            return
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader

    # ---- iteration -----------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ChatEvent | Resync:
        reader = self._reader
        if reader is None:
            raise RuntimeError("use `async with ChatEvents(...) as events:` before iterating")
        while True:
            item = self._session.next_event()
            if item is not None:
                if self._session.pending < MAX_PENDING:
                    self._room.set()
                return item
            if reader.done():
                if reader.cancelled():
                    raise StopAsyncIteration
                failure = reader.exception()
                if failure is not None:
                    raise failure
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    # ---- the reader task -----------------------------------------------------------------

    async def _run(self) -> None:
        token = await self._fetch_token()
        refetched = False  # the token was fetched after a 4001 and not yet accepted
        while True:
            url = realtime_url(self._endpoint, self._session.resume_cursor)
            try:
                connection = await connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    ssl=self._ssl if url.startswith("wss:") else None,
                    open_timeout=self._open_timeout,
                    ping_interval=None,  # the protocol has its own heartbeat
                    close_timeout=1.0,
                    max_queue=64,
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                if 400 <= status < 500 and status not in (408, 429):
                    raise ChatEventsRejected(status) from exc
                await self._pause(f"handshake answered HTTP {status}")
                continue
            except ssl_module.SSLCertVerificationError:
                raise  # retrying will not make the certificate trusted
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                await self._pause(f"cannot connect: {exc!r}")
                continue
            code, reason = await self._serve(connection)
            if self._session.greeted:
                refetched = False  # the token in hand was accepted
            if code == CLOSE_REVOKED:
                raise ChatEventsClosed(code, reason)
            if code == CLOSE_UNAUTHORIZED:
                # A token fetched because of a refusal and refused at once will not improve.
                if isinstance(self._token_source, str) or (refetched and not self._session.greeted):
                    raise ChatEventsClosed(code, reason)
                log.info("chat events: token refused (%s); fetching a new one", reason)
                token = await self._fetch_token()
                refetched = True
                continue
            if self._session.live:
                self._backoff.reset()
            await self._pause(f"connection ended ({code}: {reason or 'no reason'})")

    async def _serve(self, connection: ClientConnection) -> tuple[int, str]:
        """Pump one connection until it ends; the close code and reason."""
        session = self._session
        loop = asyncio.get_running_loop()
        session.connection_made(loop.time())
        try:
            while True:
                for frame in session.data_to_send():
                    await connection.send(frame)
                if session.pending >= MAX_PENDING:
                    self._room.clear()
                    await self._room.wait()  # the consumer is behind: stop reading for now
                try:
                    async with asyncio.timeout_at(session.next_timer()):
                        text = await connection.recv()
                except TimeoutError:
                    if session.handle_timer(loop.time()):
                        connection.transport.abort()  # no closing handshake with the silent
                        return _CLOSED_ABRUPTLY, "the server went silent"
                    continue
                session.receive(text, loop.time())
                self._wake.set()
        except ConnectionClosed as exc:
            if exc.rcvd is None:
                return _CLOSED_ABRUPTLY, "connection lost"
            return exc.rcvd.code, exc.rcvd.reason
        finally:
            await _close(connection)

    async def _pause(self, why: str) -> None:
        delay = self._backoff.next_delay()
        log.info("chat events: %s; reconnecting in %.2f s", why, delay)
        await asyncio.sleep(delay)

    async def _fetch_token(self) -> str:
        return await token_of(self._token_source)


async def _close(connection: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        await connection.close()
