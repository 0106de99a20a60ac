"""The streaming WebSocket's JSON frames, as ACS writes and reads them. Sans-I/O.

    to the app (one text message each):
        AudioMetadata, then AudioData (base64 PCM s16le mono, 20 ms, participantRawID,
        timestamp, silent) ─ media streaming
        TranscriptionMetadata, then TranscriptionData (text, words with offsets and
        durations in ticks of 100 ns, confidence, participantRawID, resultStatus)
    from the app (bidirectional streaming):
        AudioData {data} ─▶ audio played into the call · StopAudio ─▶ what is queued is dropped

Shapes checked against the npm SDK's ``StreamingData.parse`` and ``createOutboundAudioData``
/ ``createOutboundStopAudioData`` (1.6.0); the Python SDK 1.6.0 has no streaming parser. The
app's frames come in two spellings: the npm SDK writes ``kind: "audioData"`` / ``"stopAudio"``,
the .NET and Java SDKs ``"AudioData"`` / ``"StopAudio"``: kinds and keys are read in any case.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

TICKS_PER_MS = 10_000  # ACS durations and offsets: ticks of 100 ns


class AudioMetadataBody(msgspec.Struct, rename="camel"):
    subscription_id: str
    encoding: str
    sample_rate: int
    channels: int
    length: int  # bytes in one 20 ms frame


class AudioMetadata(msgspec.Struct, tag_field="kind", tag="AudioMetadata", rename="camel"):
    audio_metadata: AudioMetadataBody


class AudioDataBody(msgspec.Struct, omit_defaults=True):
    data: str
    timestamp: str
    silent: bool
    participantRawID: str | None = None  # ACS spells it so; mixed: left out


class AudioData(msgspec.Struct, tag_field="kind", tag="AudioData", rename="camel"):
    audio_data: AudioDataBody


class TranscriptionMetadataBody(msgspec.Struct, rename="camel"):
    subscription_id: str
    locale: str
    call_connection_id: str
    correlation_id: str
    speech_recognition_model_endpoint_id: str | None = None


class TranscriptionMetadata(
    msgspec.Struct, tag_field="kind", tag="TranscriptionMetadata", rename="camel"
):
    transcription_metadata: TranscriptionMetadataBody


class WordJson(msgspec.Struct):
    text: str
    offset: int  # ticks from the start of the transcription
    duration: int


class TranscriptionDataBody(msgspec.Struct):
    text: str
    format: str
    confidence: float
    offset: int
    duration: int
    words: list[WordJson]
    participantRawID: str  # ACS spells it so
    resultStatus: str  # "Intermediate" | "Final"


class TranscriptionData(msgspec.Struct, tag_field="kind", tag="TranscriptionData", rename="camel"):
    transcription_data: TranscriptionDataBody


_encoder = msgspec.json.Encoder()


_second: tuple[int, str] = (-1, "")  # the last whole second formatted (50 frames share it)


def timestamp(unix_seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, as ACS writes ``timestamp``."""
    global _second
    whole = int(unix_seconds)
    if _second[0] != whole:
        _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S."))
    return f"{_second[1]}{int((unix_seconds - whole) * 1000):03d}Z"


def audio_metadata(subscription_id: str, sample_rate: int) -> bytes:
    frame_bytes = sample_rate // 50 * 2
    body = AudioMetadataBody(subscription_id, "PCM", sample_rate, 1, frame_bytes)
    return _encoder.encode(AudioMetadata(body))


def audio_data(pcm: bytes, at: float, silent: bool, participant_raw_id: str | None) -> bytes:
    data = base64.b64encode(pcm).decode("ascii")
    return _encoder.encode(
        AudioData(AudioDataBody(data, timestamp(at), silent, participant_raw_id))
    )


def transcription_metadata(
    subscription_id: str, locale: str, call_connection_id: str, correlation_id: str
) -> bytes:
    body = TranscriptionMetadataBody(subscription_id, locale, call_connection_id, correlation_id)
    return _encoder.encode(TranscriptionMetadata(body))


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    offset_ms: int  # from the start of the transcription
    duration_ms: int


def transcription_data(
    text: str,
    words: list[Word],
    confidence: float,
    participant_raw_id: str,
    *,
    final: bool,
) -> bytes:
    offset = words[0].offset_ms if words else 0
    end = words[-1].offset_ms + words[-1].duration_ms if words else 0
    body = TranscriptionDataBody(
        text=text,
        format="display",
        confidence=round(confidence, 4),
        offset=offset * TICKS_PER_MS,
        duration=(end - offset) * TICKS_PER_MS,
        words=[
            WordJson(w.text, w.offset_ms * TICKS_PER_MS, w.duration_ms * TICKS_PER_MS)
            for w in words
        ],
        participantRawID=participant_raw_id,
        resultStatus="Final" if final else "Intermediate",
    )
    return _encoder.encode(TranscriptionData(body))


# --- what the app sends back ----------------------------------------------------------------


class FrameError(ValueError):
    """A message from the app that is not an outbound AudioData or StopAudio frame."""


@dataclass(frozen=True, slots=True)
class OutboundAudio:
    pcm: bytes  # at the stream's sample rate


@dataclass(frozen=True, slots=True)
class StopAudio:
    pass


AppFrame = OutboundAudio | StopAudio
_any = msgspec.json.Decoder(dict[str, Any])
MAX_OUTBOUND_BYTES = 1 << 20  # one message: ~30 s of 16 kHz audio, base64


def parse_app_frame(message: str | bytes) -> AppFrame:
    """An app's message; FrameError for anything else (the stream ignores it)."""
    if len(message) > MAX_OUTBOUND_BYTES:
        raise FrameError("the message is too large")
    try:
        raw = _any.decode(message)
    except msgspec.DecodeError as error:
        raise FrameError(f"not JSON: {error}") from None
    fields = {str(key).lower(): value for key, value in raw.items()}
    kind = str(fields.get("kind", "")).lower()
    if kind == "stopaudio":
        return StopAudio()
    if kind != "audiodata":
        raise FrameError(f"unknown kind {fields.get('kind')!r}")
    body = fields.get("audiodata")
    if not isinstance(body, dict):
        raise FrameError("AudioData without audioData")
    data = {str(key).lower(): value for key, value in body.items()}.get("data")
    if not isinstance(data, str):
        raise FrameError("audioData.data must be base64 text")
    try:
        pcm = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise FrameError("audioData.data is not base64") from None
    return OutboundAudio(pcm[: len(pcm) - len(pcm) % 2])
