"""Audio between the call (48 kHz, 20 ms frames) and the app's stream (16 or 24 kHz). Sans-I/O.

    the app's leg hears a participant ─▶ heard(raw id, 48 kHz frame)
        unmixed ─▶ that participant's Decimator ─▶ one AudioData frame, at once
        mixed   ─▶ a short per-participant buffer ─▶ tick() every 20 ms: the frames summed
                   ─▶ one Decimator ─▶ one AudioData frame (silent when nobody spoke)
    the app's AudioData ─▶ AppAudio.push (upsampled to 48 kHz) ─▶ next_frame() each tick
        StopAudio ─▶ clear()

The decimator is a windowed-sinc low-pass (so 8–24 kHz content does not fold into the band)
followed by keeping every 3rd or 2nd sample; it carries its filter history across frames, so
a stream is continuous. Each buffer is bounded: a participant's backlog beyond a few frames
(a burst after a stall) is dropped oldest first, so latency cannot grow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from switchboard.media.audio.frames import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, rms_dbfs

SILENT_BELOW_DBFS = -50.0  # a frame quieter than this is flagged ``silent``
MIXED_BACKLOG_FRAMES = 3  # per participant: 60 ms
TAPS = 48


def _low_pass(factor: int) -> NDArray[np.float32]:
    n = np.arange(TAPS) - (TAPS - 1) / 2
    cutoff = 0.45 / factor  # of the input rate: a little under the output's Nyquist
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(TAPS)
    normalised: NDArray[np.float32] = (taps / taps.sum()).astype(np.float32)
    return normalised


class Decimator:
    """48 kHz s16le frames to ``rate`` (16 or 24 kHz), continuous across frames."""

    def __init__(self, rate: int) -> None:
        if SAMPLE_RATE % rate:
            raise ValueError(f"{rate} Hz does not divide {SAMPLE_RATE} Hz")
        self._factor = SAMPLE_RATE // rate
        self._taps = _low_pass(self._factor)
        self._history = np.zeros(TAPS - 1, dtype=np.float32)

    def silence(self) -> bytes:
        """A frame of digital silence in, without the arithmetic (most of a call's ticks)."""
        self._history[:] = 0
        return bytes(FRAME_SAMPLES // self._factor * 2)

    def __call__(self, frame: bytes) -> bytes:
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        joined = np.concatenate((self._history, samples))
        self._history = joined[-(TAPS - 1) :]
        filtered = np.convolve(joined, self._taps, mode="valid")[:: self._factor]
        return np.clip(np.rint(filtered), -32768, 32767).astype("<i2").tobytes()


def upsample(pcm: bytes, rate: int, last: float) -> tuple[bytes, float]:
    """``rate`` PCM to 48 kHz by linear interpolation from the previous chunk's last sample
    (speech from an app's TTS: linear is enough). Returns the PCM and the new last sample."""
    source = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    if not source.size:
        return b"", last
    factor = SAMPLE_RATE // rate
    points = np.concatenate(([last], source))
    where = np.arange(1, source.size * factor + 1, dtype=np.float32) / factor
    out = np.interp(where, np.arange(points.size, dtype=np.float32), points)
    return np.clip(np.rint(out), -32768, 32767).astype("<i2").tobytes(), float(source[-1])


def is_silent(pcm: bytes) -> bool:
    return rms_dbfs(pcm) < SILENT_BELOW_DBFS


Emit = Callable[[bytes, bool, str | None], None]  # (PCM at the stream's rate, silent, raw id)


class CallAudio:
    """What the app's endpoint hears, as the stream's frames (``emit``)."""

    def __init__(self, rate: int, *, mixed: bool, emit: Emit) -> None:
        self._rate = rate
        self._mixed = mixed
        self._emit = emit
        self._decimators: dict[str, Decimator] = {}
        self._mix = Decimator(rate)
        self._pending: dict[str, deque[bytes]] = {}
        self.dropped_frames = 0  # mixed backlog overflows

    def heard(self, raw_id: str, frame: bytes) -> None:
        if len(frame) != FRAME_BYTES:
            return  # the leg decodes 20 ms frames; anything else is not ours to mix
        if not self._mixed:
            decimator = self._decimators.get(raw_id)
            if decimator is None:
                decimator = self._decimators[raw_id] = Decimator(self._rate)
            self._emit(decimator(frame), is_silent(frame), raw_id)
            return
        backlog = self._pending.get(raw_id)
        if backlog is None:
            backlog = self._pending[raw_id] = deque()
        if len(backlog) >= MIXED_BACKLOG_FRAMES:
            backlog.popleft()
            self.dropped_frames += 1
        backlog.append(frame)

    def tick(self) -> None:
        """Mixed audio: one frame every 20 ms, silent or not (ACS sends a steady stream)."""
        if not self._mixed:
            return
        heard = []
        for raw_id, backlog in list(self._pending.items()):
            if backlog:
                heard.append(backlog.popleft())
            else:
                del self._pending[raw_id]  # quiet (or gone): its buffer goes
        if not heard:  # nobody sent anything this tick
            self._emit(self._mix.silence(), True, None)
            return
        if len(heard) == 1:
            frame = heard[0]
        else:
            mix = np.zeros(FRAME_SAMPLES, dtype=np.int32)
            for one in heard:
                mix += np.frombuffer(one, dtype="<i2")
            frame = np.clip(mix, -32768, 32767).astype("<i2").tobytes()
        self._emit(self._mix(frame), is_silent(frame), None)


class AppAudio:
    """Audio the app sends back, as 48 kHz 20 ms frames to play; at most ``max_seconds``
    queued (an app that sends faster than real time loses the oldest audio, counted)."""

    WAIT_TICKS = 2  # a partial frame waits this long for the rest before it plays padded

    def __init__(self, rate: int, *, max_seconds: float = 30.0) -> None:
        self._rate = rate
        self._queued = bytearray()
        self._last = 0.0
        self._max_bytes = int(max_seconds * 1000 / 20) * FRAME_BYTES
        self._waited = 0
        self.dropped_bytes = 0

    @property
    def queued_ms(self) -> int:
        return len(self._queued) // FRAME_BYTES * 20

    def push(self, pcm: bytes) -> None:
        upsampled, self._last = upsample(pcm, self._rate, self._last)
        self._queued += upsampled
        excess = len(self._queued) - self._max_bytes
        if excess > 0:
            excess += (-excess) % FRAME_BYTES  # whole frames
            del self._queued[:excess]
            self.dropped_bytes += excess

    def clear(self) -> None:
        self._queued.clear()
        self._last = 0.0
        self._waited = 0

    def next_frame(self) -> bytes | None:
        if len(self._queued) >= FRAME_BYTES:
            self._waited = 0
            frame = bytes(self._queued[:FRAME_BYTES])
            del self._queued[:FRAME_BYTES]
            return frame
        if not self._queued:
            return None
        self._waited += 1
        if self._waited < self.WAIT_TICKS:
            return None
        frame = bytes(self._queued).ljust(FRAME_BYTES, b"\x00")
        self.clear()
        return frame
