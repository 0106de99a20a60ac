"""One server-side WebSocket session with a heartbeat: what chat real-time and calling share.

    SessionAcceptor.accept(websocket) ─▶ token_of ─▶ accept ─▶ authenticate + scope
        ├─ refused: closed with 4001 · 4003 · the protocol's "forbidden" code ─▶ None
        └─ a HeartbeatSession (the protocol's own greeting goes out on session.websocket)

    session.run(on_text), in the caller's task: receive ─ every client frame is proof of
        life ─▶ on_text(text) ─▶ … until _end(reason) (from a timer, a failed write, a
        recheck, a close) cancels that receive, or the client goes away
    send(text) ─▶ written at once (start_eagerly: no task) ─▶ or, while a write waits on a
        full buffer, queued; that write's task sends the queue (the ping first) when done ─▶
        then a close asked for with close(code, reason) · queue over its bound: the
        protocol's too-slow code, at once
        · with ``coalesce`` (chat): queued until the end of the loop's turn (one call_soon),
        so a burst of events to one socket goes out together
    the queue ─▶ one write (send_texts: one TLS record, one send()) where the server offers
        it (http/uvicorn_websockets.py), else frame by frame
    one timer (loop.call_at), re-armed each time it fires for the next thing due by the
        clock: a ping every heartbeat, however busy the send side · nothing heard for two
        heartbeats (4008) · token expiry (4001)
    recheck() ─▶ a task while it runs: revoked (4003) or invalid (4001)

``run`` ends by raising: ``SessionClosedError`` (the endpoint reacts, then closes the socket
with its code), ``WebSocketDisconnect`` (the client went away) or whatever ``on_text`` raised;
the write and recheck tasks, if any, are cancelled and awaited first.
``send``, ``close`` and ``recheck`` never block, so the hubs call them from their own tasks;
the session is what calling's DeviceConnection and chat's receiver drive.

An idle session costs its handler's task (blocked in receive), one timer handle and this
object: no task, event or deque of its own (issue 13: 10,000 idle sockets per node).
Timing reads the injected ``Clock``; the timer waits until the next thing due by that clock
(a ``FakeClock`` that does not move only re-arms the same wait).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from switchboard.core.clock import Clock
from switchboard.core.errors import AuthenticationError, SwitchboardError, TokenRevokedError
from switchboard.core.principal import Principal
from switchboard.core.tasks import start_eagerly
from switchboard.http.websocket import (
    CLOSE_HEARTBEAT,
    CLOSE_REVOKED,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNSUPPORTED_DATA,
    close_code,
    close_quietly,
    send_texts,
    sends_texts,
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
    # Frames sent in one turn of the event loop are written together after it (a burst of
    # chat events to one member: one write, not one per event). Off: each is written at once.
    coalesce: bool = False


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


class _Phase(Enum):
    NEW = "new"  # not running yet: frames are queued, sent once it runs
    RUNNING = "running"
    ENDED = "ended"  # frames are dropped


class HeartbeatSession:
    """One accepted, authenticated socket: its outgoing frames, heartbeat and token checks.

    Nothing runs for it but ``run``'s own task, blocked in ``receive``, and one timer handle.
    A frame is written at once; only while a write waits (the socket's buffer is full) are
    the next ones queued, and a task exists that finishes the write and then the queue.
    """

    __slots__ = (
        "_checking",
        "_clock",
        "_closing",
        "_coalescing",
        "_ending",
        "_interrupted",
        "_last_heard",
        "_last_ping",
        "_outgoing",
        "_phase",
        "_ping_due",
        "_recheck_due",
        "_run_task",
        "_sending",
        "_settings",
        "_timer",
        "_tokens",
        "principal",
        "token",
        "websocket",
    )

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
        self._phase = _Phase.NEW
        self._outgoing: deque[str] | None = None  # made only when a frame has to wait
        self._sending: asyncio.Task[None] | None = None  # a write that had to wait
        self._ping_due = False  # a ping waits for the write in flight, ahead of the queue
        self._coalescing: asyncio.Handle | None = None  # the queue goes out at this call
        self._closing: SessionClosedError | None = None  # once the queue is sent
        self._ending: BaseException | None = None  # what run() raises; the first one wins
        self._run_task: asyncio.Task[None] | None = None
        self._interrupted = False  # _end cancelled run()'s task
        self._timer: asyncio.TimerHandle | None = None
        self._checking: asyncio.Task[None] | None = None  # a token recheck
        self._recheck_due = False
        self._last_heard = self._last_ping = clock.now()

    # ── what the protocol's hub calls (never blocks) ─────────────────────────────────

    def send(self, text: str) -> None:
        """Send a frame (queued while a write waits); over the slow-client bound the session
        closes instead."""
        if self._phase is _Phase.ENDED:
            return
        queued = self._outgoing
        if queued is None:
            if self._writable():
                if not self._settings.coalesce:
                    self._write(text)
                    return
                # The first frame of this turn: the rest of the turn's join it in the queue.
                self._coalescing = asyncio.get_running_loop().call_soon(self._flush)
            queued = self._outgoing = deque()
        limit = self._settings.slow_client
        if limit is not None and len(queued) >= limit.frames:
            self._end(SessionClosedError(limit.code, limit.reason))
            return
        queued.append(text)

    def send_first(self, text: str) -> None:
        """Send a frame ahead of everything queued (calling's register ack before replay)."""
        if self._writable():
            self._write(text)
        elif self._phase is not _Phase.ENDED:
            self._queue().appendleft(text)

    def send_held(self, texts: Iterable[str]) -> None:
        """Send frames held back while the protocol caught up; the bound is not applied."""
        if self._phase is not _Phase.ENDED:
            self._queue().extend(texts)
            self._flush()

    def close(self, code: int, reason: str) -> None:
        """Close with ``code`` once every frame queued so far has been sent."""
        if self._closing is None:
            self._closing = SessionClosedError(code, reason)
        self._flush()

    def recheck(self) -> None:
        """The user's tokens changed (revoked, identity deleted): check the token again."""
        self._recheck_due = True
        if self._phase is _Phase.RUNNING and self._checking is None:
            self._checking = asyncio.get_running_loop().create_task(self._revalidate())

    # ── the connection ───────────────────────────────────────────────────────────────

    async def run(self, on_text: Callable[[str], None]) -> None:
        """Serve until the server closes (raises ``SessionClosedError``) or the client leaves.

        ``on_text`` gets each client frame in order; it may raise ``SessionClosedError``.
        """
        task = asyncio.current_task()
        if task is None or self._phase is not _Phase.NEW:
            raise RuntimeError("a session runs once, in a task")
        cancelling = task.cancelling()
        self._run_task, self._phase = task, _Phase.RUNNING
        self._last_heard = self._last_ping = now = self._clock.now()
        error: BaseException | None = None
        try:
            if self._recheck_due:
                self.recheck()
            self._flush()
            if self._ending is None:
                self._arm(now)
            # The receive loop, inline: a coroutine of its own would cost every held socket
            # its frame.
            receive, clock = self.websocket.receive, self._clock
            while self._ending is None:
                message = await receive()
                text = message.get("text")
                if text is None:
                    if message["type"] == "websocket.disconnect":
                        code = message.get("code", 1000)
                        raise WebSocketDisconnect(code, message.get("reason"))
                    # Both protocols are JSON text frames: a binary one gets a proper close.
                    raise SessionClosedError(
                        CLOSE_UNSUPPORTED_DATA, "Only text frames are part of this protocol."
                    )
                self._last_heard = clock.now()
                on_text(text)  # may end the session (a failed send, a close): seen above
        except asyncio.CancelledError:
            # Our own interruption (as asyncio.timeout tells its own): anyone else's goes on.
            if not self._interrupted or task.uncancel() > cancelling:
                raise
        finally:
            error = await self._stop()
        if error is not None:
            try:
                raise error
            finally:
                del error  # the traceback holds this frame: no cycle through the local

    async def _stop(self) -> BaseException | None:
        """Stop the timer and the tasks of the session; why it ended (``_end``), if it did."""
        error, self._ending = self._ending, None  # not kept: it may reach back to us
        self._phase = _Phase.ENDED
        self._outgoing = None
        if self._coalescing is not None:
            self._coalescing.cancel()
            self._coalescing = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        tasks = [task for task in (self._sending, self._checking) if task is not None]
        self._run_task = self._sending = self._checking = None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        return error

    def _end(self, error: BaseException) -> None:
        """End ``run`` with ``error`` (the first reason wins), interrupting its receive."""
        if self._ending is not None or self._phase is _Phase.ENDED:
            return
        self._ending = error
        task = self._run_task
        # From run's own task (on_text, the first flush) the receive loop sees it instead.
        if task is not None and task is not asyncio.current_task():
            self._interrupted = True
            task.cancel()

    # ── writing ──────────────────────────────────────────────────────────────────────

    def _writable(self) -> bool:
        return self._phase is _Phase.RUNNING and self._sending is None and self._ending is None

    def _queue(self) -> deque[str]:
        if self._outgoing is None:
            self._outgoing = deque()
        return self._outgoing

    def _write(self, text: str) -> None:
        self._start(self.websocket.send_text(text))

    def _start(self, send: Coroutine[Any, Any, None]) -> None:
        # The send runs here, in the caller, to its end unless the socket's buffer is full;
        # then a task finishes it and, once done, sends what was queued meanwhile.
        try:
            sending = start_eagerly(send)
        except Exception as exc:  # the socket is gone (WebSocketDisconnect) or closed
            self._end(exc)
            return
        if sending is not None:
            self._sending = sending
            sending.add_done_callback(self._sent)

    def _sent(self, sending: asyncio.Task[None]) -> None:
        self._sending = None
        if sending.cancelled():
            return
        error = sending.exception()
        if error is not None:
            self._end(error)
            return
        self._flush()

    def _flush(self) -> None:
        """Write the ping due and the queue, until a write has to wait or all are sent; then
        a requested close."""
        if self._coalescing is not None:  # whoever flushes first sends the turn's frames
            self._coalescing.cancel()
            self._coalescing = None
        while self._writable():
            if self._ping_due:
                self._ping_due = False
                self._write(self._settings.ping_text)
            elif self._outgoing:
                queued = self._outgoing
                if sends_texts(self.websocket):
                    texts = list(queued)
                    queued.clear()
                    self._start(send_texts(self.websocket, texts))
                else:
                    self._write(queued.popleft())
            else:
                self._outgoing = None
                if self._closing is not None:
                    self._end(self._closing)
                return

    # ── heartbeat and token ──────────────────────────────────────────────────────────

    def _arm(self, now: float) -> None:
        heartbeat = self._settings.heartbeat_seconds
        due = min(
            self._last_ping + heartbeat,
            self._last_heard + 2 * heartbeat,
            self.principal.expires_at or math.inf,
        )
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(loop.time() + (due - now), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        heartbeat = self._settings.heartbeat_seconds
        # Each check compares with the very time the timer is armed for: were they computed
        # differently (now - last ≥ interval), rounding could leave a wake-up with nothing
        # due, again and again. A FakeClock that does not move only re-arms the same wait.
        now = self._clock.now()
        if now >= (self.principal.expires_at or math.inf):
            self._end(SessionClosedError(CLOSE_UNAUTHORIZED, "The access token has expired."))
            return
        if now >= self._last_heard + 2 * heartbeat:
            self._end(SessionClosedError(CLOSE_HEARTBEAT, "No pong from the client."))
            return
        if now >= self._last_ping + heartbeat:
            self._last_ping = now
            # Not behind the queue: a client busy reading a long burst still gets its ping
            # right after the write in flight, and its pong keeps it alive.
            if self._writable():
                self._write(self._settings.ping_text)
            else:
                self._ping_due = True
        if self._ending is None:
            self._arm(now)

    async def _revalidate(self) -> None:
        try:
            while self._recheck_due:
                self._recheck_due = False
                try:
                    await self._tokens.revalidate_token(self.token)
                except TokenRevokedError as exc:
                    raise SessionClosedError(CLOSE_REVOKED, exc.message) from exc
                except AuthenticationError as exc:
                    raise SessionClosedError(CLOSE_UNAUTHORIZED, exc.message) from exc
        except Exception as exc:  # a store failure, say: run() raises it, as it would its own
            self._end(exc)
        finally:
            self._checking = None
