"""Call audio to stream frames (mixing, resampling, silence) and the app's audio back."""

from __future__ import annotations

import numpy as np

from switchboard.automation.streaming.audio import AppAudio, CallAudio, Decimator, upsample
from switchboard.media.audio.frames import FRAME_BYTES, SILENT_FRAME, rms_dbfs


def tone(hz: float, frames: int = 1, rate: int = 48_000, level: float = 8000.0) -> bytes:
    t = np.arange(frames * rate // 50) / rate
    return (level * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def decimated(pcm: bytes, rate: int) -> bytes:
    decimator = Decimator(rate)
    return b"".join(decimator(pcm[i : i + FRAME_BYTES]) for i in range(0, len(pcm), FRAME_BYTES))


def test_decimation_keeps_speech_frequencies_and_removes_what_would_fold_over() -> None:
    kept = decimated(tone(1000, 50), 16_000)
    assert len(kept) == 50 * 640
    assert abs(rms_dbfs(kept[6400:]) - rms_dbfs(tone(1000, 50))) < 0.5  # as loud as it was
    folded = decimated(tone(12_000, 50), 16_000)
    assert rms_dbfs(folded[6400:]) < -60  # 12 kHz is above 8 kHz: gone, not aliased to 4 kHz


def test_upsampling_makes_48_khz_and_carries_the_last_sample_on() -> None:
    pcm24 = tone(440, 5, rate=24_000)
    out, last = upsample(pcm24, 24_000, 0.0)
    assert len(out) == 2 * len(pcm24)
    assert last == float(np.frombuffer(pcm24, "<i2")[-1])
    assert abs(rms_dbfs(out) - rms_dbfs(pcm24)) < 1.0


def test_mixed_audio_is_one_frame_a_tick_silent_when_nobody_speaks() -> None:
    sent: list[tuple[bytes, bool, str | None]] = []
    audio = CallAudio(16_000, mixed=True, emit=lambda *frame: sent.append(frame))
    audio.tick()
    audio.heard("4:+1", tone(500))
    audio.heard("8:acs:bob", tone(700))
    audio.tick()
    audio.tick()
    assert [(len(pcm), silent, who) for pcm, silent, who in sent] == [
        (640, True, None),
        (640, False, None),
        (640, True, None),
    ]
    alone = CallAudio(16_000, mixed=True, emit=lambda *frame: sent.append(frame))
    alone.heard("4:+1", tone(500))
    alone.tick()
    assert rms_dbfs(sent[1][0]) > rms_dbfs(sent[-1][0])  # two voices summed are louder


def test_a_backlog_after_a_stall_is_dropped_oldest_first() -> None:
    sent: list[tuple[bytes, bool, str | None]] = []
    audio = CallAudio(16_000, mixed=True, emit=lambda *frame: sent.append(frame))
    for _ in range(10):
        audio.heard("4:+1", tone(500))
    assert audio.dropped_frames == 7
    for _ in range(5):
        audio.tick()
    assert [silent for _, silent, _ in sent] == [False, False, False, True, True]


def test_unmixed_audio_is_sent_as_it_is_heard_naming_the_speaker() -> None:
    sent: list[tuple[bytes, bool, str | None]] = []
    audio = CallAudio(24_000, mixed=False, emit=lambda *frame: sent.append(frame))
    audio.heard("4:+1", tone(500))
    audio.heard("8:acs:bob", SILENT_FRAME)
    audio.tick()  # nothing: unmixed frames do not wait for the tick
    assert [(len(pcm), silent, who) for pcm, silent, who in sent] == [
        (960, False, "4:+1"),
        (960, True, "8:acs:bob"),
    ]


def test_the_apps_audio_plays_in_20_ms_frames_and_stop_audio_clears_it() -> None:
    app = AppAudio(16_000)
    assert app.next_frame() is None
    app.push(tone(440, 3, rate=16_000))
    played = [app.next_frame() for _ in range(4)]
    assert [len(f) if f else None for f in played] == [FRAME_BYTES] * 3 + [None]
    app.push(tone(440, 50, rate=16_000))
    assert app.queued_ms == 1000
    app.clear()
    assert app.next_frame() is None and app.queued_ms == 0


def test_a_partial_frame_waits_a_tick_for_the_rest_then_plays_padded() -> None:
    app = AppAudio(16_000)
    app.push(tone(440, 1, rate=16_000)[:320])  # 10 ms
    assert app.next_frame() is None
    frame = app.next_frame()
    assert frame is not None and len(frame) == FRAME_BYTES
    assert frame[FRAME_BYTES // 2 :] == bytes(FRAME_BYTES // 2)


def test_an_app_sending_faster_than_real_time_loses_the_oldest_audio() -> None:
    app = AppAudio(16_000, max_seconds=1.0)
    app.push(tone(440, 80, rate=16_000))  # 1.6 s
    assert app.queued_ms == 1000
    assert app.dropped_bytes == 30 * FRAME_BYTES
