"""Opus for in-process legs: PCM (48 kHz mono s16le) ⇄ Opus packets, with PyAV's libopus.

One encoder per stream a leg publishes and one decoder per stream it listens to: both keep
state between packets (prediction, the encoder's look-ahead), so they are never shared.

    send_audio: 1,920 bytes (20 ms) ─OpusEncoder.encode─▶ one Opus packet (RTP payload)
    listen:     RTP payload ─OpusDecoder.decode─▶ PCM (960 samples for a 20 ms packet)
"""

from __future__ import annotations

import fractions
from typing import Literal

import av
from av.audio.codeccontext import AudioCodecContext

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
FRAME_BYTES = FRAME_SAMPLES * 2  # mono s16le
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


class OpusFrameSizeError(ValueError):
    """The PCM handed to the encoder is not one 20 ms frame."""


def _context(mode: Literal["r", "w"]) -> AudioCodecContext:
    context = av.CodecContext.create("libopus", mode)
    context.sample_rate = SAMPLE_RATE
    context.layout = "mono"
    context.format = "s16"
    return context


class OpusEncoder:
    """20 ms mono frames in, one Opus packet each out (VoIP mode, 32 kbit/s).

    ``narrowband``: the audio comes from an 8 kHz source (a phone's G.711), so nothing lies
    above 4 kHz: libopus codes narrowband (its ``cutoff`` 4000), about a third less CPU for
    the same sound (bench/sip.py: the bridged calls' largest cost is this encoder)."""

    def __init__(self, bit_rate: int = 32_000, *, narrowband: bool = False) -> None:
        self._context = _context("w")
        self._context.bit_rate = bit_rate
        options = {"application": "voip", "frame_duration": "20"}
        if narrowband:
            options["cutoff"] = "4000"
        self._context.options = options
        self._context.open()
        self._pts = 0

    def encode(self, pcm: bytes | bytearray | memoryview) -> bytes:
        if len(pcm) != FRAME_BYTES:
            raise OpusFrameSizeError(f"a frame is {FRAME_BYTES} bytes, not {len(pcm)}")
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(bytes(pcm))
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = _TIME_BASE
        frame.pts = self._pts
        self._pts += FRAME_SAMPLES
        # libopus returns the packet for this frame at once (its look-ahead is in the
        # packet's pre-skip, not a delay in packets): one frame in, one packet out.
        return b"".join(bytes(packet) for packet in self._context.encode(frame))


class OpusDecoder:
    """Opus packets in, 48 kHz mono s16le out (a stereo stream is mixed down by libopus)."""

    def __init__(self) -> None:
        self._context = _context("r")
        self._context.open()

    def decode(self, payload: bytes) -> bytes:
        """The PCM of one packet; empty if the packet was unusable (the stream goes on)."""
        try:
            frames = self._context.decode(av.Packet(payload))
        except av.error.FFmpegError:
            return b""
        return b"".join(bytes(f.planes[0])[: f.samples * 2] for f in frames)
