"""RFC 4733 telephone events (DTMF over RTP), sans-I/O: the payload codec, a receiver that
turns a packet stream into key presses, and a sender that makes the packets of one press.

Payload (4 bytes): ``event(8) | E(1) R(1) volume(6) | duration(16)``; duration in RTP
timestamp units since the event began; every packet of one event carries the event's start
as its RTP timestamp, so a new timestamp is a new event.

Sender, one press of ``duration_ms`` (all packets share one RTP timestamp, the caller's):

    50 ms into the press: marker, duration 50 ms ─▶ every 50 ms, duration growing
    at duration_ms: E bit, full duration ×3, 20 ms apart (the redundancy RFC 4733 asks for:
                    the end packet is what a receiver may be waiting for)

``offset_ms`` of each packet counts from the first one; a paced driver sends them on time.

Receiver: a key press is reported at the first packet of a new event (start, update or end:
any of them may be the first to arrive); retransmits, the redundant ends and late updates of a
reported event are swallowed. A long press that overflows the 16-bit duration continues with
a new timestamp (§2.5.2.3); that continuation is not reported again.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from switchboard.media.audio.errors import TelephoneEventParseError
from switchboard.media.audio.tones import DtmfTone

_PAYLOAD = struct.Struct(">BBH")
PAYLOAD_LENGTH = _PAYLOAD.size
MAX_DURATION = 0xFFFF
UPDATE_MS = 50
END_REPEATS = 3
END_SPACING_MS = 20
_REMEMBERED = 32  # recent events' timestamps kept to recognise retransmits


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    event: int  # 0-255; 0-15 are DTMF (DtmfTone.event_code)
    end: bool = False
    volume: int = 10  # power level in -dBm0, 0-63
    duration: int = 0  # RTP timestamp units, 0-65535

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 255:
            raise ValueError(f"event {self.event} is not 0-255")
        if not 0 <= self.volume <= 63:
            raise ValueError(f"volume {self.volume} is not 0-63")
        if not 0 <= self.duration <= MAX_DURATION:
            raise ValueError(f"duration {self.duration} is not 0-65535")

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> TelephoneEvent:
        if len(data) != PAYLOAD_LENGTH:
            raise TelephoneEventParseError(
                f"telephone-event payload of {len(data)} bytes, not {PAYLOAD_LENGTH}"
            )
        event, flags, duration = _PAYLOAD.unpack(bytes(data))
        # the R bit is reserved: senders set it to zero and receivers ignore it
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def __bytes__(self) -> bytes:
        return _PAYLOAD.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)

    @property
    def tone(self) -> DtmfTone | None:
        return DtmfTone.from_event_code(self.event)


@dataclass(frozen=True, slots=True)
class TelephoneEventPacket:
    """One packet to send: its payload, the RTP marker bit, and when (ms after the start)."""

    payload: bytes
    marker: bool
    offset_ms: int


@dataclass(slots=True)
class _Seen:
    timestamp: int
    event: int
    ended: bool
    duration: int


class TelephoneEventReceiver:
    """``receive(rtp_timestamp, payload) -> key presses`` (each once). Non-DTMF events (flash
    hook and the rest) are tracked but not reported. Malformed payloads raise
    ``TelephoneEventParseError`` (the caller drops the packet)."""

    def __init__(self) -> None:
        self._recent: deque[_Seen] = deque(maxlen=_REMEMBERED)

    def receive(self, timestamp: int, payload: bytes | bytearray | memoryview) -> list[DtmfTone]:
        event = TelephoneEvent.parse(payload)
        for seen in self._recent:
            if seen.timestamp == timestamp:
                seen.ended = seen.ended or event.end
                seen.duration = max(seen.duration, event.duration)
                return []
        continuation = self._continues(timestamp, event.event)
        self._recent.append(_Seen(timestamp, event.event, event.end, event.duration))
        tone = event.tone
        return [tone] if tone is not None and not continuation else []

    def _continues(self, timestamp: int, code: int) -> bool:
        """A long event's next segment: same event, not ended, starting where the last one's
        16-bit duration ran out."""
        if not self._recent:
            return False
        last = self._recent[-1]
        return (
            last.event == code
            and not last.ended
            and last.duration == MAX_DURATION
            and (last.timestamp + MAX_DURATION) & 0xFFFFFFFF == timestamp
        )


class TelephoneEventSender:
    """Builds the packets of a key press for a ``telephone-event/<clock_rate>`` stream."""

    def __init__(self, clock_rate: int = 48_000, *, volume: int = 10) -> None:
        self._clock_rate = clock_rate
        self._volume = volume

    def press(self, tone: DtmfTone, duration_ms: int = 100) -> list[TelephoneEventPacket]:
        total = self._units(duration_ms)
        if duration_ms <= 0 or total > MAX_DURATION:
            raise ValueError(
                f"a press of {duration_ms} ms does not fit a telephone-event/"
                f"{self._clock_rate} duration (1-{MAX_DURATION} units)"
            )
        code = tone.event_code
        # Offsets count from the first packet, which goes out UPDATE_MS into the press.
        first = min(UPDATE_MS, duration_ms)
        updates = [
            TelephoneEventPacket(
                bytes(TelephoneEvent(code, False, self._volume, self._units(at))),
                marker=at == first,
                offset_ms=at - first,
            )
            for at in range(UPDATE_MS, duration_ms, UPDATE_MS)
        ]
        end = bytes(TelephoneEvent(code, True, self._volume, total))
        return updates + [
            TelephoneEventPacket(
                end,
                marker=not updates and i == 0,  # a press shorter than one update
                offset_ms=duration_ms - first + i * END_SPACING_MS,
            )
            for i in range(END_REPEATS)
        ]

    def _units(self, ms: int) -> int:
        return self._clock_rate * ms // 1000
