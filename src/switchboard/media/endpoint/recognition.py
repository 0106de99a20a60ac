"""Recognition: one ``recognize`` operation's rules, sans-I/O, in media time (seconds of frames).

    start(now) ─▶ prompt playing? (timers wait for it) ─▶ prompt_done(now): initial silence
        timer starts
    tone(t, now)  ─▶ stop tone: done (8514) · a choice's tone: that choice · collected ==
        maxTonesToCollect: done (8531) · else the inter-tone timer restarts
    utterance ended ─▶ the endpoint asks the recognizer ─▶ heard(result) ─▶ choice / speech
        (8545 / 8533) or nothing matched: failed (8547)
    tick(now) ─▶ no input by the initial silence timeout: failed (8510) · tones, then quiet
        for interToneTimeout: done with what was collected (8532)

Result codes and messages as ACS documents them for Call Automation's recognize.
"""

from __future__ import annotations

from enum import Enum

from switchboard.media.audio.speech import ChoiceResult, SpeechResult
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.models import (
    Outcome,
    Recognize,
    RecognizeCompleted,
    RecognizeFailed,
    RecognizeInput,
)

MAX_TONES_REACHED = Outcome(200, 8531, "Action completed, max digits received.")
STOP_TONE = Outcome(200, 8514, "Action completed as stop tone was detected.")
INTER_TONE_TIMEOUT = Outcome(200, 8532, "Action completed, inter-digit silence timeout reached.")
CHOICE_MATCHED = Outcome(200, 8545, "Action completed, recognized phrase matches a valid option.")
SPEECH_RECOGNIZED = Outcome(200, 8533, "Action completed, speech recognized.")
INITIAL_SILENCE = Outcome(400, 8510, "Action failed, initial silence timeout reached.")
NOT_MATCHED = Outcome(400, 8547, "Action failed, speech option not matched.")
NOT_RECOGNIZED = Outcome(400, 8534, "Action failed, speech could not be recognized.")

RecognizeOutcome = RecognizeCompleted | RecognizeFailed


class Phase(Enum):
    PROMPTING = "prompting"  # the prompt plays; no timer runs yet
    LISTENING = "listening"
    DONE = "done"


class Recognition:
    def __init__(self, request: Recognize, now: float, *, has_prompt: bool) -> None:
        self.request = request
        self.phase = Phase.PROMPTING if has_prompt else Phase.LISTENING
        self.tones: list[DtmfTone] = []
        self._since = now  # when listening began (initial silence counts from here)
        self._last_tone: float | None = None
        self.speech_started = False

    @property
    def wants_dtmf(self) -> bool:
        return self.request.input is not RecognizeInput.SPEECH

    @property
    def wants_speech(self) -> bool:
        return self.request.input is not RecognizeInput.DTMF

    @property
    def operation_id(self) -> str:
        return self.request.operation_id

    def prompt_done(self, now: float) -> None:
        if self.phase is Phase.PROMPTING:
            self.phase, self._since = Phase.LISTENING, now

    def tone(self, tone: DtmfTone, now: float) -> RecognizeOutcome | None:
        """A key press from the target; the outcome if it ends the recognition."""
        if self.phase is Phase.DONE or not self.wants_dtmf:
            return None
        self.prompt_done(now)  # a key during the prompt starts listening (barge-in)
        request = self.request
        if request.input is RecognizeInput.CHOICES:
            for choice in request.choices:
                if choice.tone is tone:
                    return self._finish(
                        RecognizeCompleted(
                            request.operation_id,
                            "choices",
                            choice_label=choice.label,
                            recognized_phrase=None,
                            confidence=1.0,
                            outcome=CHOICE_MATCHED,
                        )
                    )
            return None  # a tone that names no choice is ignored
        if tone in request.dtmf.stop_tones:
            return self._finish(self._dtmf_done(STOP_TONE))
        self.tones.append(tone)
        self._last_tone = now
        if len(self.tones) >= request.dtmf.max_tones:
            return self._finish(self._dtmf_done(MAX_TONES_REACHED))
        return None

    def heard(self, result: ChoiceResult | SpeechResult | None) -> RecognizeOutcome | None:
        """What the recognizer made of the target's utterance."""
        if self.phase is Phase.DONE:
            return None
        request = self.request
        if isinstance(result, ChoiceResult):
            return self._finish(
                RecognizeCompleted(
                    request.operation_id,
                    "choices",
                    choice_label=result.label,
                    recognized_phrase=result.phrase,
                    confidence=result.confidence,
                    outcome=CHOICE_MATCHED,
                )
            )
        if isinstance(result, SpeechResult):
            return self._finish(
                RecognizeCompleted(
                    request.operation_id,
                    "speech",
                    speech=result.text,
                    confidence=result.confidence,
                    outcome=SPEECH_RECOGNIZED,
                )
            )
        failure = NOT_MATCHED if request.input is RecognizeInput.CHOICES else NOT_RECOGNIZED
        return self._finish(RecognizeFailed(request.operation_id, failure))

    def tick(self, now: float) -> RecognizeOutcome | None:
        if self.phase is not Phase.LISTENING or self.speech_started:
            return None
        request = self.request
        if self._last_tone is not None:
            if now - self._last_tone >= request.dtmf.inter_tone_timeout_seconds:
                return self._finish(self._dtmf_done(INTER_TONE_TIMEOUT))
            return None
        if now - self._since >= request.initial_silence_timeout_seconds:
            return self._finish(RecognizeFailed(request.operation_id, INITIAL_SILENCE))
        return None

    def _dtmf_done(self, outcome: Outcome) -> RecognizeCompleted:
        return RecognizeCompleted(
            self.request.operation_id, "dtmf", tones=tuple(self.tones), outcome=outcome
        )

    def _finish(self, outcome: RecognizeOutcome) -> RecognizeOutcome:
        self.phase = Phase.DONE
        return outcome
