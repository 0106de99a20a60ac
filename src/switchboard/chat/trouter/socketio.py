"""Socket.IO 0.9 packets, the framing under ACS's trouter connection (sans-I/O).

The trouter client bundled in ``@azure/communication-signaling`` speaks the 2012 Socket.IO
protocol (version 1 on the wire): each WebSocket text frame is one packet

    type ":" [id ["+"]] ":" [endpoint] [":" data]

    0 disconnect · 1 connect · 2 heartbeat · 3 message (data: a string) · 4 json ·
    5 event (data: {"name", "args"}) · 6 ack (data: ackId ["+" JSON args]) · 7 error · 8 noop

An ``id`` asks for an acknowledgement; ``+`` after it means the ack carries data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class PacketType(IntEnum):
    DISCONNECT = 0
    CONNECT = 1
    HEARTBEAT = 2
    MESSAGE = 3
    JSON = 4
    EVENT = 5
    ACK = 6
    ERROR = 7
    NOOP = 8


class PacketError(ValueError):
    """A frame that is not a Socket.IO 0.9 packet."""


@dataclass(frozen=True, slots=True)
class Packet:
    type: PacketType
    data: str = ""
    id: str = ""  # digits: the sender wants an ack
    ack_with_data: bool = False
    endpoint: str = ""

    def event(self) -> tuple[str, list[Any]]:
        """An event packet's name and args."""
        try:
            decoded = json.loads(self.data)
        except ValueError as exc:
            raise PacketError("an event packet's data is not JSON") from exc
        if not isinstance(decoded, dict) or not isinstance(decoded.get("name"), str):
            raise PacketError("an event packet needs a name")
        args = decoded.get("args", [])
        return decoded["name"], args if isinstance(args, list) else [args]


@dataclass(frozen=True, slots=True)
class Ack:
    ack_id: str
    args: list[Any] = field(default_factory=list)


_PACKET = re.compile(r"([0-9]):([0-9]*)(\+?):([^:]*):?(.*)", re.DOTALL)
_ACK = re.compile(r"([0-9]+)(?:\+(.*))?", re.DOTALL)


def decode(frame: str) -> Packet:
    match = _PACKET.fullmatch(frame)
    if match is None:
        raise PacketError("not a Socket.IO packet")
    kind, packet_id, plus, endpoint, data = match.groups()
    if int(kind) > PacketType.NOOP:
        raise PacketError(f"unknown packet type {kind}")
    return Packet(PacketType(int(kind)), data, packet_id, bool(plus) and bool(packet_id), endpoint)


def decode_ack(packet: Packet) -> Ack:
    match = _ACK.fullmatch(packet.data)
    if packet.type is not PacketType.ACK or match is None:
        raise PacketError("not an ack packet")
    ack_id, raw_args = match.groups()
    args: list[Any] = []
    if raw_args:
        try:
            decoded = json.loads(raw_args)
        except ValueError as exc:
            raise PacketError("an ack's args are not JSON") from exc
        args = decoded if isinstance(decoded, list) else [decoded]
    return Ack(ack_id, args)


def encode(packet: Packet) -> str:
    head = f"{int(packet.type)}:{packet.id}{'+' if packet.ack_with_data else ''}:{packet.endpoint}"
    return f"{head}:{packet.data}" if packet.data else head


CONNECT = encode(Packet(PacketType.CONNECT))
HEARTBEAT = encode(Packet(PacketType.HEARTBEAT))
DISCONNECT = encode(Packet(PacketType.DISCONNECT))


def message(data: str) -> str:
    return encode(Packet(PacketType.MESSAGE, data))


def event(name: str, *args: Any) -> str:
    body = json.dumps({"name": name, "args": list(args)}, separators=(",", ":"))
    return encode(Packet(PacketType.EVENT, body))


def ack(ack_id: str, *args: Any) -> str:
    data = ack_id + ("+" + json.dumps(list(args), separators=(",", ":")) if args else "")
    return encode(Packet(PacketType.ACK, data))


def handshake(session_id: str, heartbeat_timeout: int, close_timeout: int) -> str:
    """The body of the handshake answer: ``sid:heartbeat:close:transports``."""
    return f"{session_id}:{heartbeat_timeout}:{close_timeout}:websocket"
