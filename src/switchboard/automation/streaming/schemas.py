"""``mediaStreamingOptions`` and ``transcriptionOptions`` of createCall, answerCall and connect
(CallAutomation.json WebSocketMediaStreamingOptions / WebSocketTranscriptionOptions)."""

from __future__ import annotations

import msgspec

from switchboard.automation.streaming.models import (
    AudioChannel,
    StreamingOptions,
    TranscriptionOptions,
)
from switchboard.core.errors import BadRequestError

AUDIO_FORMATS = {"pcm16kmono": 16_000, "pcm24kmono": 24_000}


class MediaStreamingOptionsJson(msgspec.Struct, rename="camel"):
    transport_type: str = "websocket"
    audio_channel_type: str = "mixed"
    transport_url: str | None = None
    content_type: str | None = None
    start_media_streaming: bool | None = None
    enable_bidirectional: bool | None = None
    audio_format: str | None = None
    enable_dtmf_tones: bool | None = None


class TranscriptionOptionsJson(msgspec.Struct, rename="camel"):
    transport_type: str = "websocket"
    locale: str | None = None
    transport_url: str | None = None
    speech_model_endpoint_id: str | None = None
    start_transcription: bool | None = None
    enable_intermediate_results: bool | None = None


def _transport(kind: str, url: str | None, field: str) -> str:
    if kind.lower() != "websocket":
        raise BadRequestError("transportType must be websocket.", target=f"{field}.transportType")
    if not url:
        raise BadRequestError(f"{field}.transportUrl is required.", target=f"{field}.transportUrl")
    return url


def streaming_options(data: MediaStreamingOptionsJson | None) -> StreamingOptions | None:
    if data is None:
        return None
    field = "mediaStreamingOptions"
    url = _transport(data.transport_type, data.transport_url, field)
    if (data.content_type or "audio").lower() != "audio":
        raise BadRequestError("contentType must be audio.", target=f"{field}.contentType")
    try:
        channel = AudioChannel(data.audio_channel_type.lower())
    except ValueError:
        raise BadRequestError(
            "audioChannelType must be mixed or unmixed.", target=f"{field}.audioChannelType"
        ) from None
    rate = AUDIO_FORMATS.get((data.audio_format or "pcm16KMono").lower())
    if rate is None:
        raise BadRequestError(
            "audioFormat must be pcm16KMono or pcm24KMono.", target=f"{field}.audioFormat"
        )
    return StreamingOptions(
        url,
        channel,
        rate,
        start=bool(data.start_media_streaming),
        bidirectional=bool(data.enable_bidirectional),
    )


def transcription_options(data: TranscriptionOptionsJson | None) -> TranscriptionOptions | None:
    if data is None:
        return None
    field = "transcriptionOptions"
    url = _transport(data.transport_type, data.transport_url, field)
    if data.speech_model_endpoint_id:
        raise BadRequestError(
            "Custom speech models need Azure AI Speech; this server transcribes with its own "
            "engine.",
            target=f"{field}.speechModelEndpointId",
        )
    return TranscriptionOptions(
        url,
        data.locale or "en-US",
        start=bool(data.start_transcription),
        intermediate=bool(data.enable_intermediate_results),
    )
