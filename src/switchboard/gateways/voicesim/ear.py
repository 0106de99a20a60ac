"""Ear: what a virtual phone heard in its call. Sans-I/O (time comes in as ``now``).

decoded frames, per publisher ─▶ DtmfDetector each (in-band tones) ─▶ keys, in order
                               └▶ rms_dbfs ≥ SPEAKING_DBFS? ─▶ loud frames (also per
                                  publisher), last loud time
                               └▶ transcribing? EndOfSpeech each ─▶ an Utterance once the
                                  publisher was quiet for END_SILENCE_MS (the phone has it
                                  recognised, off the event loop, and ``heard_words`` adds it)
tick(now): no loud frame for SILENT_AFTER seconds ─▶ silent; a publisher that stopped
    sending mid-utterance (the app's endpoint sends nothing after a play) ─▶ after STOPPED_MS
    its utterance ends as if it had sent silence
the timeline: [(ms since the call started, speaking?)] at every change
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.media.audio.dtmf import DtmfDetector
from switchboard.media.audio.frames import FRAME_BYTES, FRAME_MS, rms_dbfs
from switchboard.media.audio.speech import EndOfSpeech, VoiceActivity

SPEAKING_DBFS = -45.0  # espeak's speech sits around -20 dBFS; Opus's silence far below this
SILENT_AFTER = 0.2  # seconds without a loud frame: the far end is silent
END_SILENCE_MS = 500  # a pause this long ends an utterance (recognised as one piece)
# A sender that stops sending mid-utterance has ended it after this long with no frame at all
# (longer than a pause: a busy node may deliver frames late, and that is no pause).
STOPPED_MS = 1_000
MAX_TRANSCRIPT = 200  # utterances kept per call


@dataclass(frozen=True, slots=True)
class EnergyChange:
    at_ms: int  # since the call was connected
    speaking: bool


@dataclass(frozen=True, slots=True)
class Utterance:
    """Speech from one publisher, between pauses: what the phone asks the recogniser about."""

    publisher: str
    at_ms: int  # when it started, since the call was connected
    end_ms: int  # when it ended (its last loud frame, give or take a frame)
    pcm: bytes


@dataclass(frozen=True, slots=True)
class HeardWords:
    at_ms: int
    end_ms: int
    publisher: str
    text: str


@dataclass(slots=True)
class Ear:
    started_at: float
    transcribe: bool = False  # recognise speech (CPU: one decode per utterance)
    tones: list[str] = field(default_factory=list)  # "1", "#", … as heard
    loud_frames: int = 0
    frames: int = 0
    speaking: bool = False
    timeline: list[EnergyChange] = field(default_factory=list)
    loud_from: dict[str, int] = field(default_factory=dict)  # publisher → its loud frames
    transcript: list[HeardWords] = field(default_factory=list)
    _last_loud: float = 0.0
    _detectors: dict[str, DtmfDetector] = field(default_factory=dict)
    _speech: dict[str, tuple[EndOfSpeech, float]] = field(default_factory=dict)
    _last_frame: dict[str, float] = field(default_factory=dict)  # transcribing: by publisher

    def hear(self, publisher: str, pcm: bytes, now: float) -> Utterance | None:
        """One decoded frame; an utterance that just ended (when transcribing), else None."""
        self.frames += 1
        detector = self._detectors.get(publisher)
        if detector is None:
            detector = self._detectors[publisher] = DtmfDetector()
        self.tones.extend(tone.value for tone in detector.feed(pcm))
        if rms_dbfs(pcm) >= SPEAKING_DBFS:
            self.loud_frames += 1
            self.loud_from[publisher] = self.loud_from.get(publisher, 0) + 1
            self._last_loud = now
            if not self.speaking:
                self._change(True, now)
        return self._listen(publisher, pcm, now) if self.transcribe else None

    def tick(self, now: float) -> list[Utterance]:
        """Silence by the clock; utterances whose publisher went quiet by sending nothing."""
        if self.speaking and now - self._last_loud >= SILENT_AFTER:
            self._change(False, self._last_loud + SILENT_AFTER)
        ended: list[Utterance] = []
        for publisher in list(self._speech):
            last = self._last_frame.get(publisher, now)
            if now - last < STOPPED_MS / 1000:
                continue
            for n in range(1, END_SILENCE_MS // FRAME_MS + 2):  # as if it had sent silence
                at = last + n * FRAME_MS / 1000
                utterance = self._listen(publisher, bytes(FRAME_BYTES), at)
                if utterance is not None:
                    if utterance.pcm:
                        ended.append(utterance)
                    break
            else:
                self._speech.pop(publisher, None)
        return ended

    def heard_words(self, utterance: Utterance, text: str) -> None:
        self.transcript.append(
            HeardWords(utterance.at_ms, utterance.end_ms, utterance.publisher, text)
        )
        del self.transcript[:-MAX_TRANSCRIPT]

    def _listen(self, publisher: str, pcm: bytes, now: float) -> Utterance | None:
        self._last_frame[publisher] = now
        speech, since = self._speech.get(publisher, (None, now))
        if speech is None:
            speech = EndOfSpeech(end_silence_ms=END_SILENCE_MS)
        before = speech.state
        state = speech.feed(pcm)
        if state is VoiceActivity.SPEAKING and before is VoiceActivity.WAITING:
            since = now
        if state is not VoiceActivity.ENDED:
            self._speech[publisher] = (speech, since)
            return None
        del self._speech[publisher]  # the next frame starts listening afresh
        end = max(self._ms(since), self._ms(now) - END_SILENCE_MS)
        return Utterance(publisher, self._ms(since), end, speech.utterance())

    def _change(self, speaking: bool, at: float) -> None:
        self.speaking = speaking
        self.timeline.append(EnergyChange(self._ms(at), speaking))

    def _ms(self, at: float) -> int:
        return max(0, round((at - self.started_at) * 1000))
