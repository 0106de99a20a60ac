"""Sans-I/O core of the calling client (protocol ``switchboard.calling.v1``).

No sockets, no sleeps: the asyncio glue (``agent.py``) feeds it frames and the time, and
asks it what to send and when the server should be presumed dead.

    connection_made(now) ─▶ register {deviceId?, lastSeq?} + every request not yet acked
    request(type, …) → id ─▶ data_to_send()              receive(frame, now) → [events]
                                                          ping → pong; seq ≤ lastSeq dropped

Requests are resent after a reconnect until acked; the server drops a request id it has
seen and its ack comes back in the replay (frames after ``lastSeq``), so each is applied once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from switchboard.calling.signaling.frames import PATH, VERSION, ClientMessage

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
    id: str
    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: RequestFailed | None = None


@dataclass(frozen=True, slots=True)
class Registered:
    device_id: str
    user_id: str
    resumed: bool
    heartbeat: float
    ice_servers: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CallFrame:
    """A server frame about a call: incomingCall, callUpdated, sdp, candidate, callEnded…"""

    type: str
    call_id: str
    data: dict[str, Any]


Event = Ack | Registered | CallFrame


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


_decoder = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


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
        register: dict[str, Any] = {"v": VERSION, "type": "register", "id": self._register_id}
        if self.device_id is not None:
            register["deviceId"] = self.device_id
        if self.last_seq is not None:
            register["lastSeq"] = self.last_seq
        self._outgoing = [_encoder.encode(register).decode(), *self._pending.values()]
        self._connected = True

    def connection_lost(self) -> None:
        self._connected = False
        self.heartbeat = None
        self._outgoing.clear()

    def request(self, kind: ClientMessage, **fields: Any) -> str:
        request_id = next(self._ids)
        body = {"v": VERSION, "type": kind.value, "id": request_id}
        body.update({k: v for k, v in fields.items() if v is not None})
        text = _encoder.encode(body).decode()
        self._pending[request_id] = text
        if self._connected:  # else it goes out after the next register
            self._outgoing.append(text)
        return request_id

    def unregister(self) -> str:
        return _encoder.encode({"v": VERSION, "type": ClientMessage.UNREGISTER.value}).decode()

    def receive(self, text: str | bytes, now: float) -> list[Event]:
        try:
            frame = _decoder.decode(text)
        except msgspec.DecodeError as exc:
            raise ProtocolViolation(f"unreadable frame: {exc}") from None
        if frame.get("v") != VERSION:
            raise ProtocolViolation(f"unsupported version {frame.get('v')!r}")
        self._heard_at = now
        seq = frame.get("seq")
        if isinstance(seq, int):
            if self.last_seq is not None and seq <= self.last_seq:
                return []  # replayed twice
            self.last_seq = seq
        kind = frame.get("type")
        if kind == "ping":
            self._outgoing.append(_encoder.encode({"v": VERSION, "type": "pong"}).decode())
            return []
        if kind == "ack":
            return self._ack(frame)
        call_id = frame.get("callId")
        if isinstance(kind, str) and isinstance(call_id, str):
            return [CallFrame(kind, call_id, frame)]
        return []  # unknown frames are ignored: a newer server may add some

    def _ack(self, frame: dict[str, Any]) -> list[Event]:
        request_id = frame.get("id")
        if request_id is None:  # a frame the server could not read
            return []
        self._pending.pop(request_id, None)
        if request_id == self._register_id:
            if not frame.get("ok"):
                raise ProtocolViolation(f"register refused: {frame.get('error')}")
            self.device_id = str(frame["deviceId"])
            self.user_id = str(frame["userId"])
            self.heartbeat = float(frame["heartbeatSeconds"])
            return [
                Registered(
                    self.device_id,
                    self.user_id,
                    bool(frame.get("resumed")),
                    self.heartbeat,
                    list(frame.get("iceServers") or []),
                )
            ]
        if frame.get("ok"):
            result = {k: v for k, v in frame.items() if k not in ("v", "seq", "type", "id", "ok")}
            return [Ack(request_id, True, result)]
        error = frame.get("error") or {}
        failure = RequestFailed(str(error.get("code", "")), str(error.get("message", "")))
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
