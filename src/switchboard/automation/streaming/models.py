"""What an app asks of media streaming and transcription (mediaStreamingOptions,
transcriptionOptions), as typed values that also travel between nodes (control ops)."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from switchboard.core.errors import BadRequestError


class AudioChannel(StrEnum):
    MIXED = "mixed"  # one stream of everyone (AudioData without participantRawID)
    UNMIXED = "unmixed"  # one frame per participant (with participantRawID)


class StreamingAction(StrEnum):
    """The five operations, named as their routes are."""

    START_MEDIA_STREAMING = "startMediaStreaming"
    STOP_MEDIA_STREAMING = "stopMediaStreaming"
    START_TRANSCRIPTION = "startTranscription"
    UPDATE_TRANSCRIPTION = "updateTranscription"
    STOP_TRANSCRIPTION = "stopTranscription"


class StreamState(StrEnum):
    """ACS's MediaStreamingSubscriptionState / TranscriptionSubscriptionState."""

    DISABLED = "disabled"  # no options given with the call
    INACTIVE = "inactive"
    ACTIVE = "active"


class StreamingOptions(msgspec.Struct, frozen=True):
    transport_url: str
    channel: AudioChannel = AudioChannel.MIXED
    sample_rate: int = 16_000  # pcm16KMono or pcm24KMono
    start: bool = False  # startMediaStreaming: as soon as the call is connected
    bidirectional: bool = False


class TranscriptionOptions(msgspec.Struct, frozen=True):
    transport_url: str
    locale: str = "en-US"
    start: bool = False  # startTranscription: as soon as the call is connected
    intermediate: bool = False  # enableIntermediateResults


class MediaStreamingNotConfiguredError(BadRequestError):
    """start/stopMediaStreaming on a call created without mediaStreamingOptions."""

    code = "MediaStreamingNotConfigured"


class TranscriptionNotConfiguredError(BadRequestError):
    code = "TranscriptionNotConfigured"


class StreamStateError(BadRequestError):
    """Starting what runs already, or stopping what does not run."""

    code = "InvalidStreamState"


class InvalidTransportUrlError(BadRequestError):
    """A transportUrl that is not ws(s)://, or that the SSRF guard refuses."""

    code = "InvalidTransportUrl"


class UnsupportedLocaleError(BadRequestError):
    code = "UnsupportedLocale"
