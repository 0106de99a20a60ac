"""The chat WebSocket: one per client, catch-up from a cursor, then live (docs/realtime.md).

connect(token, cursor?) ─▶ authenticate ─▶ accept ─▶ hub.attach (live events buffer)
    ─▶ "hello" ─▶ replay stream events after cursor (or "resync" if beyond retention)
    ─▶ "live" (+ buffered events not yet sent) ─▶ live events, pings, until:
       token expiry (4001) · revocation/deletion (4003) · no pong (4008) · too slow (4010)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from switchboard.chat.access import ANY_CHAT
from switchboard.chat.domain_events import ChatEvent
from switchboard.chat.event_schemas import frame_head
from switchboard.chat.frames import (
    PROTOCOL,
    HelloFrame,
    LiveFrame,
    PingFrame,
    ResyncFrame,
    ServerFrame,
)
from switchboard.chat.hub import ChatHub
from switchboard.chat.store import ChatStore
from switchboard.core.errors import AuthenticationError, SwitchboardError, TokenRevokedError
from switchboard.core.principal import Principal
from switchboard.http.identifiers import user_identifier_json
from switchboard.http.websocket import close_code, close_quietly, token_of

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4001
CLOSE_REVOKED = 4003
CLOSE_HEARTBEAT = 4008
CLOSE_TOO_SLOW = 4010
REPLAY_PAGE = 500
_PING = PingFrame()


class TokenAuthority(Protocol):
    """What the socket needs from identity (IdentityService fits)."""

    async def authenticate_token(self, token: str) -> Principal: ...

    async def revalidate_token(self, token: str) -> Principal:
        """Like authenticate_token, but reads revocation state afresh (no cache)."""
        ...


@dataclass(frozen=True)
class RealtimeSettings:
    heartbeat_seconds: float = 15.0
    queue_limit: int = 10_000


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class RealtimeConnection:
    """One client: buffers live events until its catch-up is done, then queues them."""

    def __init__(self, user_id: str, limit: int) -> None:
        self.user_id = user_id
        self._limit = limit
        self._queue: asyncio.Queue[ChatEvent] = asyncio.Queue()
        self._buffer: list[ChatEvent] | None = []  # None once live
        self.last_seq = 0
        self.overflowed = False
        self.recheck = asyncio.Event()

    def offer(self, event: ChatEvent) -> None:
        if self._buffer is not None:
            self._buffer.append(event)
        elif self._queue.qsize() >= self._limit:
            self.overflowed = True
            self.recheck.set()  # wakes the loop, which closes the socket
        else:
            self._queue.put_nowait(event)

    def identity_changed(self) -> None:
        self.recheck.set()

    def go_live(self) -> None:
        buffered, self._buffer = self._buffer or [], None
        for event in buffered:
            self._queue.put_nowait(event)

    async def next_event(self) -> ChatEvent:
        return await self._queue.get()


class ChatRealtime:
    def __init__(
        self,
        hub: ChatHub,
        store: ChatStore,
        tokens: TokenAuthority,
        *,
        clock: Callable[[], float],
        settings: RealtimeSettings | None = None,
    ) -> None:
        self._hub = hub
        self._store = store
        self._tokens = tokens
        self._clock = clock
        self._settings = settings or RealtimeSettings()
        self._encoder = msgspec.json.Encoder()

    async def handle(self, websocket: WebSocket) -> None:
        token = token_of(websocket)
        await websocket.accept()
        try:
            principal = await self._tokens.authenticate_token(token)
            principal.require_scope(*ANY_CHAT)
        except SwitchboardError as exc:
            await close_quietly(websocket, close_code(exc), exc.message)
            return
        user_id = principal.user_id or ""
        connection = RealtimeConnection(user_id, self._settings.queue_limit)
        self._hub.attach(connection)
        try:
            await self._serve(websocket, connection, token, principal)
        except _Closed as closed:
            await close_quietly(websocket, closed.code, closed.reason)
        except WebSocketDisconnect:
            pass
        finally:
            self._hub.detach(connection)

    async def _serve(
        self,
        websocket: WebSocket,
        connection: RealtimeConnection,
        token: str,
        principal: Principal,
    ) -> None:
        recipient = msgspec.json.encode(user_identifier_json(connection.user_id))
        await self._send(
            websocket,
            HelloFrame(PROTOCOL, connection.user_id, self._settings.heartbeat_seconds),
        )
        cursor = _cursor_of(websocket)
        start = self._hub.next_seq - 1
        if cursor is not None:
            oldest, newest = await self._store.stream_bounds()
            # Older than retention: events are gone. Newer than the stream: the cursor is from
            # another deployment or a reset database. Either way the client must re-read.
            if cursor < oldest or cursor > max(newest, start):
                await self._send(websocket, ResyncFrame(str(oldest), str(start)))
                connection.last_seq = start
            else:
                connection.last_seq = cursor
                await self._replay(websocket, connection, recipient)
        else:
            connection.last_seq = start
        connection.go_live()
        await self._send(websocket, LiveFrame(str(connection.last_seq)))
        await self._pump(websocket, connection, token, principal, recipient)

    async def _replay(
        self, websocket: WebSocket, connection: RealtimeConnection, recipient: bytes
    ) -> None:
        while True:
            events = await self._store.events_since(
                connection.user_id, connection.last_seq, REPLAY_PAGE
            )
            for event in events:
                await self._send_event(websocket, connection, event, recipient)
            if len(events) < REPLAY_PAGE:
                return

    async def _pump(
        self,
        websocket: WebSocket,
        connection: RealtimeConnection,
        token: str,
        principal: Principal,
        recipient: bytes,
    ) -> None:
        # Events go out from their own task (_send_events): one wake-up per burst of events,
        # not an asyncio.wait over three tasks per event, which cost more than the send itself
        # with a thousand sockets. This loop keeps the rest: pings every heartbeat whatever
        # else is sent (so a busy stream still gets pongs back), a client silent for two
        # heartbeats is gone, token expiry, and rechecks (revocation, a too-slow client).
        heartbeat = self._settings.heartbeat_seconds
        last_heard = last_ping = self._clock()
        sender = asyncio.create_task(self._send_events(websocket, connection, recipient))
        receiver = asyncio.create_task(websocket.receive_text())
        recheck = asyncio.create_task(connection.recheck.wait())
        try:
            while True:
                now = self._clock()
                expires_in = (principal.expires_at or float("inf")) - now
                deadline = min(
                    last_ping + heartbeat - now, last_heard + 2 * heartbeat - now, expires_in
                )
                done, _ = await asyncio.wait(
                    {receiver, sender, recheck},
                    timeout=max(deadline, 0.0),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                now = self._clock()
                if sender in done:
                    sender.result()  # it only ends by raising (a send failed: disconnected)
                if (principal.expires_at or float("inf")) <= now:
                    raise _Closed(CLOSE_UNAUTHORIZED, "The access token has expired.")
                if receiver in done:
                    receiver.result()  # any frame (a pong, usually) proves the client is alive
                    last_heard = now
                    receiver = asyncio.create_task(websocket.receive_text())
                if recheck in done:
                    await self._recheck(connection, token)
                    recheck = asyncio.create_task(connection.recheck.wait())
                if now - last_heard > 2 * heartbeat:
                    raise _Closed(CLOSE_HEARTBEAT, "No pong from the client.")
                if now - last_ping >= heartbeat:
                    await self._send(websocket, _PING)
                    last_ping = now
        finally:
            for task in (receiver, sender, recheck):
                task.cancel()
            for task in (receiver, sender, recheck):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _send_events(
        self, websocket: WebSocket, connection: RealtimeConnection, recipient: bytes
    ) -> None:
        """Live events, in order, until cancelled or a send fails."""
        while True:
            # Queue.get returns at once while events are queued: a burst is sent without
            # yielding to the loop between events (uvicorn's send does not wait either
            # unless the socket's buffer is full).
            event = await connection.next_event()
            await self._send_event(websocket, connection, event, recipient)

    async def _recheck(self, connection: RealtimeConnection, token: str) -> None:
        connection.recheck.clear()
        if connection.overflowed:
            raise _Closed(CLOSE_TOO_SLOW, "The client is too slow; reconnect with your cursor.")
        try:
            await self._tokens.revalidate_token(token)
        except TokenRevokedError as exc:
            raise _Closed(CLOSE_REVOKED, exc.message) from exc
        except AuthenticationError as exc:
            raise _Closed(CLOSE_UNAUTHORIZED, exc.message) from exc

    async def _send_event(
        self,
        websocket: WebSocket,
        connection: RealtimeConnection,
        event: ChatEvent,
        recipient: bytes,
    ) -> None:
        if event.seq is not None:
            if event.seq <= connection.last_seq:
                return  # already sent during catch-up
            connection.last_seq = event.seq
        head = event.frame_head or frame_head(event)
        await websocket.send_text((head + recipient + b"}}").decode())

    async def _send(self, websocket: WebSocket, frame: ServerFrame) -> None:
        await websocket.send_text(self._encoder.encode(frame).decode())


def _cursor_of(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("cursor")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)
