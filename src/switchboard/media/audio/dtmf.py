"""In-band DTMF: a streaming detector and a tone generator (PCM, any rate; 48 kHz native).

Detection, per analysis window of 20 ms taken every 10 ms:

    samples ─▶ 20 ms window ─▶ power at the 8 DTMF frequencies (single-bin DFTs: the value
               Goertzel computes, done as one matrix product) ─▶ classify:
                 strongest row and column each ≥ min level, each ≥ 6 dB above its group's
                 runner-up, twist within ±max_twist_db, and the pair carrying most of the
                 window's energy (speech and noise spread theirs) ─▶ key or nothing
    ─▶ debounce: a key is reported once when it held for the windows that fit in
       min_tone_ms; it is re-armed only after min_gap_ms without it (so one press gives one
       digit however the frames cut it, and a dropout shorter than the gap changes nothing).

A 40 ms tone always covers at least two whole windows, which is the default requirement; a
20 ms dropout inside a press does not re-arm the key, a 40 ms gap does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from switchboard.media.audio.frames import SAMPLE_RATE, samples, split_frames, to_pcm
from switchboard.media.audio.tones import COLUMN_HZ, KEYPAD, ROW_HZ, DtmfTone

WINDOW_MS = 20
HOP_MS = 10
_FULL_SCALE = 32768.0
# A peak must stand this far above the runner-up in its group (adjacent DTMF frequencies
# leak about -13 dB into each other through a 20 ms rectangular window).
_PEAK_MARGIN = 4.0  # 6 dB


class DtmfDetector:
    """Feed PCM (any length, in order); get each key press once.

    ``min_level_dbfs`` is per tone component, relative to full scale (a full-scale sine is -3).
    ``min_tone_share`` is the fraction of the window's energy the two tones must carry.
    """

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        *,
        min_level_dbfs: float = -45.0,
        max_twist_db: float = 8.0,
        min_tone_share: float = 0.7,
        min_tone_ms: int = 40,
        min_gap_ms: int = 40,
    ) -> None:
        self._window = sample_rate * WINDOW_MS // 1000
        self._hop = sample_rate * HOP_MS // 1000
        n = np.arange(self._window)
        freqs = np.array(ROW_HZ + COLUMN_HZ)
        phase = 2 * np.pi * np.outer(freqs, n) / sample_rate
        # cosines then sines: one real matrix product gives the 8 real and imaginary parts
        self._basis: NDArray[np.float64] = np.vstack((np.cos(phase), np.sin(phase)))
        self._min_power = 10 ** (min_level_dbfs / 10)
        self._max_twist = 10 ** (max_twist_db / 10)
        self._min_share = min_tone_share
        self._min_windows = max(1, (min_tone_ms - WINDOW_MS) // HOP_MS)
        # A gap of G ms spoils G/10 + 1 windows (measured: the windows it cuts by a third or
        # more fail the energy share test); G/10 leaves one window of margin.
        self._gap_windows = max(1, min_gap_ms // HOP_MS)
        self._pending: NDArray[np.float64] = np.zeros(0)
        self._run_tone: DtmfTone | None = None
        self._run = 0
        self._active: DtmfTone | None = None  # reported and not yet released
        self._released = 0  # consecutive windows without the active tone

    def feed(self, pcm: bytes) -> list[DtmfTone]:
        x = samples(pcm).astype(np.float64) / _FULL_SCALE
        buffer = np.concatenate((self._pending, x)) if self._pending.size else x
        found: list[DtmfTone] = []
        start = 0
        while start + self._window <= buffer.size:
            tone = self.classify(buffer[start : start + self._window])
            if (pressed := self._debounce(tone)) is not None:
                found.append(pressed)
            start += self._hop
        self._pending = buffer[start:].copy()
        return found

    def classify(self, window: NDArray[np.float64]) -> DtmfTone | None:
        """The key whose tone pair fills this one window, if any."""
        energy = float(np.dot(window, window)) / window.size
        if energy <= 0.0:
            return None
        parts = self._basis @ window
        # mean power of the sinusoid at each frequency: |X|² · 2 / N²
        power = ((parts[:8] ** 2 + parts[8:] ** 2) * (2.0 / window.size**2)).tolist()
        rows, cols = sorted(power[:4]), sorted(power[4:])
        row, col = rows[3], cols[3]
        if row < self._min_power or col < self._min_power:
            return None
        if row > self._max_twist * col or col > self._max_twist * row:
            return None
        if (row + col) < self._min_share * energy:
            return None
        if _PEAK_MARGIN * rows[2] > row or _PEAK_MARGIN * cols[2] > col:
            return None
        return KEYPAD[power.index(row)][power.index(col, 4) - 4]

    def _debounce(self, tone: DtmfTone | None) -> DtmfTone | None:
        if tone is self._run_tone:
            self._run += 1
        else:
            self._run_tone, self._run = tone, 1
        if self._active is not None:
            if tone is self._active:
                self._released = 0
                return None
            self._released += 1
            if self._released >= self._gap_windows:
                self._active = None
        if tone is not None and tone is not self._active and self._run >= self._min_windows:
            self._active, self._released = tone, 0
            return tone
        return None


def tone_pcm(
    tone: DtmfTone,
    duration_ms: int = 100,
    gap_ms: int = 60,
    *,
    sample_rate: int = SAMPLE_RATE,
    level_dbfs: float = -10.0,
) -> bytes:
    """A key press as PCM: the tone pair (each component at ``level_dbfs``), then silence.

    2 ms raised-cosine edges keep the spectrum clean (no clicks between frames)."""
    low, high = tone.frequencies
    n = sample_rate * duration_ms // 1000
    t = np.arange(n) / sample_rate
    amplitude = 10 ** (level_dbfs / 20)
    wave = amplitude * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))
    ramp = min(n // 2, sample_rate // 500)
    if ramp:
        edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        wave[:ramp] *= edge
        wave[n - ramp :] *= edge[::-1]
    gap = np.zeros(sample_rate * gap_ms // 1000)
    return to_pcm(np.concatenate((wave, gap)))


def tone_frames(
    tone: DtmfTone,
    duration_ms: int = 100,
    gap_ms: int = 60,
    *,
    sample_rate: int = SAMPLE_RATE,
    level_dbfs: float = -10.0,
) -> list[bytes]:
    """A key press as 20 ms frames to send in-band (the last one padded with silence)."""
    pcm = tone_pcm(tone, duration_ms, gap_ms, sample_rate=sample_rate, level_dbfs=level_dbfs)
    return split_frames(pcm, sample_rate * WINDOW_MS // 1000 * 2)
