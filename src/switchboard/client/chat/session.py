"""Sans-I/O core of the chat event client (protocol ``switchboard.chat.v1``, docs/realtime.md).

No sockets, no sleeps: the asyncio glue (``events.py``) feeds it frames and the time, and
asks it what to send, when to wake up and what to hand to the consumer.

    connection_made(now) ─▶ receive(frame, now) … ─▶ next_event() → ChatEvent | Resync | None
                            data_to_send() → pongs           next_timer() / handle_timer(now)

Cursors: ``resume_cursor`` is the highest stored event accepted so far (what a reconnect asks
for; anything at or below it is a duplicate and dropped); ``cursor`` is the highest one handed
to the consumer (what a caller stores to resume later). They differ only while accepted events
wait in the queue.

Heartbeats: the server pings every ``heartbeatSeconds`` however busy the stream, and closes
a client it has not heard from for two intervals; the session answers each ping with a pong
and sends nothing on its own. A server that sends nothing for ``heartbeat_grace`` (default
two intervals) is presumed dead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args
from urllib.parse import urlencode, urlsplit, urlunsplit

import msgspec

from switchboard.chat.frames import (
    PROTOCOL,
    EventFrame,
    HelloFrame,
    LiveFrame,
    PingFrame,
    PongFrame,
    ServerFrame,
)

PATH = "/chat/realtime"
PONG = msgspec.json.encode(PongFrame()).decode()
HELLO_TIMEOUT = 10.0

CLOSE_UNAUTHORIZED = 4001  # token missing, invalid or expired: fresh token, reconnect
CLOSE_REVOKED = 4003  # tokens revoked or identity deleted: stop
CLOSE_HEARTBEAT = 4008  # the server did not hear from us: reconnect
CLOSE_TOO_SLOW = 4010  # we fell too far behind: reconnect


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One event; ``cursor`` is None for ephemeral events (typing), which are never replayed."""

    name: str
    cursor: str | None
    data: Mapping[str, Any]

    @property
    def thread_id(self) -> str | None:
        thread_id = self.data.get("threadId")
        return thread_id if isinstance(thread_id, str) else None


@dataclass(frozen=True, slots=True)
class Resync:
    """Events after our cursor are gone (beyond retention): re-read state over REST.

    Events continue after ``cursor``; ``oldest_cursor`` is the oldest position still kept.
    """

    oldest_cursor: str
    cursor: str


class ChatEventsError(Exception):
    """Base of the client's errors.

    ChatEventsError
    ├── ChatEventsClosed   the server closed the stream for good (4003; 4001 with no new token)
    ├── ChatEventsRejected the WebSocket handshake was refused (HTTP 4xx)
    └── ProtocolViolation  the server does not speak switchboard.chat.v1
    """


class ChatEventsClosed(ChatEventsError):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed by the server ({code}): {reason}")
        self.code = code
        self.reason = reason


class ChatEventsRejected(ChatEventsError):
    def __init__(self, status: int) -> None:
        super().__init__(f"the server refused the WebSocket handshake: HTTP {status}")
        self.status = status


class ProtocolViolation(ChatEventsError):
    pass


@dataclass(frozen=True, slots=True)
class _Position:
    """Queue marker: once everything before it is consumed, ``cursor`` may move here."""

    cursor: int


class _Kind(msgspec.Struct):
    """Just enough of a frame that is not a known ServerFrame to say why."""

    type: str
    protocol: str | None = None


_decoder = msgspec.json.Decoder(ServerFrame)
_kind_decoder = msgspec.json.Decoder(_Kind)
_KNOWN = {frame.__struct_config__.tag for frame in get_args(ServerFrame)}


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()):
        raise ValueError(f"a cursor is a decimal string; got {cursor!r}")
    return int(cursor)


def realtime_url(endpoint: str, cursor: str | None) -> str:
    """``https://host:port[/base]`` → ``wss://host:port[/base]/chat/realtime?cursor=N``."""
    url = urlsplit(endpoint)
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(url.scheme.lower())
    if scheme is None or not url.netloc:
        raise ValueError(f"not an http(s) or ws(s) endpoint: {endpoint!r}")
    path = url.path.rstrip("/")
    if not path.endswith(PATH):
        path += PATH
    query = urlencode({"cursor": cursor}) if cursor is not None else ""
    return urlunsplit((scheme, url.netloc, path, query, ""))


class EventSession:
    """The client side of the protocol across reconnections; see the module docstring."""

    def __init__(
        self,
        cursor: str | None = None,
        *,
        heartbeat_grace: float | None = None,
        hello_timeout: float = HELLO_TIMEOUT,
    ) -> None:
        if heartbeat_grace is not None and heartbeat_grace <= 0:
            raise ValueError("heartbeat_grace must be positive")
        start = parse_cursor(cursor)
        self._accepted = start
        self._delivered = start
        self._grace = heartbeat_grace
        self._hello_timeout = hello_timeout
        self._queue: deque[ChatEvent | Resync | _Position] = deque()
        self._outgoing: list[str] = []
        self.user_id: str | None = None
        self.heartbeat: float | None = None  # None until the hello
        self.live = False  # this connection finished its catch-up
        self._opened_at = 0.0
        self._heard_at = 0.0

    # ---- cursors -------------------------------------------------------------------------

    @property
    def cursor(self) -> str | None:
        """Position after the last event handed out by ``next_event``."""
        return None if self._delivered is None else str(self._delivered)

    @property
    def resume_cursor(self) -> str | None:
        """Position after the last event accepted: what a reconnect asks the server for."""
        return None if self._accepted is None else str(self._accepted)

    # ---- connection lifecycle ------------------------------------------------------------

    def connection_made(self, now: float) -> None:
        self.heartbeat = None
        self.live = False
        self._outgoing.clear()
        self._opened_at = self._heard_at = now

    @property
    def greeted(self) -> bool:
        return self.heartbeat is not None

    def receive(self, text: str | bytes, now: float) -> None:
        """Take one frame from the server; raises ProtocolViolation on nonsense."""
        try:
            frame = _decoder.decode(text)
        except msgspec.ValidationError as exc:
            self._require_unknown_type(text, exc)
            self._heard_at = now
            return  # unknown frame types are ignored: a newer server may add some
        except msgspec.DecodeError as exc:
            raise ProtocolViolation(f"unreadable frame: {exc}") from None
        self._heard_at = now
        if isinstance(frame, HelloFrame):
            self._hello(frame)
        elif self.heartbeat is None:
            tag = frame.__struct_config__.tag
            raise ProtocolViolation(f"expected a hello frame first, got {tag!r}")
        elif isinstance(frame, EventFrame):
            self._event(frame)
        elif isinstance(frame, PingFrame):
            self._outgoing.append(PONG)
        elif isinstance(frame, LiveFrame):
            self._live(self._cursor_field(frame.cursor, "live"))
        else:
            oldest = self._cursor_field(frame.oldest_cursor, "resync")
            cursor = self._cursor_field(frame.cursor, "resync")
            self._accepted = cursor
            self._queue.append(Resync(str(oldest), str(cursor)))

    @staticmethod
    def _require_unknown_type(text: str | bytes, exc: msgspec.ValidationError) -> None:
        """Passes for a frame type this client does not know; ProtocolViolation otherwise."""
        try:
            kind = _kind_decoder.decode(text)
        except msgspec.DecodeError:
            raise ProtocolViolation(f"unreadable frame: {exc}") from None
        if kind.type not in _KNOWN:
            return
        # Another protocol may shape its hello differently: say which, not what is missing.
        if kind.type == "hello" and kind.protocol != PROTOCOL:
            raise ProtocolViolation(f"unsupported protocol {kind.protocol!r}")
        raise ProtocolViolation(f"malformed {kind.type} frame: {exc}")

    def _hello(self, frame: HelloFrame) -> None:
        if frame.protocol != PROTOCOL:
            raise ProtocolViolation(f"unsupported protocol {frame.protocol!r}")
        if frame.heartbeat_seconds <= 0:
            raise ProtocolViolation("hello without a positive heartbeatSeconds")
        self.heartbeat = frame.heartbeat_seconds
        self.user_id = frame.user_id

    def _event(self, frame: EventFrame) -> None:
        if frame.cursor is not None:
            seq = self._cursor_field(frame.cursor, "event")
            if self._accepted is not None and seq <= self._accepted:
                return  # a duplicate (e.g. replayed after a reconnect)
            self._accepted = seq
        self._queue.append(ChatEvent(frame.name, frame.cursor, frame.data))

    def _live(self, cursor: int) -> None:
        self.live = True
        if self._accepted is not None and cursor <= self._accepted:
            return
        # Caught up: nothing for us up to ``cursor``, so resuming from there loses nothing.
        self._accepted = cursor
        if self._queue:
            self._queue.append(_Position(cursor))
        else:
            self._delivered = cursor

    @staticmethod
    def _cursor_field(value: str | None, frame: str) -> int:
        try:
            cursor = parse_cursor(value)
        except ValueError:
            cursor = None
        if cursor is None:
            raise ProtocolViolation(f"{frame} frame with a bad cursor {value!r}")
        return cursor

    # ---- output to the consumer and to the server ----------------------------------------

    def next_event(self) -> ChatEvent | Resync | None:
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, _Position):
                self._delivered = max(self._delivered or 0, item.cursor)
                continue
            if item.cursor is not None:  # a Resync or a stored event
                self._delivered = int(item.cursor)
            return item
        return None

    @property
    def pending(self) -> int:
        return len(self._queue)

    def data_to_send(self) -> list[str]:
        frames, self._outgoing = self._outgoing, []
        return frames

    # ---- timers --------------------------------------------------------------------------

    @property
    def dead_after(self) -> float:
        if self._grace is not None:
            return self._grace
        return 2 * self.heartbeat if self.heartbeat is not None else self._hello_timeout

    def next_timer(self) -> float:
        """When ``handle_timer`` must run next (same clock as ``now``)."""
        if self.heartbeat is None:
            return self._opened_at + self._hello_timeout
        return self._heard_at + self.dead_after

    def handle_timer(self, now: float) -> bool:
        """True when the server should be presumed dead (silent for too long)."""
        return now >= self.next_timer()
