"""In-band DTMF: generated tones are detected once each; noise, speech and silence give none."""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.media.audio.dtmf import DtmfDetector, tone_frames, tone_pcm
from switchboard.media.audio.frames import (
    FRAME_BYTES,
    SAMPLE_RATE,
    resample,
    samples,
    silence,
    split_frames,
    to_pcm,
)
from switchboard.media.audio.tones import DtmfTone

ALL_TONES = list(DtmfTone)


def detect(pcm: bytes, chunk: int = FRAME_BYTES, detector: DtmfDetector | None = None) -> str:
    detector = detector or DtmfDetector()
    found = [t for i in range(0, len(pcm), chunk) for t in detector.feed(pcm[i : i + chunk])]
    return "".join(t.value for t in found)


def add_noise(pcm: bytes, dbfs: float, seed: int = 7) -> bytes:
    x = samples(pcm).astype(np.float64) / 32768.0
    noise = np.random.default_rng(seed).normal(0.0, 10 ** (dbfs / 20), x.size)
    return to_pcm(x + noise)


def test_every_key_sent_as_frames_is_detected_once_in_order() -> None:
    pcm = b"".join(f for tone in ALL_TONES for f in tone_frames(tone))
    assert detect(pcm) == "0123456789*#ABCD"


def test_a_long_press_split_across_many_odd_sized_chunks_is_one_digit() -> None:
    pcm = silence(30) + tone_pcm(DtmfTone.FIVE, duration_ms=1500, gap_ms=100)
    assert detect(pcm, chunk=334) == "5"


def test_the_same_key_twice_with_the_minimum_gap_is_two_digits() -> None:
    pcm = tone_pcm(DtmfTone.SEVEN, 40, 40) + tone_pcm(DtmfTone.SEVEN, 40, 40)
    assert detect(pcm) == "77"


def test_tones_under_noise_and_at_changing_levels_are_each_detected_once() -> None:
    levels = [-6.0, -30.0, -12.0, -36.0, -20.0]
    pcm = b"".join(
        tone_pcm(tone, 80, 60, level_dbfs=levels[i % len(levels)])
        for i, tone in enumerate(ALL_TONES)
    )
    assert detect(add_noise(pcm, dbfs=-50.0)) == "0123456789*#ABCD"


def test_noise_at_the_tone_level_masks_nothing_but_invents_nothing() -> None:
    pcm = add_noise(silence(3000), dbfs=-15.0, seed=3)
    assert detect(pcm) == ""


def test_silence_gives_no_digit() -> None:
    assert detect(silence(2000)) == ""


def test_a_single_pure_tone_is_not_a_key() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    assert detect(to_pcm(0.3 * np.sin(2 * np.pi * 697.0 * t))) == ""


def test_a_dropout_shorter_than_the_minimum_gap_does_not_repeat_the_digit() -> None:
    pcm = tone_pcm(DtmfTone.THREE, 120, 0) + silence(20) + tone_pcm(DtmfTone.THREE, 120, 60)
    assert detect(pcm) == "3"


def test_works_at_8_khz_as_well() -> None:
    pcm = b"".join(tone_pcm(tone, 60, 50, sample_rate=8000) for tone in ALL_TONES)
    assert detect(pcm, chunk=320, detector=DtmfDetector(8000)) == "0123456789*#ABCD"


def test_speech_gives_no_digit() -> None:
    """espeak-ng counting and reading numbers: voiced speech is full of harmonics."""
    text = "one two three four five six seven eight nine zero. Press pound. Hello, operator!"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(path), "-v", "en-us+f3", text], check=True)
        with wave.open(str(path)) as wav:
            rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    assert detect(resample(pcm, rate)) == ""


def test_tone_frames_are_whole_frames_of_the_requested_length() -> None:
    frames = tone_frames(DtmfTone.ONE, duration_ms=100, gap_ms=60)
    assert len(frames) == 8
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert frames[-1] == bytes(FRAME_BYTES)


press = st.tuples(
    st.sampled_from(ALL_TONES),
    st.integers(min_value=40, max_value=200),  # tone ms
    st.integers(min_value=40, max_value=150),  # gap ms
    st.floats(min_value=-36.0, max_value=-6.0),  # level of each component
)


@settings(max_examples=40, deadline=None)
@given(presses=st.lists(press, min_size=1, max_size=8), chunk=st.integers(100, 4000))
def test_any_sequence_of_tones_round_trips_through_generator_and_detector(
    presses: list[tuple[DtmfTone, int, int, float]], chunk: int
) -> None:
    pcm = b"".join(
        f
        for tone, ms, gap, level in presses
        for f in split_frames(tone_pcm(tone, ms, gap, level_dbfs=level))
    )
    assert detect(pcm, chunk=chunk * 2) == "".join(tone.value for tone, *_ in presses)
