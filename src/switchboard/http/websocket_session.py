"""One server-side WebSocket session with a heartbeat: what chat real-time and calling share.

    SessionAcceptor.accept(websocket) ─▶ token_of ─▶ accept ─▶ authenticate + scope
        ├─ refused: closed with 4001 · 4003 · the protocol's "forbidden" code ─▶ None
        └─ a HeartbeatSession (the protocol's own greeting goes out on session.websocket)

    session.run(on_text) ─▶ first_completed(
        receive ─ every client frame is proof of life ─▶ on_text(text)
        send    ─ queued frames in order ─▶ then a close asked for with close(code, reason)
        watch   ─ ping every heartbeat, however busy the send side · nothing heard for two
                  heartbeats (4008) · token expiry (4001) · recheck(): revoked (4003) or
                  invalid (4001) · queue over its bound (the protocol's too-slow code, at once)
    ) ─▶ the first to end decides; the other two are cancelled and awaited

``run`` ends by raising: ``SessionClosedError`` (the endpoint reacts, then closes the socket
with its code), ``WebSocketDisconnect`` (the client went away) or whatever ``on_text`` raised.
``send``, ``close`` and ``recheck`` never block, so the hubs call them from their own tasks;
the session is what calling's DeviceConnection and chat's receiver drive.

Timing reads the injected ``Clock``; the watchdog sleeps until the next thing due by that
clock (a ``FakeClock`` that does not move only re-arms the same wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from switchboard.core.clock import Clock
from switchboard.core.errors import AuthenticationError, SwitchboardError, TokenRevokedError
from switchboard.core.principal import Principal
from switchboard.core.tasks import first_completed
from switchboard.http.websocket import (
    CLOSE_HEARTBEAT,
    CLOSE_REVOKED,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNSUPPORTED_DATA,
    close_code,
    close_quietly,
    token_of,
)


class TokenAuthority(Protocol):
    """What a session needs from identity (IdentityService fits)."""

    async def authenticate_token(self, token: str) -> Principal: ...

    async def revalidate_token(self, token: str) -> Principal:
        """Like authenticate_token, but reads revocation state afresh (no cache)."""
        ...


class SessionClosedError(Exception):
    """The server closes the socket with ``code`` (raised by the session or a protocol)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SlowClientLimit:
    """More than ``frames`` queued for the client: close with ``code`` at once."""

    frames: int
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class HeartbeatSettings:
    heartbeat_seconds: float
    ping_text: str  # the protocol's ping frame, encoded
    slow_client: SlowClientLimit | None = None  # None: the queue is unbounded


class SessionAcceptor:
    """Accepts and authenticates one protocol's sockets, each into a ``HeartbeatSession``."""

    def __init__(
        self,
        tokens: TokenAuthority,
        *,
        clock: Clock,
        settings: HeartbeatSettings,
        scopes: tuple[str, ...],
        forbidden: int = CLOSE_UNAUTHORIZED,
    ) -> None:
        self._tokens = tokens
        self._clock = clock
        self._settings = settings
        self._scopes = scopes
        self._forbidden = forbidden  # a valid token without any of ``scopes``

    async def accept(
        self, websocket: WebSocket, *, subprotocol: str | None = None
    ) -> HeartbeatSession | None:
        """The session, or None when the token was refused (the socket is closed then)."""
        token = token_of(websocket)
        # Accept first: a close code only reaches the client on an accepted socket.
        await websocket.accept(subprotocol=subprotocol)
        try:
            principal = await self._tokens.authenticate_token(token)
            principal.require_scope(*self._scopes)
        except SwitchboardError as exc:
            code = close_code(exc, forbidden=self._forbidden)
            await close_quietly(websocket, code, exc.message)
            return None
        return HeartbeatSession(
            websocket, token, principal, self._tokens, clock=self._clock, settings=self._settings
        )


class HeartbeatSession:
    """One accepted, authenticated socket: its outgoing queue, heartbeat and token checks."""

    def __init__(
        self,
        websocket: WebSocket,
        token: str,
        principal: Principal,
        tokens: TokenAuthority,
        *,
        clock: Clock,
        settings: HeartbeatSettings,
    ) -> None:
        self.websocket = websocket
        self.token = token
        self.principal = principal
        self._tokens = tokens
        self._clock = clock
        self._settings = settings
        self._outgoing: deque[str] = deque()
        self._queued = asyncio.Event()  # wakes the sender
        self._alarm = asyncio.Event()  # wakes the watchdog
        self._closing: SessionClosedError | None = None  # once the queue is sent
        self._aborting: SessionClosedError | None = None  # at once
        self._recheck_due = False
        self._last_heard = self._last_ping = clock.now()

    # ── what the protocol's hub calls (never blocks) ─────────────────────────────────

    def send(self, text: str) -> None:
        """Queue a frame; over the slow-client bound the session closes instead."""
        limit = self._settings.slow_client
        if limit is not None and len(self._outgoing) >= limit.frames:
            if self._aborting is None:
                self._aborting = SessionClosedError(limit.code, limit.reason)
                self._alarm.set()
            return
        self._outgoing.append(text)
        self._queued.set()

    def send_first(self, text: str) -> None:
        """Queue a frame ahead of everything queued (calling's register ack before replay)."""
        self._outgoing.appendleft(text)
        self._queued.set()

    def send_held(self, texts: Iterable[str]) -> None:
        """Queue frames held back while the protocol caught up; the bound is not applied."""
        self._outgoing.extend(texts)
        self._queued.set()

    def close(self, code: int, reason: str) -> None:
        """Close with ``code`` once every frame queued so far has been sent."""
        if self._closing is None:
            self._closing = SessionClosedError(code, reason)
        self._queued.set()

    def recheck(self) -> None:
        """The user's tokens changed (revoked, identity deleted): check the token again."""
        self._recheck_due = True
        self._alarm.set()

    # ── the connection ───────────────────────────────────────────────────────────────

    async def run(self, on_text: Callable[[str], None]) -> None:
        """Serve until the server closes (raises ``SessionClosedError``) or the client leaves.

        ``on_text`` gets each client frame in order; it may raise ``SessionClosedError``.
        """
        self._last_heard = self._last_ping = self._clock.now()
        await first_completed(self._receive(on_text), self._send_queued(), self._watch())

    async def _receive(self, on_text: Callable[[str], None]) -> None:
        receive, clock = self.websocket.receive, self._clock
        while True:
            message = await receive()
            text = message.get("text")
            if text is None:
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
                # Both protocols are JSON text frames: a binary one gets a proper close.
                raise SessionClosedError(
                    CLOSE_UNSUPPORTED_DATA, "Only text frames are part of this protocol."
                )
            self._last_heard = clock.now()
            on_text(text)

    async def _send_queued(self) -> None:
        # One wake-up per burst: a deque drained without yielding to the loop between frames
        # (the server's send does not wait either unless the socket's buffer is full).
        outgoing, send = self._outgoing, self.websocket.send_text
        while True:
            while outgoing:
                await send(outgoing.popleft())
            if self._closing is not None:
                raise self._closing
            self._queued.clear()
            await self._queued.wait()

    async def _watch(self) -> None:
        heartbeat = self._settings.heartbeat_seconds
        expires = self.principal.expires_at or math.inf
        while True:
            self._alarm.clear()  # before the checks: an alarm raised during them re-runs them
            if self._aborting is not None:
                raise self._aborting
            if self._recheck_due:
                self._recheck_due = False
                await self._revalidate()
            # Each check compares with the very time the wait below is armed for: were they
            # computed differently (now - last ≥ interval), rounding could leave a wake-up
            # with nothing due, again and again.
            now = self._clock.now()
            if now >= expires:
                raise SessionClosedError(CLOSE_UNAUTHORIZED, "The access token has expired.")
            if now >= self._last_heard + 2 * heartbeat:
                raise SessionClosedError(CLOSE_HEARTBEAT, "No pong from the client.")
            if now >= self._last_ping + heartbeat:
                # Straight to the socket, not behind the queue: a client busy reading a long
                # burst still gets its ping every heartbeat, and its pong keeps it alive.
                await self.websocket.send_text(self._settings.ping_text)
                self._last_ping = now
            due = min(self._last_ping + heartbeat, self._last_heard + 2 * heartbeat, expires)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(due - now):
                    await self._alarm.wait()

    async def _revalidate(self) -> None:
        try:
            await self._tokens.revalidate_token(self.token)
        except TokenRevokedError as exc:
            raise SessionClosedError(CLOSE_REVOKED, exc.message) from exc
        except AuthenticationError as exc:
            raise SessionClosedError(CLOSE_UNAUTHORIZED, exc.message) from exc
