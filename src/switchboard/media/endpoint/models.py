"""What an application asks of its media endpoint, and what the endpoint reports. Sans-I/O.

Participants are named by their SFU participant id (the call plane maps identifiers to them).
Every operation has an id (the caller's, for matching events to requests) and reports exactly
one outcome event: Completed, Failed or Canceled (plus Started for plays). msgspec Structs: a
request travels to the node that runs the call as it is (play sources are tagged).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from switchboard.media.audio.tones import DtmfTone

# --- what is played --------------------------------------------------------------------------


class TextSource(msgspec.Struct, frozen=True, tag=True):
    text: str
    locale: str | None = None  # e.g. en-US
    voice_kind: str | None = None  # male | female
    voice_name: str | None = None  # e.g. en-US-NancyNeural
    cache_id: str | None = None


class SsmlSource(msgspec.Struct, frozen=True, tag=True):
    ssml: str
    cache_id: str | None = None


class FileSource(msgspec.Struct, frozen=True, tag=True):
    uri: str
    cache_id: str | None = None


PlaySource = TextSource | SsmlSource | FileSource


class Play(msgspec.Struct, frozen=True):
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


class DtmfOptions(msgspec.Struct, frozen=True):
    max_tones: int = 1
    inter_tone_timeout_seconds: float = 2.0
    stop_tones: frozenset[DtmfTone] = frozenset()


class Choice(msgspec.Struct, frozen=True):
    label: str
    phrases: tuple[str, ...]
    tone: DtmfTone | None = None


class Recognize(msgspec.Struct, frozen=True):
    operation_id: str
    input: RecognizeInput
    target: str  # the participant listened to
    prompts: tuple[PlaySource, ...] = ()
    interrupt_prompt: bool = False  # a key press (or speech) stops the prompt
    interrupt: bool = False  # barge in on what the endpoint plays
    initial_silence_timeout_seconds: float = 5.0
    dtmf: DtmfOptions = msgspec.field(default_factory=DtmfOptions)
    choices: tuple[Choice, ...] = ()
    end_silence_ms: int = 1000
    language: str | None = None


# --- what happened ---------------------------------------------------------------------------


class Outcome(msgspec.Struct, frozen=True):
    """ACS ``resultInformation``: code, subCode, message."""

    code: int
    sub_code: int
    message: str


class PlayStarted(msgspec.Struct, frozen=True):
    operation_id: str


class PlayCompleted(msgspec.Struct, frozen=True):
    operation_id: str


class PlayFailed(msgspec.Struct, frozen=True):
    operation_id: str
    outcome: Outcome
    failed_source_index: int | None = None


class PlayCanceled(msgspec.Struct, frozen=True):
    operation_id: str


class RecognizeCompleted(msgspec.Struct, frozen=True):
    operation_id: str
    kind: str  # dtmf | speech | choices
    tones: tuple[DtmfTone, ...] = ()
    choice_label: str | None = None
    recognized_phrase: str | None = None
    speech: str | None = None
    confidence: float | None = None
    outcome: Outcome = Outcome(200, 8531, "Action completed, max digits received.")


class RecognizeFailed(msgspec.Struct, frozen=True):
    operation_id: str
    outcome: Outcome
    failed_source_index: int | None = None


class RecognizeCanceled(msgspec.Struct, frozen=True):
    operation_id: str


class ContinuousDtmfToneReceived(msgspec.Struct, frozen=True):
    target: str
    tone: DtmfTone
    sequence_id: int


class ContinuousDtmfStopped(msgspec.Struct, frozen=True):
    target: str


class SendDtmfCompleted(msgspec.Struct, frozen=True):
    operation_id: str


class SendDtmfFailed(msgspec.Struct, frozen=True):
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
