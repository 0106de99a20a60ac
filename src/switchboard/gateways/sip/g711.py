"""G.711 (μ-law, A-law) ⇄ 16-bit PCM, and 8 kHz ⇄ 48 kHz, with numpy lookup tables.

``audioop`` left the standard library in 3.13; these tables are what it computed. Decoding
is a 256-entry table; encoding a 65,536-entry table indexed by the sample's bits.
Resampling 8 → 48 kHz interpolates linearly; 48 → 8 kHz averages each six samples (a box
filter: enough against aliasing for telephone speech, and cheap).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


def _ulaw_decode_table() -> Samples:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> Samples:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


def _encode_table(decode: Samples) -> npt.NDArray[np.uint8]:
    """For every 16-bit sample, the code whose decoded value is nearest (ties: either)."""
    order = np.argsort(decode.astype(np.int32), kind="stable")
    values = decode.astype(np.int32)[order]
    samples = np.arange(-32768, 32768, dtype=np.int32)
    index = np.clip(np.searchsorted(values, samples), 1, len(values) - 1)
    nearer_left = (samples - values[index - 1]) <= (values[index] - samples)
    best = np.where(nearer_left, index - 1, index)
    table = order[best].astype(np.uint8)
    return np.roll(table, -32768)  # indexed by the sample's bits as uint16


ULAW_DECODE = _ulaw_decode_table()
ALAW_DECODE = _alaw_decode_table()
ULAW_ENCODE = _encode_table(ULAW_DECODE)
ALAW_ENCODE = _encode_table(ALAW_DECODE)
_DECODE = {"PCMU": ULAW_DECODE, "PCMA": ALAW_DECODE}
_ENCODE = {"PCMU": ULAW_ENCODE, "PCMA": ALAW_ENCODE}
SILENCE = {"PCMU": b"\xff" * 160, "PCMA": b"\xd5" * 160}


def decode(codec: str, payload: bytes) -> Samples:
    decoded: Samples = _DECODE[codec][np.frombuffer(payload, dtype=np.uint8)]
    return decoded


def encode(codec: str, samples: Samples) -> bytes:
    return _ENCODE[codec][samples.view(np.uint16)].tobytes()


_FRAME = 160  # 20 ms at 8 kHz: the positions every call would build are made once
_POSITIONS = np.arange(_FRAME * 6, dtype=np.float32) / 6.0
_INDEX = np.arange(_FRAME, dtype=np.float32)


def upsample_8k_to_48k(samples: Samples) -> Samples:
    n = samples.size
    if n == 0:
        return samples
    if n == _FRAME:
        positions, index = _POSITIONS, _INDEX
    else:
        positions = np.arange(n * 6, dtype=np.float32) / 6.0
        index = np.arange(n, dtype=np.float32)
    upsampled: Samples = np.interp(positions, index, samples.astype(np.float32)).astype(np.int16)
    return upsampled


def downsample_48k_to_8k(samples: Samples) -> Samples:
    usable = samples.size - samples.size % 6
    blocks = samples[:usable].reshape(-1, 6)
    averaged: Samples = (blocks.sum(axis=1, dtype=np.int32) // 6).astype(np.int16)
    return averaged
