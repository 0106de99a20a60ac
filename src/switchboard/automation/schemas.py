"""Call Automation wire shapes (api-version 2026-03-12 and earlier): requests in, properties out.

Identifiers arrive as CommunicationIdentifier JSON (parsed with or without ``kind``); fields
this server does not act on yet (call intelligence) are read and ignored, as ACS ignores what a
resource is not set up for; media streaming and transcription options: streaming/schemas.py.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.automation.models import AddedParticipant, CallConnection, CallLocator, Participant
from switchboard.automation.streaming.schemas import (
    MediaStreamingOptionsJson,
    TranscriptionOptionsJson,
)
from switchboard.core.errors import BadRequestError
from switchboard.core.identifiers import CommunicationIdentifier
from switchboard.http.identifiers import identifier_from_json, identifier_to_json

Identifier = dict[str, Any]
LOCATOR_KINDS = ("groupCallLocator", "serverCallLocator", "roomCallLocator")


class PhoneNumber(msgspec.Struct):
    value: str


class CreateCallRequest(msgspec.Struct, rename="camel"):
    targets: list[Identifier]
    callback_uri: str
    source_caller_id_number: PhoneNumber | None = None
    source_display_name: str | None = None
    source: Identifier | None = None
    operation_context: str | None = None
    media_streaming_options: MediaStreamingOptionsJson | None = None
    transcription_options: TranscriptionOptionsJson | None = None


class AnswerCallRequest(msgspec.Struct, rename="camel"):
    incoming_call_context: str
    callback_uri: str
    operation_context: str | None = None
    media_streaming_options: MediaStreamingOptionsJson | None = None
    transcription_options: TranscriptionOptionsJson | None = None


class RejectCallRequest(msgspec.Struct, rename="camel"):
    incoming_call_context: str
    call_reject_reason: str | None = None


class RedirectCallRequest(msgspec.Struct, rename="camel"):
    incoming_call_context: str
    target: Identifier


class LocatorJson(msgspec.Struct, rename="camel"):
    kind: str | None = None
    group_call_id: str | None = None
    server_call_id: str | None = None
    room_id: str | None = None


class ConnectRequest(msgspec.Struct, rename="camel"):
    call_locator: LocatorJson
    callback_uri: str
    operation_context: str | None = None
    media_streaming_options: MediaStreamingOptionsJson | None = None
    transcription_options: TranscriptionOptionsJson | None = None


class AddParticipantRequest(msgspec.Struct, rename="camel"):
    participant_to_add: Identifier
    source_caller_id_number: PhoneNumber | None = None
    source_display_name: str | None = None
    invitation_timeout_in_seconds: int | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class RemoveParticipantRequest(msgspec.Struct, rename="camel"):
    participant_to_remove: Identifier
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class MuteParticipantsRequest(msgspec.Struct, rename="camel"):
    target_participants: list[Identifier]
    operation_context: str | None = None


class TransferToParticipantRequest(msgspec.Struct, rename="camel"):
    target_participant: Identifier
    transferee: Identifier | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None
    source_caller_id_number: PhoneNumber | None = None


class CancelAddParticipantRequest(msgspec.Struct, rename="camel"):
    invitation_id: str
    operation_context: str | None = None
    operation_callback_uri: str | None = None


def identifier(data: Identifier, field: str) -> CommunicationIdentifier:
    try:
        return identifier_from_json(data)
    except BadRequestError as error:
        raise BadRequestError(error.message, target=field) from None


def locator(data: LocatorJson) -> CallLocator:
    kind = data.kind
    ids = {
        "groupCallLocator": data.group_call_id,
        "serverCallLocator": data.server_call_id,
        "roomCallLocator": data.room_id,
    }
    if kind is None:  # older SDKs name only the id
        kind = next((k for k, v in ids.items() if v), None)
    if kind not in LOCATOR_KINDS or not ids[kind]:
        raise BadRequestError(
            "callLocator needs a kind (groupCallLocator, serverCallLocator, roomCallLocator) "
            "and its id.",
            target="callLocator",
        )
    return CallLocator(kind, ids[kind] or "")


def phone(number: PhoneNumber | None) -> str | None:
    return None if number is None else number.value


def call_connection_json(call: CallConnection) -> dict[str, Any]:
    body: dict[str, Any] = {
        "callConnectionId": call.call_connection_id,
        "serverCallId": call.server_call_id,
        "targets": [identifier_to_json(t) for t in call.targets],
        "callConnectionState": call.state.value,
        "callbackUri": call.callback_uri,
        "correlationId": call.correlation_id,
    }
    if call.source_caller_id:
        body["sourceCallerIdNumber"] = {"value": call.source_caller_id}
    if call.source_display_name:
        body["sourceDisplayName"] = call.source_display_name
    if call.source is not None:
        body["source"] = identifier_to_json(call.source)
    if call.answered_by is not None:
        body["answeredBy"] = identifier_to_json(call.answered_by)
    return body


def participant_json(participant: Participant) -> dict[str, Any]:
    return {
        "identifier": identifier_to_json(participant.identifier),
        "isMuted": participant.is_muted,
        "isOnHold": participant.is_on_hold,
    }


def added_json(added: AddedParticipant) -> dict[str, Any]:
    return {
        "participant": participant_json(added.participant),
        "operationContext": added.operation_context,
        "invitationId": added.invitation_id,
    }


def cancel_add_json(invitation_id: str, operation_context: str | None) -> dict[str, Any]:
    return {"invitationId": invitation_id, "operationContext": operation_context}
