"""Chat wire shapes (api-version 2024-03-07 and later): the only place with camelCase.

2024-06-05-preview and 2025-03-15 add thread ``metadata`` and ``retentionPolicy`` and
participant ``metadata`` (kept and returned), and (2024-06-05-preview only) message
``attachments``, which only Teams interop fills: refused with 400 rather than dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from switchboard.chat.models import (
    Message,
    NewParticipant,
    Participant,
    ReadReceipt,
    RetentionPolicy,
    Thread,
)
from switchboard.chat.participants import InvalidParticipant
from switchboard.core.clock import iso8601
from switchboard.core.errors import BadRequestError
from switchboard.http.identifiers import identifier_from_json, user_identifier_json


class ParticipantIn(msgspec.Struct, rename="camel"):
    communication_identifier: dict[str, Any]
    display_name: str | None = None
    share_history_time: str | None = None
    metadata: dict[str, str] | None = None

    def to_model(self) -> NewParticipant:
        identifier = identifier_from_json(self.communication_identifier)
        share = parse_time(self.share_history_time, "shareHistoryTime")
        return NewParticipant(identifier.raw_id, self.display_name, share, self.metadata)


class RetentionPolicyIn(msgspec.Struct, rename="camel"):
    """ChatRetentionPolicy (discriminated by ``kind``); checked by ChatRules."""

    kind: str
    delete_thread_after_days: int | None = None


class CreateThreadRequest(msgspec.Struct, rename="camel"):
    topic: str
    participants: list[ParticipantIn] = []
    metadata: dict[str, str] | None = None
    retention_policy: RetentionPolicyIn | None = None


class UpdateThreadRequest(msgspec.Struct, rename="camel"):
    topic: str | None = None
    metadata: dict[str, str] | None = None
    retention_policy: RetentionPolicyIn | None = None


def refuse_attachments(attachments: list[Any] | None) -> None:
    """2024-06-05-preview's message attachments are Teams interop's (images uploaded to Teams):
    nothing here could serve them, so a request carrying one is refused, not half-kept."""
    if attachments:
        raise BadRequestError(
            "Message attachments are only supported in Teams interop, which this server "
            "does not provide.",
            code="AttachmentsNotSupported",
            target="attachments",
        )


class SendMessageRequest(msgspec.Struct, rename="camel"):
    content: str
    sender_display_name: str | None = None
    type: str = "text"
    metadata: dict[str, str] | None = None
    attachments: list[Any] | None = None


class UpdateMessageRequest(msgspec.Struct, rename="camel"):
    content: str | None = None
    metadata: dict[str, str] | None = None
    attachments: list[Any] | None = None


class AddParticipantsRequest(msgspec.Struct, rename="camel"):
    participants: list[ParticipantIn]


class TypingRequest(msgspec.Struct, rename="camel"):
    sender_display_name: str | None = None


class ReadReceiptRequest(msgspec.Struct, rename="camel"):
    chat_message_id: str


def parse_time(raw: str | None, name: str) -> int | None:
    """ISO-8601 (``Z`` or offset) → epoch ms; a naive time is taken as UTC."""
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(f"{name} is not an ISO-8601 date-time: {raw!r}.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _iso(ms: int) -> str:
    return iso8601(ms / 1000)


def retention_json(policy: RetentionPolicy) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": policy.kind.value}
    if policy.delete_after_days is not None:
        body["deleteThreadAfterDays"] = policy.delete_after_days
    return body


def thread_json(thread: Thread) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": thread.id,
        "topic": thread.topic,
        "createdOn": _iso(thread.created_ms),
        "createdByCommunicationIdentifier": user_identifier_json(thread.created_by),
    }
    if thread.deleted_ms is not None:
        body["deletedOn"] = _iso(thread.deleted_ms)
    if thread.metadata:
        body["metadata"] = dict(thread.metadata)
    if thread.retention is not None:
        body["retentionPolicy"] = retention_json(thread.retention)
    return body


def thread_item_json(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "topic": thread.topic,
        "lastMessageReceivedOn": _iso(thread.last_message_ms or thread.created_ms),
    }


def chat_error_json(invalid: InvalidParticipant) -> dict[str, Any]:
    return {"code": invalid.code, "message": invalid.message, "target": invalid.raw_id}


def created_thread_json(thread: Thread, invalid: list[InvalidParticipant]) -> dict[str, Any]:
    body: dict[str, Any] = {"chatThread": thread_json(thread)}
    if invalid:
        body["invalidParticipants"] = [chat_error_json(i) for i in invalid]
    return body


def participant_json(participant: Participant) -> dict[str, Any]:
    body: dict[str, Any] = {
        "communicationIdentifier": user_identifier_json(participant.user_id),
        "displayName": participant.display_name,
        "shareHistoryTime": _iso(participant.share_history_ms),
    }
    if participant.metadata:
        body["metadata"] = dict(participant.metadata)
    return body


def _system_participant_json(data: dict[str, Any]) -> dict[str, Any]:
    # Stored in the real-time event shape ({"id", ...}); REST uses communicationIdentifier.
    return {
        "communicationIdentifier": data.get("id"),
        "displayName": data.get("displayName"),
        "shareHistoryTime": data.get("shareHistoryTime"),
    }


def message_json(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": message.id,
        "type": message.type.value,
        "sequenceId": str(message.sequence_id),
        "version": str(message.version_ms),
        "createdOn": _iso(message.created_ms),
    }
    if message.deleted_ms is not None:
        body["deletedOn"] = _iso(message.deleted_ms)
    elif message.type.is_system:
        system = dict(message.system or {})
        content: dict[str, Any] = {
            "initiatorCommunicationIdentifier": user_identifier_json(system.get("initiator", ""))
        }
        if "topic" in system:
            content["topic"] = system["topic"]
        if "participants" in system:
            content["participants"] = [_system_participant_json(p) for p in system["participants"]]
        body["content"] = content
    else:
        body["content"] = {"message": message.content or ""}
    if message.sender_id is not None:
        body["senderCommunicationIdentifier"] = user_identifier_json(message.sender_id)
        body["senderDisplayName"] = message.sender_display_name or ""
    if message.edited_ms is not None:
        body["editedOn"] = _iso(message.edited_ms)
    if message.metadata:
        body["metadata"] = dict(message.metadata)
    return body


def read_receipt_json(receipt: ReadReceipt) -> dict[str, Any]:
    return {
        "senderCommunicationIdentifier": user_identifier_json(receipt.user_id),
        "chatMessageId": receipt.message_id,
        "readOn": _iso(receipt.read_ms),
    }
