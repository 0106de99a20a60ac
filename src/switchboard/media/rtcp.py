"""RTCP compound packets (RFC 3550, RFC 4585, RFC 5104, REMB draft), sans-I/O.

``parse_rtcp(data) -> list[RtcpPacket]`` reads a compound packet; ``bytes(packet)`` writes one
and ``compound(packets)`` joins several. ``RtpParseError`` is the only exception on garbage.
Types we do not model (APP, XR, transport-cc feedback, …) come back as ``UnknownRtcp`` so a
compound packet can still be walked.

    ┌ V=2 P count/FMT ┬ packet type ┬ length (32-bit words − 1) ┐ … next packet …
    SR 200 · RR 201 · SDES 202 · BYE 203 · RTPFB 205 (FMT 1 NACK) · PSFB 206 (FMT 1 PLI,
    FMT 4 FIR, FMT 15 REMB "REMB")
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from switchboard.media.rtp import RtpParseError

SR, RR, SDES, BYE, RTPFB, PSFB = 200, 201, 202, 203, 205, 206
NACK_FMT, PLI_FMT, FIR_FMT, REMB_FMT = 1, 1, 4, 15
_HEAD = struct.Struct(">BBH")
_BLOCK = struct.Struct(">IIIIII")  # ssrc, lost (fraction|cumulative), highest, jitter, lsr, dlsr


def _header(count: int, packet_type: int, body: bytes) -> bytes:
    return _HEAD.pack(0x80 | count, packet_type, len(body) // 4) + body


@dataclass(slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int = 0  # /256
    packets_lost: int = 0  # cumulative, signed 24 bits
    highest_sequence: int = 0  # extended
    jitter: int = 0
    lsr: int = 0
    dlsr: int = 0

    def __bytes__(self) -> bytes:
        lost = (self.fraction_lost & 0xFF) << 24 | (self.packets_lost & 0xFFFFFF)
        return _BLOCK.pack(self.ssrc, lost, self.highest_sequence, self.jitter, self.lsr, self.dlsr)

    @classmethod
    def parse(cls, data: bytes, at: int) -> ReportBlock:
        ssrc, lost, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, at)
        cumulative = lost & 0xFFFFFF
        if cumulative & 0x800000:
            cumulative -= 0x1000000
        return cls(ssrc, lost >> 24, cumulative, highest, jitter, lsr, dlsr)


@dataclass(slots=True)
class SenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: list[ReportBlock] = field(default_factory=list)

    def __bytes__(self) -> bytes:
        body = struct.pack(
            ">IQIII",
            self.ssrc,
            self.ntp_timestamp,
            self.rtp_timestamp,
            self.packet_count,
            self.octet_count,
        )
        return _header(len(self.reports), SR, body + b"".join(map(bytes, self.reports)))


@dataclass(slots=True)
class ReceiverReport:
    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)

    def __bytes__(self) -> bytes:
        body = struct.pack(">I", self.ssrc) + b"".join(map(bytes, self.reports))
        return _header(len(self.reports), RR, body)


@dataclass(slots=True)
class SourceDescription:
    """SDES: per SSRC a list of (item type, value); CNAME is type 1."""

    chunks: list[tuple[int, list[tuple[int, bytes]]]] = field(default_factory=list)

    def __bytes__(self) -> bytes:
        body = bytearray()
        for ssrc, items in self.chunks:
            chunk = bytearray(struct.pack(">I", ssrc))
            for item_type, value in items:
                if not 1 <= item_type <= 255 or len(value) > 255:
                    raise ValueError(f"SDES item {item_type} with {len(value)} bytes")
                chunk += bytes((item_type, len(value))) + value
            chunk += b"\x00" * (4 - len(chunk) % 4)  # at least one null octet ends the list
            body += chunk
        return _header(len(self.chunks), SDES, bytes(body))


@dataclass(slots=True)
class Bye:
    ssrcs: list[int]
    reason: bytes = b""

    def __bytes__(self) -> bytes:
        body = struct.pack(f">{len(self.ssrcs)}I", *self.ssrcs)
        if self.reason:
            reason = bytes((len(self.reason),)) + self.reason
            body += reason + b"\x00" * (-len(reason) % 4)
        return _header(len(self.ssrcs), BYE, body)


@dataclass(slots=True)
class GenericNack:
    """RTPFB FMT 1: the sequence numbers the receiver lost (PID + 16-bit BLP pairs)."""

    sender_ssrc: int
    media_ssrc: int
    lost: list[int]

    def __bytes__(self) -> bytes:
        fci = bytearray()
        pending = list(self.lost)
        while pending:
            pid = pending.pop(0)
            blp = 0
            while pending and 1 <= (pending[0] - pid) & 0xFFFF <= 16:
                blp |= 1 << (((pending.pop(0) - pid) & 0xFFFF) - 1)
            fci += struct.pack(">HH", pid, blp)
        body = struct.pack(">II", self.sender_ssrc, self.media_ssrc) + bytes(fci)
        return _header(NACK_FMT, RTPFB, body)


@dataclass(slots=True)
class PictureLossIndication:
    sender_ssrc: int
    media_ssrc: int

    def __bytes__(self) -> bytes:
        return _header(PLI_FMT, PSFB, struct.pack(">II", self.sender_ssrc, self.media_ssrc))


@dataclass(slots=True)
class FullIntraRequest:
    """PSFB FMT 4 (RFC 5104): per target SSRC a command sequence number."""

    sender_ssrc: int
    entries: list[tuple[int, int]]  # (ssrc, sequence number 0–255)

    def __bytes__(self) -> bytes:
        fci = b"".join(struct.pack(">IB3x", ssrc, seq) for ssrc, seq in self.entries)
        return _header(FIR_FMT, PSFB, struct.pack(">II", self.sender_ssrc, 0) + fci)


@dataclass(slots=True)
class Remb:
    """Receiver-estimated maximum bitrate (draft-alvestrand-rmcat-remb): bits/s for SSRCs."""

    sender_ssrc: int
    bitrate: int
    ssrcs: list[int]

    def __bytes__(self) -> bytes:
        exponent, mantissa = 0, self.bitrate
        while mantissa >= 1 << 18:
            mantissa >>= 1
            exponent += 1
        body = struct.pack(
            ">II4sBBH",
            self.sender_ssrc,
            0,
            b"REMB",
            len(self.ssrcs),
            exponent << 2 | mantissa >> 16,
            mantissa & 0xFFFF,
        )
        body += struct.pack(f">{len(self.ssrcs)}I", *self.ssrcs)
        return _header(REMB_FMT, PSFB, body)


@dataclass(slots=True)
class UnknownRtcp:
    packet_type: int
    count: int  # the 5-bit count/FMT field
    body: bytes

    def __bytes__(self) -> bytes:
        return _header(self.count, self.packet_type, self.body)


RtcpPacket = (
    SenderReport
    | ReceiverReport
    | SourceDescription
    | Bye
    | GenericNack
    | PictureLossIndication
    | FullIntraRequest
    | Remb
    | UnknownRtcp
)


def compound(packets: list[RtcpPacket]) -> bytes:
    return b"".join(bytes(packet) for packet in packets)


def parse_rtcp(data: bytes | bytearray | memoryview) -> list[RtcpPacket]:
    data = bytes(data)
    if not data:
        raise RtpParseError("empty RTCP packet")
    packets: list[RtcpPacket] = []
    at = 0
    while at < len(data):
        if at + 4 > len(data):
            raise RtpParseError("RTCP header runs past the end of the compound packet")
        first, packet_type, words = _HEAD.unpack_from(data, at)
        if first >> 6 != 2:
            raise RtpParseError(f"RTCP version {first >> 6}, not 2")
        end = at + 4 + 4 * words
        if end > len(data):
            raise RtpParseError("RTCP packet runs past the end of the compound packet")
        body = data[at + 4 : end]
        if first & 0x20:  # padding: only legal on the last packet
            if end != len(data) or not body or not 0 < body[-1] <= len(body):
                raise RtpParseError("bad RTCP padding")
            body = body[: -body[-1]]
        packets.append(_parse_one(packet_type, first & 0x1F, body))
        at = end
    return packets


def _need(body: bytes, size: int, what: str) -> None:
    if len(body) < size:
        raise RtpParseError(f"{what} of {len(body)} bytes is too short")


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    if packet_type in (SR, RR):
        fixed = 24 if packet_type == SR else 4
        _need(body, fixed + 24 * count, "sender report" if packet_type == SR else "receiver report")
        reports = [ReportBlock.parse(body, fixed + 24 * i) for i in range(count)]
        if packet_type == RR:
            return ReceiverReport(struct.unpack_from(">I", body)[0], reports)
        ssrc, ntp, rtp_ts, packets, octets = struct.unpack_from(">IQIII", body)
        return SenderReport(ssrc, ntp, rtp_ts, packets, octets, reports)
    if packet_type == SDES:
        return _parse_sdes(count, body)
    if packet_type == BYE:
        _need(body, 4 * count, "BYE")
        ssrcs = list(struct.unpack_from(f">{count}I", body))
        reason = b""
        if len(body) > 4 * count:
            length = body[4 * count]
            reason = body[4 * count + 1 : 4 * count + 1 + length]
            if len(reason) != length:
                raise RtpParseError("BYE reason runs past the packet")
        return Bye(ssrcs, reason)
    if packet_type == RTPFB and count == NACK_FMT:
        _need(body, 8, "NACK")
        sender, media = struct.unpack_from(">II", body)
        lost: list[int] = []
        for at in range(8, len(body) - 3, 4):
            pid, blp = struct.unpack_from(">HH", body, at)
            lost.append(pid)
            lost.extend((pid + bit + 1) & 0xFFFF for bit in range(16) if blp >> bit & 1)
        return GenericNack(sender, media, lost)
    if packet_type == PSFB and count == PLI_FMT:
        _need(body, 8, "PLI")
        return PictureLossIndication(*struct.unpack_from(">II", body))
    if packet_type == PSFB and count == FIR_FMT:
        _need(body, 8, "FIR")
        entries = [struct.unpack_from(">IB", body, at) for at in range(8, len(body) - 7, 8)]
        return FullIntraRequest(struct.unpack_from(">I", body)[0], entries)
    if packet_type == PSFB and count == REMB_FMT and body[8:12] == b"REMB":
        _need(body, 16, "REMB")
        sender = struct.unpack_from(">I", body)[0]
        number, b1, low = struct.unpack_from(">BBH", body, 12)
        _need(body, 16 + 4 * number, "REMB")
        bitrate = ((b1 & 0x03) << 16 | low) << (b1 >> 2)
        return Remb(sender, bitrate, list(struct.unpack_from(f">{number}I", body, 16)))
    return UnknownRtcp(packet_type, count, body)


def _parse_sdes(count: int, body: bytes) -> SourceDescription:
    chunks: list[tuple[int, list[tuple[int, bytes]]]] = []
    at = 0
    for _ in range(count):
        _need(body[at:], 4, "SDES chunk")
        ssrc = struct.unpack_from(">I", body, at)[0]
        at += 4
        items: list[tuple[int, bytes]] = []
        while True:
            if at >= len(body):
                raise RtpParseError("SDES chunk without its terminating null octet")
            item_type = body[at]
            if item_type == 0:
                at += 4 - at % 4  # skip the null and pad to the next 32-bit boundary
                break
            if at + 2 > len(body) or at + 2 + body[at + 1] > len(body):
                raise RtpParseError("SDES item runs past the packet")
            items.append((item_type, body[at + 2 : at + 2 + body[at + 1]]))
            at += 2 + body[at + 1]
        chunks.append((ssrc, items))
    return SourceDescription(chunks)
