"""PCM helpers: the kit's format, frame slicing, silence, level and resampling.

PCM everywhere is signed 16-bit little-endian mono. The native rate is 48 kHz in 20 ms frames
(960 samples, 1,920 bytes): what the SFU's Opus legs carry.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import av
import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 48_000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 960
SAMPLE_BYTES = 2
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_BYTES  # 1,920
SILENCE_DBFS = -120.0  # what rms_dbfs answers for digital silence (log of zero)

SILENT_FRAME = bytes(FRAME_BYTES)


def silence(duration_ms: int, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Digital silence of the given length."""
    return bytes(sample_rate * duration_ms // 1000 * SAMPLE_BYTES)


def duration_ms(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> int:
    return len(pcm) // SAMPLE_BYTES * 1000 // sample_rate


def split_frames(pcm: bytes, frame_bytes: int = FRAME_BYTES) -> list[bytes]:
    """Cut PCM into whole frames, padding the last one with silence."""
    return list(iter_frames(pcm, frame_bytes))


def iter_frames(pcm: bytes, frame_bytes: int = FRAME_BYTES) -> Iterator[bytes]:
    for start in range(0, len(pcm), frame_bytes):
        frame = pcm[start : start + frame_bytes]
        yield frame if len(frame) == frame_bytes else frame.ljust(frame_bytes, b"\x00")


def samples(pcm: bytes) -> NDArray[np.int16]:
    """The PCM as an int16 array (a view: no copy). An odd trailing byte is dropped."""
    return np.frombuffer(pcm, dtype="<i2", count=len(pcm) // SAMPLE_BYTES)


def to_pcm(values: NDArray[np.floating] | NDArray[np.integer]) -> bytes:
    """Float samples in [-1, 1] (or int16 already) as PCM, clipped."""
    if np.issubdtype(values.dtype, np.floating):
        values = np.clip(np.rint(values * 32767.0), -32768, 32767)
    return np.asarray(values, dtype="<i2").tobytes()


def rms_dbfs(pcm: bytes) -> float:
    """Root-mean-square level relative to a full-scale square wave: 0 is the loudest,
    ``SILENCE_DBFS`` is silence. For "heard something" checks and voice activity."""
    x = samples(pcm).astype(np.float64)
    if x.size == 0:
        return SILENCE_DBFS
    power = float(np.mean(x * x)) / (32768.0 * 32768.0)
    return max(SILENCE_DBFS, 10.0 * math.log10(power)) if power > 0 else SILENCE_DBFS


def resample(pcm: bytes, from_rate: int, to_rate: int = SAMPLE_RATE) -> bytes:
    """Mono PCM from one sample rate to another (FFmpeg's resampler through PyAV)."""
    if from_rate == to_rate or not pcm:
        return pcm
    data = samples(pcm).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="s16", layout="mono")
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return b"".join(bytes(f.to_ndarray().astype("<i2").tobytes()) for f in out)
