"""DTMF for the Python calling client: RFC 4733 telephone events on aiortc's audio stream.

aiortc (1.16) has no DTMF sender and does not offer ``telephone-event``. Two steps make it:

1. SDP. The descriptions we *send* get ``telephone-event/48000`` on our audio m-line
   (``with_telephone_event``); aiortc's own local description stays as it made it, and it
   ignores the extra codec in the answer. The payload type comes from the remote description
   (``telephone_event_pt``): none there, no DTMF.
2. RTP. Events must share the audio stream's SSRC, sequence numbers and clock. aiortc's
   ``RTCRtpSender`` numbers packets in a local variable of its send loop and hands each, in
   plaintext, to its ``RTCDtlsTransport._send_rtp`` (which SRTP-protects and sends). The
   least invasive seam is that one method, wrapped on the transport *instance* (no class is
   patched, nothing else changes): packets of our SSRC keep flowing with their sequence
   numbers shifted by the event packets slotted in between, and audio packets are dropped
   while an event plays, as libwebrtc does. Audio has no NACK here, so aiortc's packet
   history (in its own numbering) is never asked for a shifted number.

    send_dtmf("Num1") ─▶ wait for an audio packet (learn seq, timestamp) ─▶ event packets
        every 20 ms (same timestamp, growing duration, marker on the first) until 100 ms,
        whose end packet goes three times ─▶ 70 ms gap before the next tone (RTCDTMFSender's
        defaults)
"""

from __future__ import annotations

import asyncio
import re
import struct
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

CLOCK_RATE = 48_000  # the events share Opus's clock
TONE_SECONDS = 0.1
GAP_SECONDS = 0.07
PACKET_SECONDS = 0.02
END_REPEATS = 3
VOLUME = 10  # −10 dBm0
EVENT_FMTP = "0-15"


class DtmfTone(StrEnum):
    """ACS's ``DtmfTone`` names, with their RFC 4733 event codes."""

    NUM0 = "Num0"
    NUM1 = "Num1"
    NUM2 = "Num2"
    NUM3 = "Num3"
    NUM4 = "Num4"
    NUM5 = "Num5"
    NUM6 = "Num6"
    NUM7 = "Num7"
    NUM8 = "Num8"
    NUM9 = "Num9"
    STAR = "Star"
    POUND = "Pound"
    A = "A"
    B = "B"
    C = "C"
    D = "D"

    @property
    def event(self) -> int:
        return _EVENTS.index(self.value)


_EVENTS = [t.value for t in DtmfTone]
_KEYS = "0123456789*#ABCD"


class DtmfError(Exception):
    """DTMF cannot be sent: an unknown tone, or no telephone-event was negotiated."""


def parse_tone(tone: DtmfTone | str) -> DtmfTone:
    """ACS's name ("Num1", "Pound") or the key itself ("1", "#")."""
    if tone in _EVENTS:
        return DtmfTone(tone)
    if len(tone) == 1 and tone.upper() in _KEYS:
        return DtmfTone(_EVENTS[_KEYS.index(tone.upper())])
    raise DtmfError(f"not a DTMF tone: {tone!r}")


def event_payload(event: int, *, end: bool, duration: int) -> bytes:
    """RFC 4733 §2.3: event, E bit and volume, duration in clock units."""
    return struct.pack("!BBH", event, (0x80 if end else 0) | VOLUME, min(duration, 0xFFFF))


# ── SDP ──────────────────────────────────────────────────────────────────────────────────


def _sections(sdp: str) -> list[list[str]]:
    lines = sdp.splitlines()
    sections: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    return sections


def _event_pt(section: list[str]) -> int | None:
    for line in section:
        found = re.match(r"a=rtpmap:(\d+) telephone-event/48000\b", line, re.IGNORECASE)
        if found:
            return int(found.group(1))
    return None


def _section_of(sections: list[list[str]], mid: str) -> list[str] | None:
    return next((s for s in sections[1:] if f"a=mid:{mid}" in s), None)


def telephone_event_pt(sdp: str, mid: str) -> int | None:
    """The telephone-event/48000 payload type on m-line ``mid`` of a description."""
    section = _section_of(_sections(sdp), mid)
    return None if section is None else _event_pt(section)


def with_telephone_event(sdp: str, mid: str, payload_type: int | None = None) -> str:
    """``sdp`` with telephone-event/48000 on m-line ``mid`` (an offer: a PT unused in it;
    an answer: the offer's ``payload_type``)."""
    sections = _sections(sdp)
    section = _section_of(sections, mid)
    if section is None or _event_pt(section) is not None:
        return sdp
    if payload_type is None:
        used = {int(n) for n in re.findall(r"^a=rtpmap:(\d+) ", sdp, re.MULTILINE)}
        payload_type = next(pt for pt in (101, *range(96, 128)) if pt not in used)
    section[0] += f" {payload_type}"
    last = max(i for i, line in enumerate(section) if i == 0 or line.startswith("a=rtpmap:"))
    section[last + 1 : last + 1] = [
        f"a=rtpmap:{payload_type} telephone-event/{CLOCK_RATE}",
        f"a=fmtp:{payload_type} {EVENT_FMTP}",
    ]
    return "\r\n".join(line for s in sections for line in s) + "\r\n"


# ── RTP ──────────────────────────────────────────────────────────────────────────────────

SendRtp = Callable[[bytes], Awaitable[None]]


class DtmfSender:
    """Telephone events on one audio sender's stream; see the module docstring."""

    def __init__(self, ssrc: int, payload_type: int) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self._transport: Any = None  # the RTCDtlsTransport whose _send_rtp we wrap
        self._send: SendRtp | None = None
        self._offset = 0  # our sequence number = aiortc's + offset
        self._last_seq: int | None = None  # the last sequence number sent
        self._last_ts = 0
        self._last_time = 0.0
        self._playing = False
        self._seen = asyncio.Event()
        self._lock = asyncio.Lock()

    def attach(self, transport: Any) -> None:
        """Wrap ``transport._send_rtp`` (again, if aiortc moved the sender to another)."""
        if transport is self._transport:
            return
        self._transport = transport
        self._send = transport._send_rtp
        self._last_seq = None
        self._seen.clear()
        transport._send_rtp = self._send_rtp

    async def _send_rtp(self, data: bytes) -> None:
        assert self._send is not None
        if len(data) < 12 or not 0x80 <= data[0] < 0xC0 or 192 <= data[1] <= 223:
            return await self._send(data)  # RTCP (RFC 5761 demux) or not RTP: as it was
        (ssrc,) = struct.unpack_from("!I", data, 8)
        if ssrc != self.ssrc:
            return await self._send(data)
        seq, ts = struct.unpack_from("!HI", data, 2)
        if self._playing:  # the event replaces the audio for its duration
            self._offset -= 1
            return None
        out = (seq + self._offset) & 0xFFFF
        if self._last_seq is None:
            self._offset = 0
            out = seq
        self._last_seq, self._last_ts, self._last_time = out, ts, time.monotonic()
        self._seen.set()
        packet = bytearray(data)
        struct.pack_into("!H", packet, 2, out)
        return await self._send(bytes(packet))

    async def send(self, tones: list[DtmfTone]) -> None:
        async with self._lock:
            await self._seen.wait()  # the stream's numbers and clock, from a packet of its own
            for tone in tones:
                await self._play(tone.event)
                await asyncio.sleep(GAP_SECONDS)

    async def _play(self, event: int) -> None:
        assert self._send is not None
        self._playing = True
        try:
            elapsed = time.monotonic() - self._last_time
            start = (self._last_ts + int(elapsed * CLOCK_RATE)) & 0xFFFFFFFF
            steps = round(TONE_SECONDS / PACKET_SECONDS)
            for i in range(1, steps + END_REPEATS):  # the last update is the first end
                end = i >= steps
                duration = int(min(i, steps) * PACKET_SECONDS * CLOCK_RATE)
                await self._send(self._packet(event, start, first=i == 1, end=end, dur=duration))
                await asyncio.sleep(PACKET_SECONDS)
        finally:
            self._playing = False

    def _packet(self, event: int, timestamp: int, *, first: bool, end: bool, dur: int) -> bytes:
        self._last_seq = ((self._last_seq or 0) + 1) & 0xFFFF
        self._offset += 1
        marker_pt = (0x80 if first else 0) | self.payload_type
        header = struct.pack("!BBHII", 0x80, marker_pt, self._last_seq, timestamp, self.ssrc)
        return header + event_payload(event, end=end, duration=dur)
