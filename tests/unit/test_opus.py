"""media/opus.py: the in-process legs' Opus, and the narrowband coding of phones' audio;
media/narrowband_opus.py: phones' 8 kHz audio straight through libopus (or PyAV without it)."""

from __future__ import annotations

import numpy as np
import pytest

from switchboard.media.narrowband_opus import FRAME_SAMPLES as NARROW_SAMPLES
from switchboard.media.narrowband_opus import (
    NarrowbandFrameError,
    NarrowbandOpusDecoder,
    NarrowbandOpusEncoder,
    libopus,
)
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


def narrowband_tone(frames: int, hz: float = 440.0) -> list[bytes]:
    t = np.arange(NARROW_SAMPLES * frames) / 8000
    pcm = (np.sin(2 * np.pi * hz * t) * 8000).astype("<i2")
    return [pcm[i * NARROW_SAMPLES : (i + 1) * NARROW_SAMPLES].tobytes() for i in range(frames)]


def peak_hz(pcm: np.ndarray, rate: int) -> float:
    samples = pcm.astype(np.float64)
    return float(np.argmax(np.abs(np.fft.rfft(samples))) * rate / samples.size)


@pytest.mark.parametrize("use_libopus", [True, False], ids=["libopus", "pyav"])
def test_a_phones_8_khz_tone_codes_as_narrowband_opus_any_subscriber_decodes_at_48_khz(
    use_libopus: bool,
) -> None:
    encoder, decoder = NarrowbandOpusEncoder(use_libopus=use_libopus), OpusDecoder()
    packets = [encoder.encode(frame) for frame in narrowband_tone(25)]
    assert all(packet[0] >> 3 in NARROWBAND_CONFIGS for packet in packets)
    heard = np.concatenate([np.frombuffer(decoder.decode(p), dtype="<i2") for p in packets])
    assert heard.size == 25 * FRAME_SAMPLES  # 20 ms a packet, at 48 kHz
    late = heard[-FRAME_SAMPLES * 10 :]
    assert abs(peak_hz(late, SAMPLE_RATE) - 440) < 10
    assert np.sqrt(np.mean(late.astype(np.float64) ** 2)) > 1000


@pytest.mark.parametrize("use_libopus", [True, False], ids=["libopus", "pyav"])
def test_the_call_decodes_to_8_khz_for_a_phone(use_libopus: bool) -> None:
    encoder, decoder = OpusEncoder(), NarrowbandOpusDecoder(use_libopus=use_libopus)
    frames = [decoder.decode(encoder.encode(frame)) for frame in tone(25)]
    assert {len(frame) for frame in frames} == {NARROW_SAMPLES * 2}  # 160 samples, 20 ms
    late = np.concatenate([np.frombuffer(f, dtype="<i2") for f in frames[-10:]])
    assert abs(peak_hz(late, 8000) - 440) < 10
    assert np.sqrt(np.mean(late.astype(np.float64) ** 2)) > 1000
    assert decoder.decode(b"") == b""  # an unusable packet: nothing, the stream goes on


def test_the_narrowband_encoder_takes_only_whole_20_ms_frames() -> None:
    with pytest.raises(NarrowbandFrameError):
        NarrowbandOpusEncoder().encode(b"\x00" * 100)


def test_libopus_is_found_where_pyav_bundles_it_or_on_the_system() -> None:
    assert libopus() is not None


def test_digital_silence_is_not_coded_and_sound_after_it_starts_a_fresh_encoder() -> None:
    """A trunk's silence codes (μ-law 0xFF → 0, A-law 0xD5 → 8) become one packet made
    once; the tone after them is coded from a fresh state, as a new encoder would."""
    encoder, fresh, decoder = NarrowbandOpusEncoder(), NarrowbandOpusEncoder(), OpusDecoder()
    talk = narrowband_tone(10)
    spoken = [encoder.encode(frame) for frame in talk[:5]]
    alaw_silence = (8).to_bytes(2, "little", signed=True) * NARROW_SAMPLES
    silent = [encoder.encode(frame) for frame in [bytes(320)] * 5 + [alaw_silence] * 5]
    assert len(set(silent)) == 1 and len(silent[0]) < 10  # the same few bytes each time
    again = [encoder.encode(frame) for frame in talk[5:]]
    assert again == [fresh.encode(frame) for frame in talk[5:]]  # reset: no stale state
    heard = [np.frombuffer(decoder.decode(p), dtype="<i2") for p in spoken + silent + again]
    assert all(frame.size == FRAME_SAMPLES for frame in heard)  # every 20 ms still arrives
    assert max(int(np.abs(frame).max()) for frame in heard[7:15]) < 100  # silence, heard
    assert np.sqrt(np.mean(np.concatenate(heard[-3:]).astype(np.float64) ** 2)) > 1000
