"""What recordings tell the app: RecordingStateChanged (a callback's own data) and the Event
Grid ``Microsoft.Communication.RecordingFileStatusUpdated`` event (PascalCase enum values, as
ACS sends them; acs-wire-reference §10 and the events spec)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from switchboard.core.events import IntegrationEvent
from switchboard.recording.models import Manifest

FILE_STATUS_UPDATED = "Microsoft.Communication.RecordingFileStatusUpdated"
_PASCAL = {
    "audio": "Audio",
    "audioVideo": "AudioVideo",
    "mixed": "Mixed",
    "unmixed": "Unmixed",
    "wav": "Wav",
    "mp3": "Mp3",
    "mp4": "Mp4",
}


def iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def state_changed(manifest: Manifest) -> dict[str, Any]:
    return {
        "recordingId": manifest.recording_id,
        "state": manifest.state.value,
        "startDateTime": iso(manifest.started),
        "recordingKind": "azureCommunicationServices",
    }


def file_status_updated(
    manifest: Manifest, location: Callable[[str], str], now: float
) -> IntegrationEvent:
    chunks = [
        {
            "documentId": chunk.document_id,
            "index": chunk.index,
            "endReason": chunk.end_reason.value,
            "contentLocation": location(chunk.document_id) + "/content/media",
            "metadataLocation": location(chunk.document_id) + "/content/acsmetadata",
            "deleteLocation": location(chunk.document_id),
        }
        for chunk in manifest.chunks
        if not chunk.deleted
    ]
    options = manifest.options
    data = {
        "recordingStorageInfo": {"recordingChunks": chunks},
        "recordingStartTime": iso(manifest.started),
        "recordingDurationMs": manifest.recorded_ms,
        "recordingContentType": _PASCAL[options.content.value],
        "recordingChannelType": _PASCAL[options.channel.value],
        "recordingFormatType": _PASCAL[options.format.value],
        "sessionEndReason": (
            manifest.session_end_reason.value if manifest.session_end_reason else "CallEnded"
        ),
    }
    subject = (
        f"/recording/call/{manifest.call_id}/serverCallId/{manifest.server_call_id}"
        f"/recordingId/{manifest.recording_id}"
    )
    return IntegrationEvent(FILE_STATUS_UPDATED, subject, data, now)
