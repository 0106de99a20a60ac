"""Real-time chat events on the wire, named and shaped like the ACS JavaScript chat SDK's:
rendered from the typed domain events (chat/domain_events.py).

``recipient`` is added per connection at delivery; everything else is rendered once per event.
"""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.chat.domain_events import (
    ChatActor,
    ChatEvent,
    ChatEventData,
    ChatMessageEvent,
    ChatParticipant,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ParticipantsAdded,
    ParticipantsRemoved,
    ReadReceiptReceived,
    ThreadCreated,
    ThreadDeleted,
    ThreadPropertiesUpdated,
    TypingIndicatorReceived,
)
from switchboard.chat.models import Participant
from switchboard.core.clock import iso8601
from switchboard.http.identifiers import user_identifier_json


def _time(ms: int) -> str:
    return iso8601(ms / 1000)


def participant_json(participant: Participant | ChatParticipant) -> dict[str, Any]:
    return {
        "id": user_identifier_json(participant.user_id),
        "displayName": participant.display_name,
        "shareHistoryTime": _time(participant.share_history_ms),
    }


def _by(actor: ChatActor) -> dict[str, Any]:
    if actor.share_history_ms is None:  # not a participant
        return {"id": user_identifier_json(actor.user_id), "displayName": None}
    return {
        "id": user_identifier_json(actor.user_id),
        "displayName": actor.display_name,
        "shareHistoryTime": _time(actor.share_history_ms),
    }


def _message(event: ChatMessageEvent) -> dict[str, Any]:
    message = event.message
    data: dict[str, Any] = {
        "threadId": event.thread_id,
        "sender": user_identifier_json(message.sender_id),
        "senderDisplayName": message.sender_display_name or "",
        "id": message.id,
        "createdOn": _time(message.created_ms),
        "version": str(message.version_ms),
        "type": message.type,
    }
    deleted = isinstance(event, MessageDeleted)
    if not deleted:
        data["message"] = message.content or ""
        data["metadata"] = dict(message.metadata)
    if isinstance(event, MessageEdited) and message.edited_ms is not None:
        data["editedOn"] = _time(message.edited_ms)
    if deleted and message.deleted_ms is not None:
        data["deletedOn"] = _time(message.deleted_ms)
    return data


def wire_data(data: ChatEventData) -> dict[str, Any]:
    """The ``data`` of the real-time frame (ACS JavaScript SDK shape), recipient aside."""
    if isinstance(data, MessageReceived | MessageEdited | MessageDeleted):
        return _message(data)
    thread_id = data.thread_id
    if isinstance(data, TypingIndicatorReceived):
        return {
            "threadId": thread_id,
            "sender": user_identifier_json(data.sender_id),
            "senderDisplayName": data.sender_display_name or "",
            "version": str(data.typed_ms),
            "receivedOn": _time(data.typed_ms),
        }
    if isinstance(data, ReadReceiptReceived):
        return {
            "threadId": thread_id,
            "sender": user_identifier_json(data.sender_id),
            "senderDisplayName": data.sender_display_name or "",
            "chatMessageId": data.message_id,
            "readOn": _time(data.read_ms),
        }
    version, on = str(data.changed_ms), _time(data.changed_ms)
    if isinstance(data, ThreadCreated):
        return {
            "threadId": thread_id,
            "version": version,
            "createdOn": on,
            "properties": (
                {"topic": data.topic, "metadata": data.metadata}
                if data.metadata
                else {"topic": data.topic}
            ),
            "participants": [participant_json(p) for p in data.participants],
            "createdBy": _by(data.by),
        }
    if isinstance(data, ThreadPropertiesUpdated):
        return {
            "threadId": thread_id,
            "version": version,
            "properties": (
                {"topic": data.topic, "metadata": data.metadata}
                if data.metadata
                else {"topic": data.topic}
            ),
            "updatedOn": on,
            "updatedBy": _by(data.by),
        }
    if isinstance(data, ThreadDeleted):
        return {
            "threadId": thread_id,
            "version": version,
            "deletedOn": on,
            "deletedBy": _by(data.by),
        }
    if isinstance(data, ParticipantsAdded):
        return {
            "threadId": thread_id,
            "version": version,
            "addedOn": on,
            "participantsAdded": [participant_json(p) for p in data.participants],
            "addedBy": _by(data.by),
        }
    assert isinstance(data, ParticipantsRemoved)
    return {
        "threadId": thread_id,
        "version": version,
        "removedOn": on,
        "participantsRemoved": [participant_json(p) for p in data.participants],
        "removedBy": _by(data.by),
    }


_ENCODE = msgspec.json.Encoder().encode


def frame_head(event: ChatEvent) -> bytes:
    """``{"type":"event","name":…,"cursor":…,"data":{…,"recipient":`` — the frame minus the
    recipient and the two closing braces, the same for every socket the event goes to."""
    data = _ENCODE(wire_data(event.data))
    prefix = _ENCODE(
        {
            "type": "event",
            "name": event.name.value,
            "cursor": None if event.seq is None else str(event.seq),
        }
    )
    separator = b',"recipient":' if len(data) > 2 else b'"recipient":'
    return prefix[:-1] + b',"data":' + data[:-1] + separator
