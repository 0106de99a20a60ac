"""RTP packets (RFC 3550) and header extensions (RFC 8285), sans-I/O.

Two faces:

* ``RtpPacket.parse(data)`` / ``bytes(packet)``: a full, checked model for tests, tools and the
  slow paths (the packet cache, retransmissions). ``RtpParseError`` is the only exception it
  raises on garbage.
* In-place helpers for the forwarder's hot path, on a ``bytearray`` or a cffi buffer that
  already holds a received packet: ``HEADER.unpack_from`` reads the fixed header,
  ``REWRITE.pack_into`` writes payload type + marker, sequence number, timestamp and SSRC in
  one call, ``payload_offset`` and ``audio_level`` walk the header without allocating.

Header extensions are kept as ``(id, bytes)`` pairs; the one-byte form (profile 0xBEDE) and the
two-byte form (0x100X) are both read and written. The audio level extension (RFC 6464) is a
one-byte element ``V|level``: level 0 is 0 dBov (loud), 127 is silence; its id comes from the
SDP ``a=extmap`` line, so callers pass it in.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# version/padding/extension/CC, marker/payload type, sequence number, timestamp, SSRC
HEADER = struct.Struct(">BBHII")
HEADER_LENGTH = HEADER.size
# the second byte (marker | payload type), sequence number, timestamp, SSRC: one write
REWRITE = struct.Struct(">BHII")
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE = 0x1000  # the low 4 bits are "appbits" (RFC 8285 §4.3)
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
SILENCE = 127  # -dBov: the quietest level RFC 6464 can express


class RtpParseError(ValueError):
    """The bytes are not a well-formed RTP or RTCP packet (the only error parsers raise)."""


def is_rtcp(data: bytes | bytearray | memoryview) -> bool:
    """RFC 5761 demultiplexing on one port: RTCP packet types 192–223 sit where RTP's
    marker + payload type would be 64–95, which dynamic RTP payload types avoid."""
    return len(data) >= 2 and 192 <= data[1] <= 223


@dataclass(slots=True)
class RtpPacket:
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: list[int] = field(default_factory=list)
    extension_profile: int | None = None  # None: no extension block (X bit clear)
    extensions: list[tuple[int, bytes]] = field(default_factory=list)
    padding: int = 0  # padding octets at the end, the last one included

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> RtpPacket:
        data = bytes(data)
        if len(data) < HEADER_LENGTH:
            raise RtpParseError(f"RTP packet of {len(data)} bytes is shorter than its header")
        first, second, seq, timestamp, ssrc = HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise RtpParseError(f"RTP version {first >> 6}, not 2")
        offset = HEADER_LENGTH + 4 * (first & 0x0F)
        if offset > len(data):
            raise RtpParseError("CSRC list runs past the end of the packet")
        csrc = list(struct.unpack_from(f">{first & 0x0F}I", data, HEADER_LENGTH))
        profile: int | None = None
        extensions: list[tuple[int, bytes]] = []
        if first & 0x10:
            if offset + 4 > len(data):
                raise RtpParseError("extension header runs past the end of the packet")
            profile, words = struct.unpack_from(">HH", data, offset)
            body = data[offset + 4 : offset + 4 + 4 * words]
            offset += 4 + 4 * words
            if offset > len(data):
                raise RtpParseError("extension block runs past the end of the packet")
            extensions = parse_extensions(profile, body)
        end = len(data)
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or end - padding < offset:
                raise RtpParseError(f"bad RTP padding length {padding}")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=data[offset:end],
            marker=bool(second & 0x80),
            csrc=csrc,
            extension_profile=profile,
            extensions=extensions,
            padding=padding,
        )

    def __bytes__(self) -> bytes:
        first = 0x80 | len(self.csrc)
        if self.padding:
            first |= 0x20
        ext = b""
        if self.extension_profile is not None:
            first |= 0x10
            body = build_extensions(self.extension_profile, self.extensions)
            ext = struct.pack(">HH", self.extension_profile, len(body) // 4) + body
        header = HEADER.pack(
            first,
            (0x80 if self.marker else 0) | self.payload_type,
            self.sequence_number,
            self.timestamp,
            self.ssrc,
        )
        csrc = struct.pack(f">{len(self.csrc)}I", *self.csrc)
        pad = b"\x00" * (self.padding - 1) + bytes([self.padding]) if self.padding else b""
        return header + csrc + ext + self.payload + pad


def parse_extensions(profile: int, body: bytes) -> list[tuple[int, bytes]]:
    """The elements of a one-byte (0xBEDE) or two-byte (0x100X) extension block; any other
    profile is kept whole as element 0 (opaque to us, forwarded untouched)."""
    elements: list[tuple[int, bytes]] = []
    at = 0
    if profile == ONE_BYTE_PROFILE:
        while at < len(body):
            head = body[at]
            if head == 0:  # padding
                at += 1
                continue
            ext_id, length = head >> 4, (head & 0x0F) + 1
            if ext_id == 15:  # reserved: stop parsing (RFC 8285 §4.2)
                break
            if at + 1 + length > len(body):
                raise RtpParseError("one-byte header extension runs past its block")
            elements.append((ext_id, body[at + 1 : at + 1 + length]))
            at += 1 + length
        return elements
    if profile & 0xFFF0 == TWO_BYTE_PROFILE:
        while at < len(body):
            if body[at] == 0:
                at += 1
                continue
            if at + 2 > len(body):
                raise RtpParseError("two-byte header extension runs past its block")
            ext_id, length = body[at], body[at + 1]
            if at + 2 + length > len(body):
                raise RtpParseError("two-byte header extension runs past its block")
            elements.append((ext_id, body[at + 2 : at + 2 + length]))
            at += 2 + length
        return elements
    return [(0, body)] if body else []


def build_extensions(profile: int, elements: list[tuple[int, bytes]]) -> bytes:
    """The block body for ``elements``, zero-padded to 32 bits. Raises ``ValueError`` for an
    element the profile cannot carry (our bug, not the network's)."""
    out = bytearray()
    if profile == ONE_BYTE_PROFILE:
        for ext_id, value in elements:
            if not 1 <= ext_id <= 14 or not 1 <= len(value) <= 16:
                raise ValueError(f"one-byte extension {ext_id} with {len(value)} bytes")
            out.append(ext_id << 4 | (len(value) - 1))
            out += value
    elif profile & 0xFFF0 == TWO_BYTE_PROFILE:
        for ext_id, value in elements:
            if not 1 <= ext_id <= 255 or len(value) > 255:
                raise ValueError(f"two-byte extension {ext_id} with {len(value)} bytes")
            out += bytes((ext_id, len(value)))
            out += value
    else:
        for ext_id, value in elements:
            if ext_id != 0 or len(value) % 4:
                raise ValueError("an opaque extension block is one element 0, 32-bit aligned")
            out += value
    out += b"\x00" * (-len(out) % 4)
    return bytes(out)


# ── hot path: read a received packet where it lies ─────────────────────────────────────


def payload_offset(buf: bytes | bytearray | memoryview, length: int) -> int:
    """Where the payload starts, or -1 if the header runs past ``length`` (garbage)."""
    first = buf[0]
    offset = HEADER_LENGTH + 4 * (first & 0x0F)
    if first & 0x10:
        if offset + 4 > length:
            return -1
        offset += 4 + 4 * (buf[offset + 2] << 8 | buf[offset + 3])
    return offset if offset <= length else -1


def audio_level(buf: bytes | bytearray | memoryview, length: int, ext_id: int) -> int:
    """The RFC 6464 level (0 loud … 127 silent) from one-byte extension ``ext_id``, or
    ``SILENCE`` when the packet has none. Reads in place; never raises on short input."""
    first = buf[0]
    if not first & 0x10:
        return SILENCE
    at = HEADER_LENGTH + 4 * (first & 0x0F)
    if at + 4 > length or buf[at] != 0xBE or buf[at + 1] != 0xDE:
        return SILENCE
    end = at + 4 + 4 * (buf[at + 2] << 8 | buf[at + 3])
    if end > length:
        return SILENCE
    at += 4
    while at < end:
        head = buf[at]
        if head == 0:
            at += 1
            continue
        if head >> 4 == ext_id:
            return buf[at + 1] & 0x7F if at + 1 < end else SILENCE
        if head >> 4 == 15:
            break
        at += 2 + (head & 0x0F)
    return SILENCE
