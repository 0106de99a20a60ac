"""media/opus.py: the in-process legs' Opus, and the narrowband coding of phones' audio."""

from __future__ import annotations

import numpy as np

from switchboard.media.opus import FRAME_SAMPLES, SAMPLE_RATE, OpusDecoder, OpusEncoder

# RFC 6716 §3.1: the TOC byte's configuration; these are narrowband (4 kHz audio bandwidth),
# SILK (0-3) or CELT (16-19).
NARROWBAND_CONFIGS = {0, 1, 2, 3, 16, 17, 18, 19}


def tone(frames: int, hz: float = 440.0) -> list[bytes]:
    t = np.arange(FRAME_SAMPLES * frames) / SAMPLE_RATE
    pcm = (np.sin(2 * np.pi * hz * t) * 8000).astype("<i2")
    return [pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES].tobytes() for i in range(frames)]


def test_a_narrowband_encoder_codes_a_phones_tone_as_narrowband_opus_that_decodes_whole() -> None:
    encoder, decoder = OpusEncoder(narrowband=True), OpusDecoder()
    packets = [encoder.encode(frame) for frame in tone(25)]
    assert all(packet[0] >> 3 in NARROWBAND_CONFIGS for packet in packets)
    heard = np.concatenate([np.frombuffer(decoder.decode(p), dtype="<i2") for p in packets])
    late = heard[-FRAME_SAMPLES * 10 :].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(late))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / late.size
    assert abs(peak_hz - 440) < 10 and np.sqrt(np.mean(late**2)) > 1000


def test_the_default_encoder_codes_wideband_or_more() -> None:
    encoder = OpusEncoder()
    packets = [encoder.encode(frame) for frame in tone(25, hz=6000)]
    assert not any(packet[0] >> 3 in NARROWBAND_CONFIGS for packet in packets)
