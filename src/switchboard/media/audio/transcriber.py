"""Offline transcription: an utterance's PCM ─▶ its words with their times, behind a Protocol.

    Transcriber.transcribe(pcm, sample_rate, locale) ─▶ Transcript(text, confidence, words)

``PocketsphinxTranscriber`` is the default: pocketsphinx's bundled US English model, free
dictation, word times from its segmentation (10 ms frames). It is small and fast, not
accurate; an operator who wants better plugs in a stronger local engine with a model file of
their own (docs/media-streaming.md, "A stronger engine"): any class with ``locales`` and
``transcribe`` will do, named in the configuration as ``module:factory``.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any, Protocol

from switchboard.media.audio.frames import SAMPLE_RATE, resample
from switchboard.media.audio.speech import DECODER_RATE, contains_speech

FRAME_MS = 10  # pocketsphinx's segmentation frames (frate 100)
_FILLERS = frozenset({"<s>", "</s>", "<sil>", "[noise]", "<noise>", "[laughter]"})


@dataclass(frozen=True, slots=True)
class TranscribedWord:
    text: str
    start_ms: int  # from the start of the utterance given
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    confidence: float  # 0 … 1
    words: tuple[TranscribedWord, ...]


class Transcriber(Protocol):
    @property
    def locales(self) -> frozenset[str]:
        """Lower-case locales (``en-us``) or languages (``en``) the engine transcribes."""
        ...

    async def transcribe(
        self, pcm: bytes, sample_rate: int = SAMPLE_RATE, locale: str = "en-us"
    ) -> Transcript | None:
        """The words of one utterance (s16le mono PCM), or None if none were heard."""
        ...


def supports(transcriber: Transcriber, locale: str) -> bool:
    locale = locale.lower()
    return locale in transcriber.locales or locale.split("-", 1)[0] in transcriber.locales


class PocketsphinxTranscriber:
    """pocketsphinx dictation; at most ``workers`` decodes at once, decoders pooled (each
    takes ~0.4 s to load)."""

    def __init__(self, *, workers: int = 1) -> None:
        self._slots = asyncio.Semaphore(workers)
        self._idle: list[Any] = []

    @property
    def locales(self) -> frozenset[str]:
        return frozenset({"en"})  # the model in the wheel is US English; en-GB etc. get it too

    async def transcribe(
        self, pcm: bytes, sample_rate: int = SAMPLE_RATE, locale: str = "en-us"
    ) -> Transcript | None:
        if not contains_speech(pcm, sample_rate):
            return None
        pcm_16k = await asyncio.to_thread(resample, pcm, sample_rate, DECODER_RATE)
        async with self._slots:
            decoder = self._idle.pop() if self._idle else None
            decoder, transcript = await asyncio.to_thread(_decode, decoder, pcm_16k)
            self._idle.append(decoder)  # only a decoder that finished goes back
            return transcript


def _decode(decoder: Any, pcm_16k: bytes) -> tuple[Any, Transcript | None]:
    if decoder is None:
        from pocketsphinx import Decoder  # type: ignore[import-untyped]  # no type hints

        decoder = Decoder(samprate=DECODER_RATE, dither=True, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm_16k, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    if hypothesis is None or not hypothesis.hypstr.strip():
        return decoder, None
    words: list[TranscribedWord] = []
    scores: list[float] = []
    for segment in decoder.seg():
        word = str(segment.word).split("(", 1)[0]  # "read(2)": an alternate pronunciation
        if word.lower() in _FILLERS or word.startswith("++"):
            continue
        start, end = int(segment.start_frame), int(segment.end_frame)
        words.append(TranscribedWord(word, start * FRAME_MS, (end - start + 1) * FRAME_MS))
        scores.append(float(segment.prob))
    if not words:
        return decoder, None
    confidence = math.fsum(scores) / len(scores)
    text = " ".join(word.text for word in words)
    return decoder, Transcript(text, min(1.0, max(0.0, confidence)), tuple(words))
