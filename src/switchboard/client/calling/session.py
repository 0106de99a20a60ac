"""Sans-I/O core of the calling client (protocol ``switchboard.calling.v1``).

No sockets, no sleeps: the asyncio glue (``agent.py``) feeds it frames and the time, and
asks it what to send and when the server should be presumed dead.

    connection_made(now) ─▶ register {deviceId?, lastSeq?} + every request not yet acked
    request(frame) → id ─▶ data_to_send()                receive(text, now) → [events]
                                                          ping → pong; seq ≤ lastSeq dropped

Frames are the server's own definitions (``switchboard.calling.signaling.frames``): requests
go out as those structs, server frames come back as them (a call's frames as they are).

Requests are resent after a reconnect until acked; the server drops a request id it has
seen and its ack comes back in the replay (frames after ``lastSeq``), so each is applied once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import msgspec

from switchboard.calling.signaling.frames import Ack as AckFrame
from switchboard.calling.signaling.frames import CallFrames, Ping, ServerFrame
from switchboard.calling.signaling.protocol import PATH, VERSION, IceServer
from switchboard.calling.signaling.requests import (
    Pong,
    Register,
    Request,
    Unregister,
    encode_request,
)

HELLO_TIMEOUT = 10.0


class SignalingError(Exception):
    """Base of the calling client's errors.

    SignalingError
    ├── SignalingClosed    the server closed the socket for good (4003, 4006, 4009, 4011, …)
    ├── RequestFailed      the server refused a request (a nack with an ACS-style code)
    └── ProtocolViolation  the server does not speak switchboard.calling.v1
    """


class SignalingClosed(SignalingError):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed by the server ({code}): {reason}")
        self.code = code
        self.reason = reason


class RequestFailed(SignalingError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProtocolViolation(SignalingError):
    pass


@dataclass(frozen=True, slots=True)
class Ack:
    """The answer to one of our requests: its ack frame when ``ok``, else the refusal."""

    id: str
    ok: bool
    result: AckFrame | None = None
    error: RequestFailed | None = None


@dataclass(frozen=True, slots=True)
class Registered:
    device_id: str
    user_id: str
    resumed: bool
    heartbeat: float
    ice_servers: list[IceServer]
    calls: tuple[str, ...] = ()  # the calls the server still has for this device


Event = Ack | Registered | CallFrames


def signaling_url(endpoint: str) -> str:
    """``https://host:port[/base]`` → ``wss://host:port[/base]/calling/signaling``."""
    url = urlsplit(endpoint)
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(url.scheme.lower())
    if scheme is None or not url.netloc:
        raise ValueError(f"not an http(s) or ws(s) endpoint: {endpoint!r}")
    path = url.path.rstrip("/")
    if not path.endswith(PATH):
        path += PATH
    return urlunsplit((scheme, url.netloc, path, "", ""))


class _Head(msgspec.Struct):
    """What every frame has, for one this client cannot read (a newer server's)."""

    v: int | None = None
    seq: int | None = None


_decoder = msgspec.json.Decoder(ServerFrame)
_head_decoder = msgspec.json.Decoder(_Head)


class SignalingSession:
    def __init__(self) -> None:
        self.device_id: str | None = None
        self.user_id: str | None = None
        self.last_seq: int | None = None
        self.heartbeat: float | None = None  # None until registered on this connection
        self._ids = (f"r{n}" for n in itertools.count(1))
        self._register_id: str | None = None
        self._pending: dict[str, str] = {}  # request id → frame text, until acked
        self._outgoing: list[str] = []
        self._opened_at = 0.0
        self._heard_at = 0.0
        self._connected = False

    @property
    def registered(self) -> bool:
        return self.heartbeat is not None

    def connection_made(self, now: float) -> None:
        self.heartbeat = None
        self._opened_at = self._heard_at = now
        self._register_id = next(self._ids)
        register = Register(id=self._register_id, device_id=self.device_id, last_seq=self.last_seq)
        self._outgoing = [encode_request(register).decode(), *self._pending.values()]
        self._connected = True

    def connection_lost(self) -> None:
        self._connected = False
        self.heartbeat = None
        self._outgoing.clear()

    def request(self, frame: Request) -> str:
        """Queue a request (its ``id`` is set here); resent after a reconnect until acked."""
        request_id = next(self._ids)
        text = encode_request(msgspec.structs.replace(frame, id=request_id)).decode()
        self._pending[request_id] = text
        if self._connected:  # else it goes out after the next register
            self._outgoing.append(text)
        return request_id

    def unregister(self) -> str:
        return encode_request(Unregister()).decode()

    def receive(self, text: str | bytes, now: float) -> list[Event]:
        try:
            frame = _decoder.decode(text)
        except msgspec.ValidationError:
            # A type (or a shape) this client does not know: a newer server may add some.
            # It still counts for the replay position.
            self._heard(self._head(text), now)
            return []
        except msgspec.DecodeError as exc:
            raise ProtocolViolation(f"unreadable frame: {exc}") from None
        if not self._heard(frame, now):
            return []  # replayed twice
        if isinstance(frame, Ping):
            self._outgoing.append(encode_request(Pong()).decode())
            return []
        if isinstance(frame, AckFrame):
            return self._ack(frame)
        return [frame]

    @staticmethod
    def _head(text: str | bytes) -> _Head:
        try:
            return _head_decoder.decode(text)
        except msgspec.DecodeError as exc:
            raise ProtocolViolation(f"unreadable frame: {exc}") from None

    def _heard(self, frame: _Head | ServerFrame, now: float) -> bool:
        """Check the version and the position; False for a frame already handed over."""
        if frame.v != VERSION:
            raise ProtocolViolation(f"unsupported version {frame.v!r}")
        self._heard_at = now
        seq = frame.seq
        if seq is not None:
            if self.last_seq is not None and seq <= self.last_seq:
                return False
            self.last_seq = seq
        return True

    def _ack(self, frame: AckFrame) -> list[Event]:
        request_id = frame.id
        if request_id is None:  # a frame the server could not read
            return []
        self._pending.pop(request_id, None)
        if request_id == self._register_id:
            if not frame.ok or frame.device_id is None or frame.heartbeat_seconds is None:
                raise ProtocolViolation(f"register refused: {frame.error}")
            self.device_id = frame.device_id
            self.user_id = frame.user_id or ""
            self.heartbeat = float(frame.heartbeat_seconds)
            return [
                Registered(
                    self.device_id,
                    self.user_id,
                    bool(frame.resumed),
                    self.heartbeat,
                    list(frame.ice_servers or []),
                    tuple(frame.calls or ()),
                )
            ]
        if frame.ok:
            return [Ack(request_id, True, frame)]
        error = frame.error
        failure = RequestFailed(error.code, error.message) if error else RequestFailed("", "")
        return [Ack(request_id, False, error=failure)]

    def data_to_send(self) -> list[str]:
        frames, self._outgoing = self._outgoing, []
        return frames

    def next_timer(self) -> float:
        if self.heartbeat is None:
            return self._opened_at + HELLO_TIMEOUT
        return self._heard_at + 2 * self.heartbeat

    def server_dead(self, now: float) -> bool:
        return now >= self.next_timer()
