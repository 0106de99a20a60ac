"""Message text as the GSM network carries it: alphabets, segments, reassembly (sans I/O).

``encode_message`` picks the GSM 03.38 default alphabet (data coding 0, one unpacked septet
per octet, the extension table behind ESC) when every character has a septet, else UCS-2
(data coding 8, UTF-16BE so that emoji survive as surrogate pairs):

    fits in 160 septets / 70 UTF-16 units   ─▶ one segment, no user data header
    longer                                  ─▶ segments of 153 septets / 67 units, each
                                               behind a 6-octet UDH (IEI 0x00, 8-bit ref);
                                               never splitting an ESC pair or a surrogate pair

Inbound, ``split_udh`` reads a segment's place from its user data header and ``Reassembler``
joins the payloads before decoding them (a sender may split a surrogate pair).

Both the SMS domain (how many segments a message takes) and the SMPP gateway (the octets it
puts on the wire) use this module; it imports nothing of ours, so neither depends on the other.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum


class DataCoding(IntEnum):
    GSM7 = 0x00  # "default alphabet": GSM 03.38 septets, unpacked
    ASCII = 0x01
    LATIN1 = 0x03
    UCS2 = 0x08


ESC = 0x1B

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_TO_GSM: dict[str, bytes] = {c: bytes((i,)) for i, c in enumerate(_GSM_BASIC) if i != ESC}
_TO_GSM.update({c: bytes((ESC, s)) for c, s in _GSM_EXTENSION.items()})
_FROM_GSM_EXTENSION = {s: c for c, s in _GSM_EXTENSION.items()}

SINGLE_GSM_SEPTETS = 160
SEGMENT_GSM_SEPTETS = 153
SINGLE_UCS2_OCTETS = 140  # 70 UTF-16 code units
SEGMENT_UCS2_OCTETS = 134  # 67 UTF-16 code units
MAX_SEGMENTS = 255


@dataclass(frozen=True, slots=True)
class EncodedMessage:
    data_coding: DataCoding
    segments: tuple[bytes, ...]  # user data octets, UDH included when segmented

    @property
    def has_udh(self) -> bool:
        """True when every segment starts with a user data header (the message is split)."""
        return len(self.segments) > 1


def is_gsm7(text: str) -> bool:
    return all(c in _TO_GSM for c in text)


def encode_message(text: str, reference: int) -> EncodedMessage:
    """Split ``text`` into the user data octets of its segments.

    ``reference`` (0–255) ties the segments of one message together for the handset; the
    carrier varies it from message to message."""
    if is_gsm7(text):
        coding, units = DataCoding.GSM7, [_TO_GSM[c] for c in text]
        single, per_segment = SINGLE_GSM_SEPTETS, SEGMENT_GSM_SEPTETS
    else:
        coding, units = DataCoding.UCS2, [c.encode("utf-16-be") for c in text]
        single, per_segment = SINGLE_UCS2_OCTETS, SEGMENT_UCS2_OCTETS
    if sum(map(len, units)) <= single:
        return EncodedMessage(coding, (b"".join(units),))
    chunks = _chunks(units, per_segment)
    if len(chunks) > MAX_SEGMENTS:
        raise ValueError(f"message needs {len(chunks)} segments (at most {MAX_SEGMENTS})")
    total = len(chunks)
    return EncodedMessage(
        coding,
        tuple(
            bytes((5, 0x00, 3, reference & 0xFF, total, index)) + chunk
            for index, chunk in enumerate(chunks, start=1)
        ),
    )


def segment_count(text: str) -> int:
    """How many SMS segments ``text`` takes (GSM-7 or UCS-2, as the network counts them)."""
    return len(encode_message(text, 0).segments)


def _chunks(units: list[bytes], limit: int) -> list[bytes]:
    """Greedy packing of whole characters (1–2 septets, 2–4 UCS-2 octets) into ``limit``."""
    chunks: list[bytes] = []
    current = bytearray()
    for unit in units:
        if len(current) + len(unit) > limit:
            chunks.append(bytes(current))
            current = bytearray()
        current += unit
    chunks.append(bytes(current))
    return chunks


def decode_gsm7(septets: bytes) -> str:
    out: list[str] = []
    escaped = False
    for octet in septets:
        if octet > 0x7F:
            out.append("?")  # not a septet: an SMSC that sent 8-bit data as "default"
            escaped = False
        elif escaped:
            # 3GPP 23.038: an unknown extension shows as the basic character.
            out.append(_FROM_GSM_EXTENSION.get(octet, _GSM_BASIC[octet]))
            escaped = False
        elif octet == ESC:
            escaped = True
        else:
            out.append(_GSM_BASIC[octet])
    if escaped:
        out.append(" ")
    return "".join(out)


def decode_text(payload: bytes, data_coding: int) -> str:
    """The text of a (reassembled) payload; never raises on odd input."""
    if data_coding == DataCoding.UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding == DataCoding.GSM7 or data_coding & 0xF4 == 0xF0:
        return decode_gsm7(payload)  # 0xF0–0xF3: message class set, default alphabet
    if data_coding == DataCoding.ASCII:
        return payload.decode("ascii", errors="replace")
    return payload.decode("latin-1")  # Latin-1, or 8-bit data we can only pass through


# ── inbound segments ────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class MessagePart:
    reference: int
    total: int
    index: int  # 1-based


def split_udh(user_data: bytes) -> tuple[MessagePart | None, bytes]:
    """User data that starts with a header: (its concatenation place, or None; the payload)."""
    if not user_data:
        return None, user_data
    udh_length = user_data[0]
    if 1 + udh_length > len(user_data):
        return None, user_data
    return udh_part(user_data[1 : 1 + udh_length]), user_data[1 + udh_length :]


def udh_part(udh: bytes) -> MessagePart | None:
    """The concatenation element of a user data header (IEI 0x00 or 0x08), if any."""
    at = 0
    while at + 2 <= len(udh):
        iei, length = udh[at], udh[at + 1]
        data = udh[at + 2 : at + 2 + length]
        at += 2 + length
        if iei == 0x00 and len(data) == 3:
            return valid_part(data[0], data[1], data[2])
        if iei == 0x08 and len(data) == 4:
            return valid_part(struct.unpack(">H", data[:2])[0], data[2], data[3])
    return None


def valid_part(reference: int, total: int, index: int) -> MessagePart | None:
    if total < 2 or not 1 <= index <= total:
        return None  # "1 of 1" or nonsense: treat as a whole message
    return MessagePart(reference, total, index)


PartKey = tuple[str, str, int, int]  # sender, recipient, reference, total


@dataclass(slots=True)
class _Pending:
    data_coding: int
    first_seen: float
    payloads: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reassembled:
    key: PartKey
    text: str
    segments: int


class Reassembler:
    """Holds segments in memory until the last one arrives (what a handset does).

    The SMPP carrier does not use it: it acknowledges segments, so it holds them durably
    through its sink (``CarrierSink.hold_segment``) and joins them from there.

    A completed message stays held until ``forget(key)``: the carrier calls it once the
    sink committed the text, so a redelivered last segment (after a failed commit) still
    finds its siblings. Incomplete messages are dropped after ``max_age_seconds``.
    """

    def __init__(self, max_age_seconds: float = 600.0) -> None:
        self._pending: dict[PartKey, _Pending] = {}
        self._max_age = max_age_seconds

    def add(
        self,
        sender: str,
        recipient: str,
        part: MessagePart,
        data_coding: int,
        payload: bytes,
        now: float,
    ) -> Reassembled | None:
        self._expire(now)
        key = (sender, recipient, part.reference, part.total)
        pending = self._pending.setdefault(key, _Pending(data_coding, now))
        pending.payloads[part.index] = payload
        if len(pending.payloads) < part.total:
            return None
        joined = b"".join(pending.payloads[i] for i in range(1, part.total + 1))
        return Reassembled(key, decode_text(joined, pending.data_coding), part.total)

    def forget(self, key: PartKey) -> None:
        self._pending.pop(key, None)

    def __len__(self) -> int:
        return len(self._pending)

    def _expire(self, now: float) -> None:
        for key in [k for k, p in self._pending.items() if now - p.first_seen > self._max_age]:
            del self._pending[key]
