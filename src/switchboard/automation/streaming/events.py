"""The streaming callbacks (acs-wire-reference §10): MediaStreamingStarted/Stopped/Failed with
``mediaStreamingUpdate``, TranscriptionStarted/Stopped/Updated/Failed with
``transcriptionUpdate``. Status and detail values are ACS's enums (CallAutomation.json); the
failure's code and subCode are ours (docs/media-streaming.md)."""

from __future__ import annotations

from switchboard.automation.callback_events import OK, event
from switchboard.automation.models import CallConnection
from switchboard.automation.ports import CallbackData, EndReason

STREAM_FAILED = EndReason(400, 8581, "The media streaming transport URL could not be reached.")
STREAM_INTERRUPTED = EndReason(400, 8582, "The media streaming connection was interrupted.")
TRANSCRIPTION_FAILED = EndReason(400, 8581, "The transcription transport URL could not be reached.")
TRANSCRIPTION_INTERRUPTED = EndReason(400, 8582, "The transcription connection was interrupted.")


def media_streaming(
    name: str,
    call: CallConnection,
    context: str | None,
    status: str,
    details: str,
    result: EndReason = OK,
) -> CallbackData:
    return event(
        name,
        call,
        operation_context=context,
        result=result,
        mediaStreamingUpdate={
            "contentType": "Audio",
            "mediaStreamingStatus": status,
            "mediaStreamingStatusDetails": details,
        },
    )


def started(call: CallConnection, context: str | None) -> CallbackData:
    return media_streaming(
        "MediaStreamingStarted", call, context, "mediaStreamingStarted", "subscriptionStarted"
    )


def stopped(call: CallConnection, context: str | None) -> CallbackData:
    return media_streaming(
        "MediaStreamingStopped", call, context, "mediaStreamingStopped", "subscriptionStopped"
    )


def failed(call: CallConnection, context: str | None, *, interrupted: bool) -> CallbackData:
    if interrupted:
        details, result = "streamConnectionInterrupted", STREAM_INTERRUPTED
    else:
        details, result = "initialWebSocketConnectionFailed", STREAM_FAILED
    return media_streaming(
        "MediaStreamingFailed", call, context, "mediaStreamingFailed", details, result
    )


def transcription(
    name: str,
    call: CallConnection,
    context: str | None,
    status: str,
    details: str,
    result: EndReason = OK,
    message: str = "",
) -> CallbackData:
    return event(
        name,
        call,
        operation_context=context,
        result=result,
        transcriptionUpdate={
            "transcriptionStatus": status,
            "transcriptionStatusDetails": details,
            **({"transcriptionMessage": message} if message else {}),
        },
    )


def transcription_started(call: CallConnection, context: str | None) -> CallbackData:
    return transcription(
        "TranscriptionStarted", call, context, "transcriptionStarted", "subscriptionStarted"
    )


def transcription_stopped(call: CallConnection, context: str | None) -> CallbackData:
    return transcription(
        "TranscriptionStopped", call, context, "transcriptionStopped", "subscriptionStopped"
    )


def transcription_updated(call: CallConnection, context: str | None, locale: str) -> CallbackData:
    return transcription(
        "TranscriptionUpdated",
        call,
        context,
        "transcriptionUpdated",
        "transcriptionLocaleUpdated",
        message=f"Locale is now {locale}.",
    )


def transcription_failed(
    call: CallConnection, context: str | None, *, interrupted: bool
) -> CallbackData:
    if interrupted:
        details, result = "streamConnectionInterrupted", TRANSCRIPTION_INTERRUPTED
    else:
        details, result = "streamConnectionUnsuccessful", TRANSCRIPTION_FAILED
    return transcription(
        "TranscriptionFailed", call, context, "transcriptionFailed", details, result
    )
