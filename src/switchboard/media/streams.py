"""The forwarder's per-stream state: published tracks, outgoing streams, the packet cache.

A ``Track`` is one incoming RTP stream (one SSRC) of a publisher. A ``StreamRewriter`` is one
outgoing stream to one subscriber (its own SSRC); its ``source`` track can change (a video
slot switching speakers) while the subscriber sees one continuous stream:

    source A: seq 100 101 102 │ source B (waits for a key frame): seq 7000 … 7004(key) 7005
    out:      seq 500 501 502 │                                    503            504
    out ts:   jumps by the wall-clock gap × clock rate at the switch, then follows B's clock

``out = (in + offset) mod 2^16`` (2^32 for timestamps); a switch ("rebase") recomputes the
offsets at the first packet the new source may start with: any packet for audio, a key frame
for video. NACKs name outgoing sequence numbers; ``(out − offset)`` maps them back into the
current source's ``PacketCache`` as long as they fall after the switch (``segment_start``).

Plain classes with ``__slots__`` (no dataclasses): they are touched for every packet.
"""

from __future__ import annotations

import random
from enum import Enum
from typing import Protocol

from switchboard.media.codecs import VideoCodec


class MediaKind(Enum):
    AUDIO = "audio"
    VIDEO = "video"


# RFC 4733's encoding name, the key of its payload type in a participant's ``payload_types``
TELEPHONE_EVENT = "telephone-event"


class PacketSink(Protocol):
    """Where the forwarder puts packets for one participant (its transport, or a test link).

    ``send_rtp`` gets the source packet's plaintext and the header fields to write over it:
    ``marker_pt`` (second header byte), sequence number, timestamp, SSRC. The sink must copy
    before it rewrites: ``packet`` is shared by every subscriber of the source.
    """

    def send_rtp(
        self,
        packet: bytes | bytearray | memoryview,
        length: int,
        marker_pt: int,
        seq: int,
        timestamp: int,
        ssrc: int,
    ) -> None: ...

    def send_rtcp(self, data: bytes) -> None: ...


CACHE_SIZE = 1024  # a power of two; ~3 s of 1 Mbit/s video, but entries expire sooner
CACHE_MASK = CACHE_SIZE - 1
CACHE_SECONDS = 1.0


class PacketCache:
    """The last packets of one track by sequence number, for answering NACKs."""

    __slots__ = ("packets", "times")

    def __init__(self) -> None:
        self.packets: list[bytes | None] = [None] * CACHE_SIZE
        self.times: list[float] = [0.0] * CACHE_SIZE

    def put(self, seq: int, packet: bytes, now: float) -> None:
        self.packets[seq & CACHE_MASK] = packet
        self.times[seq & CACHE_MASK] = now

    def get(self, seq: int, now: float) -> bytes | None:
        packet = self.packets[seq & CACHE_MASK]
        if packet is None or now - self.times[seq & CACHE_MASK] > CACHE_SECONDS:
            return None
        if (packet[2] << 8 | packet[3]) != seq:  # overwritten by a later lap of the ring
            return None
        return packet


class Track:
    """One published RTP stream, with receive statistics for our receiver reports."""

    __slots__ = (
        "audience",
        "base_seq",
        "cache",
        "clock_rate",
        "codec",
        "cycles",
        "event_payload_type",
        "expected_prior",
        "jitter",
        "kind",
        "last_keyframe_request",
        "last_transit",
        "level_count",
        "level_id",
        "level_sum",
        "max_seq",
        "muted",
        "participant_id",
        "payload_type",
        "received",
        "received_prior",
        "routes",
        "screen_share",
        "sr_arrival",
        "sr_ntp_middle",
        "ssrc",
    )

    def __init__(
        self,
        participant_id: str,
        kind: MediaKind,
        ssrc: int,
        payload_type: int,
        clock_rate: int,
        codec: VideoCodec | None = None,
        level_id: int = 0,
        event_payload_type: int = -1,
        screen_share: bool = False,
    ) -> None:
        self.participant_id = participant_id
        self.kind = kind
        self.screen_share = screen_share  # a shared screen: its own stream beside the camera
        self.ssrc = ssrc
        self.payload_type = payload_type
        # RFC 4733 telephone-event packets share the audio stream (SSRC, sequence numbers,
        # clock) under their own payload type; -1: none negotiated
        self.event_payload_type = event_payload_type
        # who may hear it (ACS playTo); None: every subscriber
        self.audience: frozenset[str] | None = None
        self.clock_rate = clock_rate
        self.codec = codec
        self.level_id = level_id  # RFC 6464 extension id; 0: not negotiated
        self.muted = False
        self.routes: list[StreamRewriter] = []  # the outgoing streams this track feeds now
        self.cache: PacketCache | None = PacketCache() if kind is MediaKind.VIDEO else None
        self.last_keyframe_request = -1e9
        # speaker detection: loudness (127 − level) summed since the last tick
        self.level_sum = 0
        self.level_count = 0
        # receive statistics (RFC 3550 A.1, A.3, A.8)
        self.received = 0
        self.base_seq = -1
        self.max_seq = 0
        self.cycles = 0
        self.expected_prior = 0
        self.received_prior = 0
        self.jitter = 0.0
        self.last_transit = 0.0
        self.sr_ntp_middle = 0  # middle 32 bits of the last SR's NTP time (LSR)
        self.sr_arrival = 0.0

    @property
    def extended_max_seq(self) -> int:
        return self.cycles + self.max_seq

    def expected(self) -> int:
        """Packets the sender sent so far, by sequence numbers (RFC 3550 A.3); 0 before any."""
        return self.extended_max_seq - self.base_seq + 1 if self.base_seq >= 0 else 0


class StreamRewriter:
    """One outgoing stream to one subscriber: SSRC, sequence and timestamp mapping."""

    __slots__ = (
        "event_payload_type",
        "kind",
        "last_seq",
        "last_time",
        "last_ts",
        "payload_type",
        "segment_start",
        "seq_offset",
        "silenced",
        "sink",
        "source",
        "ssrc",
        "subscriber_id",
        "ts_offset",
        "waiting",
    )

    def __init__(
        self, subscriber_id: str, kind: MediaKind, ssrc: int, sink: PacketSink, now: float
    ) -> None:
        self.subscriber_id = subscriber_id
        self.kind = kind
        self.ssrc = ssrc
        self.sink = sink
        self.source: Track | None = None
        self.silenced = False  # out of its source's audience: kept, but not in its routes
        self.payload_type = 0
        self.event_payload_type = -1  # the subscriber's telephone-event PT; -1: not negotiated
        self.seq_offset = 0
        self.ts_offset = 0
        self.segment_start = 0
        # the last packet sent (random start, as RFC 3550 asks), so a rebase continues from it
        self.last_seq = random.getrandbits(16)
        self.last_ts = random.getrandbits(32)
        self.last_time = now
        self.waiting = True  # rebase at the next packet the source may start with

    def rebase(self, seq: int, timestamp: int, clock_rate: int, now: float) -> None:
        """Continue this stream with a new source packet (``seq``, ``timestamp``): the next
        sequence number, and a timestamp advanced by the wall-clock time since the last."""
        step = max(1, int((now - self.last_time) * clock_rate))
        self.seq_offset = (self.last_seq + 1 - seq) & 0xFFFF
        self.ts_offset = (self.last_ts + step - timestamp) & 0xFFFFFFFF
        self.segment_start = (self.last_seq + 1) & 0xFFFF
        self.waiting = False

    def source_seq(self, out_seq: int) -> int | None:
        """The source sequence number behind outgoing ``out_seq``, if it is of this source."""
        if self.waiting or (out_seq - self.segment_start) & 0xFFFF >= 0x8000:
            return None
        return (out_seq - self.seq_offset) & 0xFFFF
