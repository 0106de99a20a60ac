"""The chat WebSocket: one per client, catch-up from a cursor, then live (docs/realtime.md).

connect(token, cursor?) ─▶ SessionAcceptor: authenticate (a chat scope) ─▶ accept
    ─▶ hub.attach (live events held back) ─▶ "hello" ─▶ replay stream events after cursor
       (or "resync" if beyond retention) ─▶ "live" (+ held events not yet sent)
    ─▶ HeartbeatSession.run: live events, pings, until: token expiry (4001) · revocation/
       deletion (4003) · no pong (4008) · too slow (4010)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

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
from switchboard.core.clock import Clock
from switchboard.http.identifiers import user_identifier_json
from switchboard.http.websocket import close_quietly, offered_subprotocols
from switchboard.http.websocket_session import (
    HeartbeatSession,
    HeartbeatSettings,
    SessionAcceptor,
    SessionClosedError,
    SlowClientLimit,
    TokenAuthority,
)

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4010
REPLAY_PAGE = 500


@dataclass(frozen=True)
class RealtimeSettings:
    heartbeat_seconds: float = 15.0
    queue_limit: int = 10_000


class RealtimeConnection:
    """One client as the hub sees it: holds live events back until its catch-up is done,
    then hands each, once and in cursor order, to its session's queue."""

    def __init__(self, session: HeartbeatSession) -> None:
        self.user_id = session.principal.user_id or ""
        self.last_seq = 0
        self._session = session
        self._recipient = msgspec.json.encode(user_identifier_json(self.user_id))
        self._held: list[ChatEvent] | None = []  # None once live

    def offer(self, event: ChatEvent) -> None:
        if self._held is not None:
            self._held.append(event)
            return
        text = self.text_of(event)
        if text is not None:
            self._session.send(text)

    def identity_changed(self) -> None:
        self._session.recheck()

    def go_live(self) -> int:
        """Queue the events held back during catch-up; the cursor the client resumes from."""
        cursor = self.last_seq
        held, self._held = self._held or [], None
        self._session.send_held(self._texts_of(held))
        return cursor

    def text_of(self, event: ChatEvent) -> str | None:
        """The event's frame for this user; None if it was sent already (during catch-up)."""
        if event.seq is not None:
            if event.seq <= self.last_seq:
                return None
            self.last_seq = event.seq
        head = event.frame_head or frame_head(event)
        return (head + self._recipient + b"}}").decode()

    def _texts_of(self, events: list[ChatEvent]) -> Iterator[str]:
        for event in events:
            text = self.text_of(event)
            if text is not None:
                yield text


class ChatRealtime:
    def __init__(
        self,
        hub: ChatHub,
        store: ChatStore,
        tokens: TokenAuthority,
        *,
        clock: Clock,
        settings: RealtimeSettings | None = None,
    ) -> None:
        self._hub = hub
        self._store = store
        self._settings = settings or RealtimeSettings()
        self._encoder = msgspec.json.Encoder()
        self._sessions = SessionAcceptor(
            tokens,
            clock=clock,
            settings=HeartbeatSettings(
                self._settings.heartbeat_seconds,
                ping_text=self._encoder.encode(PingFrame()).decode(),
                slow_client=SlowClientLimit(
                    self._settings.queue_limit,
                    CLOSE_TOO_SLOW,
                    "The client is too slow; reconnect with your cursor.",
                ),
                # A group commit's messages reach the hub together: one write per socket.
                coalesce=True,
            ),
            scopes=ANY_CHAT,
        )

    async def handle(self, websocket: WebSocket) -> None:
        # A browser that offers subprotocols (the token rides in one) must get one back, or it
        # fails the handshake; clients that offer none get none.
        offered = PROTOCOL if PROTOCOL in offered_subprotocols(websocket) else None
        session = await self._sessions.accept(websocket, subprotocol=offered)
        if session is None:
            return
        connection = RealtimeConnection(session)
        self._hub.attach(connection)
        try:
            await self._catch_up(session, connection)
            await session.run(_any_frame_is_a_pong)
        except SessionClosedError as closed:
            await close_quietly(websocket, closed.code, closed.reason)
        except WebSocketDisconnect:
            pass
        finally:
            self._hub.detach(connection)

    async def _catch_up(self, session: HeartbeatSession, connection: RealtimeConnection) -> None:
        websocket = session.websocket
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
                await self._replay(websocket, connection)
        else:
            connection.last_seq = start
        # The held events are queued now but only sent once the session runs, after "live".
        await self._send(websocket, LiveFrame(str(connection.go_live())))

    async def _replay(self, websocket: WebSocket, connection: RealtimeConnection) -> None:
        while True:
            events = await self._store.events_since(
                connection.user_id, connection.last_seq, REPLAY_PAGE
            )
            for event in events:
                text = connection.text_of(event)
                if text is not None:
                    await websocket.send_text(text)
            if len(events) < REPLAY_PAGE:
                return

    async def _send(self, websocket: WebSocket, frame: ServerFrame) -> None:
        await websocket.send_text(self._encoder.encode(frame).decode())


def _any_frame_is_a_pong(_text: str) -> None:
    """Clients send only pongs; any frame is proof of life, which the session records."""


def _cursor_of(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("cursor")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)
