"""A virtual phone's Ear: loud frames per publisher, and (transcribing) utterances that end
after a pause, whether the far end sends silence or stops sending."""

from __future__ import annotations

from switchboard.gateways.voicesim.ear import STOPPED_MS, Ear, Utterance
from switchboard.media.audio.frames import FRAME_BYTES, SILENT_FRAME

LOUD = b"\x00\x40" * (FRAME_BYTES // 2)
TICK = 0.02


def feed(
    ear: Ear, publisher: str, frames: list[bytes], start: float
) -> tuple[list[Utterance], float]:
    ended, now = [], start
    for frame in frames:
        utterance = ear.hear(publisher, frame, now)
        if utterance is not None:
            ended.append(utterance)
        now += TICK
    return ended, now


def test_loud_frames_are_counted_per_publisher() -> None:
    ear = Ear(0.0)
    feed(ear, "app", [LOUD] * 3, 0.0)
    feed(ear, "p2", [LOUD, SILENT_FRAME], 1.0)
    assert ear.loud_from == {"app": 3, "p2": 1}
    assert ear.loud_frames == 4


def test_without_transcribe_no_utterance_is_made() -> None:
    ear = Ear(0.0)
    ended, _ = feed(ear, "app", [LOUD] * 20 + [SILENT_FRAME] * 40, 0.0)
    assert ended == []


def test_an_utterance_ends_after_a_pause_of_silent_frames() -> None:
    ear = Ear(0.0, transcribe=True)
    ended, _ = feed(ear, "app", [SILENT_FRAME] * 5 + [LOUD] * 20 + [SILENT_FRAME] * 40, 0.0)
    [utterance] = ended
    assert utterance.publisher == "app"
    assert 80 <= utterance.at_ms <= 200  # speech counts from a few loud frames in
    assert utterance.end_ms > utterance.at_ms
    assert len(utterance.pcm) >= 20 * FRAME_BYTES


def test_an_utterance_ends_by_the_clock_when_the_far_end_stops_sending() -> None:
    ear = Ear(0.0, transcribe=True)
    ended, now = feed(ear, "app", [LOUD] * 20, 0.0)
    assert ended == []
    assert ear.tick(now + STOPPED_MS / 2000) == []
    [utterance] = ear.tick(now + STOPPED_MS / 1000)
    assert utterance.publisher == "app"
    ear.heard_words(utterance, "welcome to sales")
    assert [(w.publisher, w.text) for w in ear.transcript] == [("app", "welcome to sales")]
    assert ear.tick(now + 5.0) == []  # nothing more pending
