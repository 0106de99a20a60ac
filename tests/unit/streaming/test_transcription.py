"""CallTranscription: utterances cut by energy per participant, Intermediate results while
someone speaks (one decode at a time), Final at the end, a locale change drops what is late."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any

import pytest

from switchboard.automation.streaming.transcription import CallTranscription
from switchboard.media.audio.transcriber import TranscribedWord, Transcript
from tests.unit.streaming.test_sessions import LOUD

pytestmark = pytest.mark.anyio


class Engine:
    """Answers each utterance with its length in words; holds answers until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.release.set()

    @property
    def locales(self) -> frozenset[str]:
        return frozenset({"en"})

    async def transcribe(
        self, pcm: bytes, sample_rate: int = 48_000, locale: str = "en-us"
    ) -> Transcript | None:
        await self.release.wait()
        ms = len(pcm) // 2 * 1000 // sample_rate
        return Transcript(f"{ms} ms in {locale}", 0.5, (TranscribedWord("ms", 0, ms),))


class Harness:
    def __init__(self, *, intermediate: bool) -> None:
        self.engine = Engine()
        self.sent: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.transcription = CallTranscription(
            self.engine, "en-US", intermediate=intermediate, emit=self.emit, spawn=self.spawn
        )

    def emit(self, frame: bytes) -> None:
        self.sent.append(json.loads(frame)["transcriptionData"])

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.ensure_future(coro))

    def speak(self, who: str, frames: int) -> None:
        for _ in range(frames):
            self.transcription.heard(who, LOUD)
            self.transcription.tick()

    def quiet(self, ticks: int) -> None:
        for _ in range(ticks):
            self.transcription.tick()

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks)


async def test_each_speaker_gets_a_final_result_when_they_fall_silent() -> None:
    harness = Harness(intermediate=False)
    harness.speak("alice", 25)
    harness.quiet(5)
    harness.speak("bob", 10)
    harness.quiet(40)
    await harness.settle()
    assert [(t["participantRawID"], t["resultStatus"]) for t in harness.sent] == [
        ("alice", "Final"),
        ("bob", "Final"),
    ]
    alice, bob = harness.sent
    assert alice["offset"] == 0 and bob["offset"] > alice["offset"]  # media time, shared


async def test_intermediate_results_while_speaking_one_decode_at_a_time() -> None:
    harness = Harness(intermediate=True)
    harness.engine.release.clear()  # the engine is slow
    harness.speak("alice", 160)  # 3.2 s of speech: three chances for an intermediate result
    assert len(harness.tasks) == 1  # only one in flight
    harness.engine.release.set()
    await harness.settle()
    harness.speak("alice", 60)
    harness.quiet(40)
    await harness.settle()
    statuses = [t["resultStatus"] for t in harness.sent]
    assert statuses[-1] == "Final" and statuses.count("Intermediate") >= 2


async def test_a_result_from_before_a_locale_change_is_dropped() -> None:
    harness = Harness(intermediate=False)
    harness.engine.release.clear()
    harness.speak("alice", 20)
    harness.quiet(40)
    harness.transcription.update_locale("en-GB")
    harness.engine.release.set()
    await harness.settle()
    assert harness.sent == []
    harness.speak("alice", 20)
    harness.quiet(40)
    await harness.settle()
    assert harness.sent[0]["text"].endswith("in en-GB")
