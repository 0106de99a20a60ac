"""Call recordings: options, states, chunks and the durable manifest. Sans-I/O.

    start ─▶ RECORDING ⇄ PAUSED (pause / resume; pauseOnStart begins PAUSED)
        ─stop · the call ends─▶ FINISHED (RecordingFileStatusUpdated)
        ─the node dies─▶ (after its restart) INTERRUPTED: the chunks written before remain

ACS answers ``recordingState`` active (RECORDING) or inactive (everything else).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from switchboard.core.errors import BadRequestError, NotFoundError


class RecordingContent(StrEnum):
    AUDIO = "audio"
    AUDIO_VIDEO = "audioVideo"


class RecordingChannel(StrEnum):
    MIXED = "mixed"
    UNMIXED = "unmixed"


class RecordingFormat(StrEnum):
    WAV = "wav"
    MP3 = "mp3"
    MP4 = "mp4"


class RecordingPhase(StrEnum):
    RECORDING = "recording"
    PAUSED = "paused"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # its node stopped without finishing it (kill -9, power)

    @property
    def live(self) -> bool:
        return self in (RecordingPhase.RECORDING, RecordingPhase.PAUSED)


class RecordingState(StrEnum):
    """What ACS reports (``recordingState``, RecordingStateChanged ``state``)."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class ChunkEndReason(StrEnum):
    SESSION_ENDED = "SessionEnded"
    CHUNK_MAXIMUM_TIME_EXCEEDED = "ChunkMaximumTimeExceeded"


class SessionEndReason(StrEnum):
    CALL_ENDED = "CallEnded"
    STOPPED = "RecordingStopped"
    NODE_STOPPED = "NodeStopped"  # ours: the node died mid-recording (see docs/recording.md)


MAX_CHANNELS = 5  # ACS: channel 0..4


class RecordingNotFoundError(NotFoundError):
    code = "RecordingNotFound"


class RecordingOptionsError(BadRequestError):
    """A combination ACS refuses (e.g. unmixed MP3)."""


class RecordingEndedError(BadRequestError):
    """Pause/resume of a recording that is over."""

    code = "RecordingNotActive"


class ChannelAffinity(msgspec.Struct, frozen=True):
    raw_id: str
    channel: int


class RecordingOptions(msgspec.Struct, frozen=True):
    content: RecordingContent = RecordingContent.AUDIO_VIDEO
    channel: RecordingChannel = RecordingChannel.MIXED
    format: RecordingFormat = RecordingFormat.MP4
    pause_on_start: bool = False
    state_callback_uri: str | None = None
    affinity: tuple[ChannelAffinity, ...] = ()
    ordering: tuple[str, ...] = ()  # audioChannelParticipantOrdering: raw ids, channel 0 up

    def check(self) -> RecordingOptions:
        """ACS's combinations: audioVideo is mixed MP4; audio is WAV or MP3 mixed, WAV
        unmixed."""
        if self.content is RecordingContent.AUDIO_VIDEO:
            if self.channel is not RecordingChannel.MIXED or self.format is not RecordingFormat.MP4:
                raise RecordingOptionsError(
                    "audioVideo recordings are mixed MP4.", target="recordingFormatType"
                )
        elif self.format is RecordingFormat.MP4:
            raise RecordingOptionsError("MP4 needs recordingContentType audioVideo.")
        elif self.channel is RecordingChannel.UNMIXED and self.format is not RecordingFormat.WAV:
            raise RecordingOptionsError("Unmixed audio is recorded as WAV.")
        seen: set[int] = set()
        for affinity in self.affinity:
            if not 0 <= affinity.channel < MAX_CHANNELS or affinity.channel in seen:
                raise RecordingOptionsError(
                    "channelAffinity channels are distinct, 0 to 4.", target="channelAffinity"
                )
            seen.add(affinity.channel)
        if len(self.ordering) > MAX_CHANNELS:
            raise RecordingOptionsError("At most 5 participants may be ordered.")
        return self


class Chunk(msgspec.Struct, frozen=True):
    index: int
    document_id: str
    content_key: str
    metadata_key: str
    start_ms: int  # recorded time (pauses excluded) at the chunk's first sample
    duration_ms: int
    end_reason: ChunkEndReason
    deleted: bool = False


class Pause(msgspec.Struct, frozen=True):
    at_ms: int  # recorded time when it paused
    wall_start: float  # epoch seconds
    wall_end: float | None = None


class Manifest(msgspec.Struct):
    """A recording as its storage keeps it: rewritten after every chunk and state change, so
    what survives a crash says what was recorded."""

    recording_id: str
    call_id: str  # the SFU call: server:…, group:…, room:…
    server_call_id: str
    call_connection_id: str | None
    correlation_id: str
    options: RecordingOptions
    node_id: str
    started: float  # epoch seconds
    phase: RecordingPhase
    recorded_ms: int = 0
    chunks: list[Chunk] = msgspec.field(default_factory=list)
    pauses: list[Pause] = msgspec.field(default_factory=list)
    session_end_reason: SessionEndReason | None = None
    channels: dict[str, int] = msgspec.field(default_factory=dict)  # raw id → channel

    @property
    def state(self) -> RecordingState:
        return (
            RecordingState.ACTIVE
            if self.phase is RecordingPhase.RECORDING
            else RecordingState.INACTIVE
        )


def manifest_key(recording_id: str) -> str:
    return f"recordings/{recording_id}/manifest.json"


def chunk_keys(recording_id: str, index: int, extension: str) -> tuple[str, str]:
    base = f"recordings/{recording_id}/{index:05d}"
    return f"{base}.{extension}", f"{base}.json"


def document_id(recording_id: str, index: int) -> str:
    return f"{recording_id}_{index}"


def parse_document_id(value: str) -> tuple[str, int]:
    recording_id, _, index = value.rpartition("_")
    if not recording_id or not index.isdigit() or not recording_id.isalnum():
        raise RecordingNotFoundError(f"No recording document {value}.")
    return recording_id, int(index)
