"""What an application asks of its media endpoint, and what the endpoint reports. Sans-I/O.

Participants are named by their SFU participant id (the call plane maps identifiers to them).
Every operation has an id (the caller's, for matching events to requests) and reports exactly
one outcome event: Completed, Failed or Canceled (plus Started for plays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from switchboard.media.audio.tones import DtmfTone

# --- what is played --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextSource:
    text: str
    locale: str | None = None  # e.g. en-US
    voice_kind: str | None = None  # male | female
    voice_name: str | None = None  # e.g. en-US-NancyNeural
    cache_id: str | None = None


@dataclass(frozen=True, slots=True)
class SsmlSource:
    ssml: str
    cache_id: str | None = None


@dataclass(frozen=True, slots=True)
class FileSource:
    uri: str
    cache_id: str | None = None


PlaySource = TextSource | SsmlSource | FileSource


@dataclass(frozen=True, slots=True)
class Play:
    operation_id: str
    sources: tuple[PlaySource, ...]
    audience: frozenset[str] | None = None  # None: everyone in the call
    loop: bool = False
    interrupt: bool = False  # barge in: cancel what plays or waits, play this now


# --- what is recognised ----------------------------------------------------------------------


class RecognizeInput(StrEnum):
    DTMF = "dtmf"
    SPEECH = "speech"
    SPEECH_OR_DTMF = "speechOrDtmf"
    CHOICES = "choices"


@dataclass(frozen=True, slots=True)
class DtmfOptions:
    max_tones: int = 1
    inter_tone_timeout_seconds: float = 2.0
    stop_tones: frozenset[DtmfTone] = frozenset()


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    phrases: tuple[str, ...]
    tone: DtmfTone | None = None


@dataclass(frozen=True, slots=True)
class Recognize:
    operation_id: str
    input: RecognizeInput
    target: str  # the participant listened to
    prompts: tuple[PlaySource, ...] = ()
    interrupt_prompt: bool = False  # a key press (or speech) stops the prompt
    interrupt: bool = False  # barge in on what the endpoint plays
    initial_silence_timeout_seconds: float = 5.0
    dtmf: DtmfOptions = field(default_factory=DtmfOptions)
    choices: tuple[Choice, ...] = ()
    end_silence_ms: int = 1000
    language: str | None = None


# --- what happened ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """ACS ``resultInformation``: code, subCode, message."""

    code: int
    sub_code: int
    message: str


@dataclass(frozen=True, slots=True)
class PlayStarted:
    operation_id: str


@dataclass(frozen=True, slots=True)
class PlayCompleted:
    operation_id: str


@dataclass(frozen=True, slots=True)
class PlayFailed:
    operation_id: str
    outcome: Outcome
    failed_source_index: int | None = None


@dataclass(frozen=True, slots=True)
class PlayCanceled:
    operation_id: str


@dataclass(frozen=True, slots=True)
class RecognizeCompleted:
    operation_id: str
    kind: str  # dtmf | speech | choices
    tones: tuple[DtmfTone, ...] = ()
    choice_label: str | None = None
    recognized_phrase: str | None = None
    speech: str | None = None
    confidence: float | None = None
    outcome: Outcome = Outcome(200, 8531, "Action completed, max digits received.")


@dataclass(frozen=True, slots=True)
class RecognizeFailed:
    operation_id: str
    outcome: Outcome
    failed_source_index: int | None = None


@dataclass(frozen=True, slots=True)
class RecognizeCanceled:
    operation_id: str


@dataclass(frozen=True, slots=True)
class ContinuousDtmfToneReceived:
    target: str
    tone: DtmfTone
    sequence_id: int


@dataclass(frozen=True, slots=True)
class ContinuousDtmfStopped:
    target: str


@dataclass(frozen=True, slots=True)
class SendDtmfCompleted:
    operation_id: str


@dataclass(frozen=True, slots=True)
class SendDtmfFailed:
    operation_id: str
    outcome: Outcome


MediaEvent = (
    PlayStarted
    | PlayCompleted
    | PlayFailed
    | PlayCanceled
    | RecognizeCompleted
    | RecognizeFailed
    | RecognizeCanceled
    | ContinuousDtmfToneReceived
    | ContinuousDtmfStopped
    | SendDtmfCompleted
    | SendDtmfFailed
)
