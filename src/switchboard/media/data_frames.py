"""The data channel's binary frame on its WebRTC channels (sans-I/O).

Every participant's SCTP association carries two pre-negotiated WebRTC data channels
(``negotiated: true``, no DCEP): ``LOSSY_STREAM`` (unordered, ``maxRetransmits: 0``) and
``DURABLE_STREAM`` (reliable, ordered). Each SCTP message is one ACS data-channel message:

    u16 channelId | u32 sequenceNumber | u8 n | n bytes sender id (UTF-8) | payload

A participant sends with ``n = 0``; the media node fills in the sender's participant id when
it forwards, so a receiver knows whose message it is without trusting the sender to say.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum

LOSSY_STREAM = 1000
DURABLE_STREAM = 1001
BINARY_PPID = 53  # WebRTC Binary (RFC 8831 §8)
SCTP_PORT = 5000
MAX_MESSAGE_BYTES = 32 * 1024  # ACS: a data-channel message holds at most 32 KB
MIN_CHANNEL_ID, MAX_CHANNEL_ID = 1, 4095
DEFAULT_BITRATE_KBPS, MAX_BITRATE_KBPS = 500, 5000  # a sender's cap (ours: ACS states none)
CLOSE_SEQUENCE = 0
_HEADER = struct.Struct(">HIB")


class DataReliability(Enum):
    LOSSY = "lossy"
    DURABLE = "durable"

    @property
    def stream(self) -> int:
        return LOSSY_STREAM if self is DataReliability.LOSSY else DURABLE_STREAM


class DataPriority(Enum):
    NORMAL = "normal"
    HIGH = "high"


class DataFrameError(ValueError):
    """Bytes that are not a data-channel frame."""


@dataclass(frozen=True, slots=True)
class DataFrame:
    channel_id: int
    sequence: int
    sender: str
    payload: bytes

    def encode(self) -> bytes:
        sender = self.sender.encode()
        if len(sender) > 255:
            raise DataFrameError("a sender id is at most 255 bytes")
        return _HEADER.pack(self.channel_id, self.sequence, len(sender)) + sender + self.payload

    @classmethod
    def decode(cls, data: bytes) -> DataFrame:
        if len(data) < _HEADER.size:
            raise DataFrameError("a data frame has a 7-byte header")
        channel_id, sequence, length = _HEADER.unpack_from(data)
        end = _HEADER.size + length
        if len(data) < end:
            raise DataFrameError("the sender id runs past the frame")
        try:
            sender = data[_HEADER.size : end].decode()
        except UnicodeDecodeError as error:
            raise DataFrameError("the sender id is not UTF-8") from error
        return cls(channel_id, sequence, sender, data[end:])


def with_sender(frame: bytes, sender: bytes) -> bytes:
    """A participant's frame (empty sender) as the node forwards it: the sender filled in."""
    if len(frame) < _HEADER.size or frame[_HEADER.size - 1] != 0:
        raise DataFrameError("a participant's frame has an empty sender")
    return frame[:6] + bytes((len(sender),)) + sender + frame[_HEADER.size :]


def is_close_mark(frame: bytes) -> bool:
    """A participant's frame that closes its sender: sequence 0, nothing after the header."""
    return len(frame) == _HEADER.size and frame[2:6] == b"\x00\x00\x00\x00"


def channel_of(frame: bytes) -> int:
    if len(frame) < _HEADER.size:
        raise DataFrameError("a data frame has a 7-byte header")
    return int.from_bytes(frame[:2], "big")
