"""Offline speech recognition for ``recognize`` with choices or speech, and end of speech.

    PCM (16 or 48 kHz) ─▶ EndOfSpeech over 20 ms frames: nothing above the threshold → None
       ─▶ resample to 16 kHz ─▶ a pooled pocketsphinx Decoder, in a worker thread (CPU bound):
          choices: a JSGF grammar of the choices' phrases (cached per decoder), so the decoder
          can only answer one of them or nothing; speech: the bundled en-us language model
       ─▶ ChoiceResult(label, phrase, confidence) / SpeechResult(text, confidence) / None

pocketsphinx 5 ships its English model in the wheel. Its ``__init__`` imports ``sounddevice``
(PortAudio) only inside ``Endpointer``/``AudioFile`` helpers we never touch. Two traps found
here: a Decoder takes ~0.4 s to load (so decoders are pooled and reused), and with digital
silence in the input it misses short words ("billing") unless ``dither`` is on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar

from switchboard.media.audio.frames import (
    FRAME_MS,
    SAMPLE_BYTES,
    SAMPLE_RATE,
    iter_frames,
    resample,
    rms_dbfs,
)

logger = logging.getLogger(__name__)

DECODER_RATE = 16_000
T = TypeVar("T")
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    phrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChoiceResult:
    label: str
    phrase: str  # the phrase as the app wrote it
    confidence: float


@dataclass(frozen=True, slots=True)
class SpeechResult:
    text: str
    confidence: float


class SpeechRecognizer(Protocol):
    async def recognize_choices(
        self, pcm: bytes, choices: Sequence[Choice], sample_rate: int = SAMPLE_RATE
    ) -> ChoiceResult | None:
        """Which choice the utterance says, or None (silence, or none of them)."""
        ...

    async def recognize(self, pcm: bytes, sample_rate: int = SAMPLE_RATE) -> SpeechResult | None:
        """Free dictation of the utterance, or None."""
        ...


class VoiceActivity(Enum):
    WAITING = "waiting"  # nothing heard yet
    SPEAKING = "speaking"
    ENDED = "ended"  # speech, then end_silence_ms of quiet (or the utterance hit its limit)


class EndOfSpeech:
    """Energy-based voice activity, sans-I/O: ``feed(frame)`` → the state after it.

    Speech starts after ``min_speech_ms`` of frames at or above ``threshold_dbfs``; it ends
    after ``end_silence_ms`` below it, or at ``max_utterance_ms``. ``utterance()`` is the PCM
    from ``preroll_ms`` before the start (word onsets are quiet) to the end."""

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        *,
        threshold_dbfs: float = -40.0,
        min_speech_ms: int = 60,
        end_silence_ms: int = 700,
        preroll_ms: int = 200,
        max_utterance_ms: int = 15_000,
    ) -> None:
        self._sample_rate = sample_rate
        self._threshold = threshold_dbfs
        self._min_speech_ms = min_speech_ms
        self._end_silence_ms = end_silence_ms
        self._preroll_bytes = sample_rate * preroll_ms // 1000 * SAMPLE_BYTES
        self._max_bytes = sample_rate * max_utterance_ms // 1000 * SAMPLE_BYTES
        self.state = VoiceActivity.WAITING
        self._loud_ms = 0
        self._quiet_ms = 0
        self._buffer = bytearray()

    def feed(self, frame: bytes) -> VoiceActivity:
        if self.state is VoiceActivity.ENDED:
            return self.state
        ms = len(frame) // SAMPLE_BYTES * 1000 // self._sample_rate
        loud = rms_dbfs(frame) >= self._threshold
        self._buffer += frame
        if self.state is VoiceActivity.WAITING:
            self._loud_ms = self._loud_ms + ms if loud else 0
            keep = self._preroll_bytes + self._loud_ms * self._sample_rate // 1000 * SAMPLE_BYTES
            del self._buffer[: max(0, len(self._buffer) - keep)]
            if self._loud_ms >= self._min_speech_ms:
                self.state = VoiceActivity.SPEAKING
        else:
            self._quiet_ms = 0 if loud else self._quiet_ms + ms
            if self._quiet_ms >= self._end_silence_ms or len(self._buffer) >= self._max_bytes:
                self.state = VoiceActivity.ENDED
        return self.state

    def utterance(self) -> bytes:
        return bytes(self._buffer) if self.state is not VoiceActivity.WAITING else b""


def contains_speech(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> bool:
    detector = EndOfSpeech(sample_rate)
    frame_bytes = sample_rate * FRAME_MS // 1000 * SAMPLE_BYTES
    for frame in iter_frames(pcm, frame_bytes):
        if detector.feed(frame) is not VoiceActivity.WAITING:
            return True
    return False


def phrase_words(phrase: str) -> list[str]:
    """A phrase as the decoder's dictionary spells words: lower case, letters and '."""
    return _WORD.findall(phrase.lower())


class _PooledDecoder:
    """One pocketsphinx Decoder and the grammars it has loaded (used by one thread at a time)."""

    def __init__(self, max_grammars: int) -> None:
        from pocketsphinx import Decoder  # type: ignore[import-untyped]  # no type hints

        self.decoder: Any = Decoder(samprate=DECODER_RATE, dither=True, loglevel="FATAL")
        self._max_grammars = max_grammars
        self._grammars: OrderedDict[str, None] = OrderedDict()

    def known(self, words: list[str]) -> bool:
        return all(self.decoder.lookup_word(word) is not None for word in words)

    def use_grammar(self, grammar: str) -> None:
        name = "g" + hashlib.sha256(grammar.encode()).hexdigest()[:16]
        if name in self._grammars:
            self._grammars.move_to_end(name)
        else:
            self.decoder.add_jsgf_string(name, grammar)
            self._grammars[name] = None
            if len(self._grammars) > self._max_grammars:
                oldest, _ = self._grammars.popitem(last=False)
                self.decoder.remove_search(oldest)
        self.decoder.activate_search(name)

    def use_dictation(self) -> None:
        self.decoder.activate_search("_default")

    def decode(self, pcm_16k: bytes) -> tuple[str, float] | None:
        self.decoder.start_utt()
        self.decoder.process_raw(pcm_16k, full_utt=True)
        self.decoder.end_utt()
        hypothesis = self.decoder.hyp()
        if hypothesis is None or not hypothesis.hypstr.strip():
            return None
        return str(hypothesis.hypstr), float(hypothesis.prob)


class PocketsphinxRecognizer:
    """``SpeechRecognizer`` on pocketsphinx; at most ``workers`` decodes run at once."""

    def __init__(self, *, workers: int = 1, max_grammars: int = 32) -> None:
        self._slots = asyncio.Semaphore(workers)
        self._max_grammars = max_grammars
        self._idle: list[_PooledDecoder] = []

    async def warm_up(self) -> None:
        """Load one decoder ahead of the first request (it takes a few hundred ms)."""
        if not self._idle:
            self._idle.append(await asyncio.to_thread(_PooledDecoder, self._max_grammars))

    async def recognize_choices(
        self, pcm: bytes, choices: Sequence[Choice], sample_rate: int = SAMPLE_RATE
    ) -> ChoiceResult | None:
        if not choices or not contains_speech(pcm, sample_rate):
            return None
        pcm_16k = await asyncio.to_thread(resample, pcm, sample_rate, DECODER_RATE)
        return await self._run(lambda decoder: _choose(decoder, pcm_16k, choices))

    async def recognize(self, pcm: bytes, sample_rate: int = SAMPLE_RATE) -> SpeechResult | None:
        if not contains_speech(pcm, sample_rate):
            return None
        pcm_16k = await asyncio.to_thread(resample, pcm, sample_rate, DECODER_RATE)
        return await self._run(lambda decoder: _dictate(decoder, pcm_16k))

    async def _run(self, job: Callable[[_PooledDecoder], T]) -> T:
        async with self._slots:
            decoder = self._idle.pop() if self._idle else None
            result = await asyncio.to_thread(self._in_thread, decoder, job)
            # only a decoder that finished goes back: after a cancel its thread may still run
            self._idle.append(result[0])
            return result[1]

    def _in_thread(
        self, decoder: _PooledDecoder | None, job: Callable[[_PooledDecoder], T]
    ) -> tuple[_PooledDecoder, T]:
        decoder = decoder or _PooledDecoder(self._max_grammars)
        return decoder, job(decoder)


def _choose(
    decoder: _PooledDecoder, pcm_16k: bytes, choices: Sequence[Choice]
) -> ChoiceResult | None:
    """Decode against a grammar of the choices' phrases; map the words back to a choice."""
    by_words: dict[str, tuple[Choice, str]] = {}
    for choice in choices:
        for phrase in choice.phrases:
            words = phrase_words(phrase)
            if not words or not decoder.known(words):
                logger.info(
                    "phrase %r of choice %r has words the recognizer does not know",
                    phrase,
                    choice.label,
                )
                continue
            by_words.setdefault(" ".join(words), (choice, phrase))
    if not by_words:
        return None
    alternatives = " | ".join(sorted(by_words))
    decoder.use_grammar(f"#JSGF V1.0;\ngrammar choices;\npublic <choice> = {alternatives};\n")
    heard = decoder.decode(pcm_16k)
    if heard is None:
        return None
    match = by_words.get(" ".join(heard[0].split()))
    if match is None:
        return None
    choice, phrase = match
    return ChoiceResult(choice.label, phrase, heard[1])


def _dictate(decoder: _PooledDecoder, pcm_16k: bytes) -> SpeechResult | None:
    decoder.use_dictation()
    heard = decoder.decode(pcm_16k)
    return SpeechResult(heard[0], heard[1]) if heard else None
