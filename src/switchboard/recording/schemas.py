"""Recording wire shapes (acs-wire-reference §7: ``/calling/recordings…``): StartCallRecording
in, RecordingStateResponse out. The only module that knows their camelCase JSON."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.core.errors import BadRequestError
from switchboard.http.identifiers import identifier_from_json
from switchboard.recording.models import (
    ChannelAffinity,
    Manifest,
    RecordingChannel,
    RecordingContent,
    RecordingFormat,
    RecordingOptions,
)
from switchboard.recording.service import RecordingTarget

Identifier = dict[str, Any]
_PREFIXES = {"groupCallLocator": "group:", "roomCallLocator": "room:", "serverCallLocator": ""}


class LocatorJson(msgspec.Struct, rename="camel"):
    kind: str | None = None
    group_call_id: str | None = None
    server_call_id: str | None = None
    room_id: str | None = None


class AffinityJson(msgspec.Struct, rename="camel"):
    participant: Identifier
    channel: int | None = None


class ExternalStorageJson(msgspec.Struct, rename="camel"):
    recording_storage_kind: str
    recording_destination_container_url: str | None = None


class StartRecordingRequest(msgspec.Struct, rename="camel"):
    call_locator: LocatorJson | None = None
    call_connection_id: str | None = None
    recording_state_callback_uri: str | None = None
    recording_content_type: RecordingContent | None = None
    recording_channel_type: RecordingChannel | None = None
    recording_format_type: RecordingFormat | None = None
    audio_channel_participant_ordering: list[Identifier] | None = None
    channel_affinity: list[AffinityJson] | None = None
    pause_on_start: bool | None = None
    external_storage: ExternalStorageJson | None = None


def target(body: StartRecordingRequest) -> RecordingTarget:
    if (body.call_locator is None) == (not body.call_connection_id):
        raise BadRequestError("Give either callLocator or callConnectionId.", target="callLocator")
    if body.call_connection_id:
        return RecordingTarget(call_connection_id=body.call_connection_id)
    locator = body.call_locator
    assert locator is not None
    ids = {
        "groupCallLocator": locator.group_call_id,
        "serverCallLocator": locator.server_call_id,
        "roomCallLocator": locator.room_id,
    }
    kind = locator.kind or next((k for k, v in ids.items() if v), None)
    if kind not in _PREFIXES or not ids[kind]:
        raise BadRequestError("callLocator needs a kind and its id.", target="callLocator")
    return RecordingTarget(call_id=_PREFIXES[kind] + (ids[kind] or ""))


def options(body: StartRecordingRequest) -> RecordingOptions:
    if body.external_storage is not None:
        raise BadRequestError(
            "externalStorage is not supported: recordings stay in this server's storage.",
            target="externalStorage",
        )
    content = body.recording_content_type or RecordingContent.AUDIO_VIDEO
    default_format = (
        RecordingFormat.MP4 if content is RecordingContent.AUDIO_VIDEO else RecordingFormat.WAV
    )
    affinity = []
    for index, entry in enumerate(body.channel_affinity or []):
        raw_id = _raw_id(entry.participant, "channelAffinity")
        affinity.append(ChannelAffinity(raw_id, index if entry.channel is None else entry.channel))
    return RecordingOptions(
        content=content,
        channel=body.recording_channel_type or RecordingChannel.MIXED,
        format=body.recording_format_type or default_format,
        pause_on_start=bool(body.pause_on_start),
        state_callback_uri=body.recording_state_callback_uri or None,
        affinity=tuple(affinity),
        ordering=tuple(
            _raw_id(p, "audioChannelParticipantOrdering")
            for p in body.audio_channel_participant_ordering or []
        ),
    ).check()


def state_json(manifest: Manifest) -> dict[str, Any]:
    return {
        "recordingId": manifest.recording_id,
        "recordingState": manifest.state.value,
        "recordingKind": "azureCommunicationServices",
    }


def _raw_id(data: Identifier, field: str) -> str:
    try:
        return identifier_from_json(data).raw_id
    except BadRequestError as error:
        raise BadRequestError(error.message, target=field) from None
