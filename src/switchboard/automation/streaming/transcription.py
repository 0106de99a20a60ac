"""Transcription of one call: each participant's speech ─▶ TranscriptionData frames.

    heard(raw id, 48 kHz frame) ─▶ that participant's EndOfSpeech (energy, 20 ms frames)
        speaking, intermediate results on: every second, the utterance so far ─▶ Transcriber
            ─▶ Intermediate (one at a time per participant; a slow engine skips some)
        end of speech (700 ms quiet) ─▶ the utterance ─▶ Transcriber ─▶ Final
    tick() every 20 ms: a participant that sent nothing is fed silence while it speaks (legs
        send no packets between talkspurts), so its utterance ends
    word offsets: media time since transcription started (20 ms a tick, one clock for every
    participant; the frame being heard ends at the next tick), plus the engine's offsets

Frames leave through ``emit`` in the order results come in; an engine error is logged and
that utterance is skipped (the call and later utterances go on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from switchboard.automation.streaming import frames
from switchboard.media.audio.frames import (
    FRAME_BYTES,
    FRAME_MS,
    SAMPLE_BYTES,
    SAMPLE_RATE,
    SILENT_FRAME,
)
from switchboard.media.audio.speech import EndOfSpeech, VoiceActivity
from switchboard.media.audio.transcriber import Transcriber, Transcript

log = logging.getLogger(__name__)

INTERMEDIATE_EVERY_MS = 1000
Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass
class Speaker:
    detector: EndOfSpeech = field(default_factory=EndOfSpeech)
    since_intermediate_ms: int = 0
    busy: bool = False  # an intermediate decode in flight
    fresh: bool = False  # heard since the last tick


class CallTranscription:
    def __init__(
        self,
        transcriber: Transcriber,
        locale: str,
        *,
        intermediate: bool,
        emit: Callable[[bytes], None],
        spawn: Spawn,
    ) -> None:
        self.locale = locale
        self._transcriber = transcriber
        self._intermediate = intermediate
        self._emit = emit
        self._spawn = spawn
        self._speakers: dict[str, Speaker] = {}
        self._now_ms = 0  # media time since the transcription started (20 ms a tick)
        self._generation = 0  # a result from before stop/locale change is dropped

    def update_locale(self, locale: str) -> None:
        self.locale = locale
        self._generation += 1
        for speaker in self._speakers.values():
            speaker.detector = EndOfSpeech()

    def tick(self) -> None:
        """Every 20 ms: a participant that sent nothing this tick is silent (a phone or a
        browser stops sending between talkspurts), so its utterance can end."""
        self._now_ms += FRAME_MS
        for raw_id, speaker in list(self._speakers.items()):
            if speaker.fresh:
                speaker.fresh = False
            elif speaker.detector.state is VoiceActivity.SPEAKING:
                self._feed(raw_id, speaker, SILENT_FRAME, self._now_ms)

    def heard(self, raw_id: str, frame: bytes) -> None:
        if len(frame) != FRAME_BYTES:
            return
        speaker = self._speakers.get(raw_id)
        if speaker is None:
            speaker = self._speakers[raw_id] = Speaker()
        speaker.fresh = True
        self._feed(raw_id, speaker, frame, self._now_ms + FRAME_MS)  # heard before the tick

    def _feed(self, raw_id: str, speaker: Speaker, frame: bytes, end_ms: int) -> None:
        """``end_ms``: the media time at the end of ``frame``."""
        before = speaker.detector.state
        state = speaker.detector.feed(frame)
        if state is VoiceActivity.ENDED:
            utterance = speaker.detector.utterance()
            speaker.detector = EndOfSpeech()
            speaker.since_intermediate_ms = 0
            start_ms = max(0, end_ms - _ms(utterance))
            self._spawn(self._transcribe(raw_id, utterance, start_ms, final=True))
        elif state is VoiceActivity.SPEAKING and self._intermediate:
            speaker.since_intermediate_ms += FRAME_MS if before is state else 0
            if speaker.since_intermediate_ms >= INTERMEDIATE_EVERY_MS and not speaker.busy:
                speaker.since_intermediate_ms = 0
                speaker.busy = True
                utterance = speaker.detector.utterance()
                start_ms = max(0, end_ms - _ms(utterance))
                decode = self._transcribe(raw_id, utterance, start_ms, final=False)
                self._spawn(self._intermediate_result(speaker, decode))

    async def _intermediate_result(
        self, speaker: Speaker, decode: Coroutine[Any, Any, None]
    ) -> None:
        try:
            await decode
        finally:
            speaker.busy = False

    def _transcribe(
        self, raw_id: str, pcm: bytes, start_ms: int, *, final: bool
    ) -> Coroutine[Any, Any, None]:
        """The decode, bound now to the locale and generation of the moment it was heard."""
        return self._decode(raw_id, pcm, start_ms, final, self._generation, self.locale)

    async def _decode(
        self, raw_id: str, pcm: bytes, start_ms: int, final: bool, generation: int, locale: str
    ) -> None:
        try:
            transcript = await self._transcriber.transcribe(pcm, SAMPLE_RATE, locale)
        except Exception:
            log.exception("transcription of %s failed", raw_id)
            return
        if transcript is None or generation != self._generation:
            return
        self._emit(_frame(transcript, raw_id, start_ms, final=final))


def _ms(pcm: bytes) -> int:
    return len(pcm) // SAMPLE_BYTES * 1000 // SAMPLE_RATE


def _frame(transcript: Transcript, raw_id: str, start_ms: int, *, final: bool) -> bytes:
    words = [
        frames.Word(word.text, start_ms + word.start_ms, word.duration_ms)
        for word in transcript.words
    ]
    return frames.transcription_data(
        transcript.text, words, transcript.confidence, raw_id, final=final
    )
