"""The audio kit's errors: leaves of the one hierarchy in core/errors.py.

    BadRequestError (400) ── AudioInputError (400 InvalidAudioInput)
                             ├── TextTooLongError (400 TextTooLong: a TextSource over its limit)
                             ├── SsmlError (400 InvalidSsml: malformed or refused SSML)
                             └── AudioFileError (400 InvalidFileFormat: a file we cannot play;
                                                 ``reason`` and ``sub_code`` for PlayFailed)
    SwitchboardError (500) ─ SpeechSynthesisError (espeak-ng failed or timed out)
    ValueError ───────────── TelephoneEventParseError (a malformed RFC 4733 payload; like
                             media.rtp.RtpParseError it comes off the wire, never from a client)

The 400s may be raised while a play request is checked (then rendered as an HTTP answer) or
later while it runs (then reported as PlayFailed with ``sub_code``); the media endpoint decides.
"""

from __future__ import annotations

from enum import Enum

from switchboard.core.errors import BadRequestError, SwitchboardError


class AudioInputError(BadRequestError):
    """Audio or text given to the kit that it cannot turn into sound."""

    code = "InvalidAudioInput"


class TextTooLongError(AudioInputError):
    code = "TextTooLong"


class SsmlError(AudioInputError):
    code = "InvalidSsml"


class AudioFileProblem(Enum):
    """Why a file cannot be played; all are PlayFailed subcode 8535 (invalid file format)."""

    TOO_LARGE = "TooLarge"
    TOO_LONG = "TooLong"
    UNSUPPORTED_FORMAT = "UnsupportedFormat"
    CORRUPT = "Corrupt"
    NO_AUDIO = "NoAudio"


# ACS MediaEventReasonCode.PlayInvalidFileFormat ("Action failed, invalid file format").
PLAY_INVALID_FILE_FORMAT = 8535


class AudioFileError(AudioInputError):
    code = "InvalidFileFormat"

    def __init__(self, problem: AudioFileProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.sub_code = PLAY_INVALID_FILE_FORMAT


class SpeechSynthesisError(SwitchboardError):
    """The speech engine failed on input it should have spoken (a server-side fault)."""

    code = "SpeechSynthesisFailed"


class TelephoneEventParseError(ValueError):
    """The bytes are not a well-formed RFC 4733 telephone-event payload."""
