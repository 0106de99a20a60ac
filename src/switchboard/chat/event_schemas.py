"""Wire shapes of real-time chat events, named and shaped like the ACS JavaScript chat SDK's.

``recipient`` is added per connection at delivery; everything else is stored in the event
stream exactly as built here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from switchboard.chat.models import ChatEvent, Message, Participant, Thread
from switchboard.core.clock import iso8601
from switchboard.http.identifiers import user_identifier_json


def participant_json(participant: Participant) -> dict[str, Any]:
    return {
        "id": user_identifier_json(participant.user_id),
        "displayName": participant.display_name,
        "shareHistoryTime": iso8601(participant.share_history_ms / 1000),
    }


def _by(user_id: str, participants: Sequence[Participant]) -> dict[str, Any]:
    for participant in participants:
        if participant.user_id == user_id:
            return participant_json(participant)
    return {"id": user_identifier_json(user_id), "displayName": None}


def message_event(
    message: Message, *, edited: bool = False, deleted: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "threadId": message.thread_id,
        "sender": user_identifier_json(message.sender_id or ""),
        "senderDisplayName": message.sender_display_name or "",
        "id": message.id,
        "createdOn": iso8601(message.created_ms / 1000),
        "version": str(message.version_ms),
        "type": message.type.value,
    }
    if not deleted:
        data["message"] = message.content or ""
        data["metadata"] = dict(message.metadata or {})
    if edited and message.edited_ms is not None:
        data["editedOn"] = iso8601(message.edited_ms / 1000)
    if deleted and message.deleted_ms is not None:
        data["deletedOn"] = iso8601(message.deleted_ms / 1000)
    return data


def typing_event(
    thread_id: str, sender: str, display_name: str | None, now_ms: int
) -> dict[str, Any]:
    return {
        "threadId": thread_id,
        "sender": user_identifier_json(sender),
        "senderDisplayName": display_name or "",
        "version": str(now_ms),
        "receivedOn": iso8601(now_ms / 1000),
    }


def read_receipt_event(
    thread_id: str, sender: str, display_name: str | None, message_id: str, read_ms: int
) -> dict[str, Any]:
    return {
        "threadId": thread_id,
        "sender": user_identifier_json(sender),
        "senderDisplayName": display_name or "",
        "chatMessageId": message_id,
        "readOn": iso8601(read_ms / 1000),
    }


def thread_created_event(thread: Thread, participants: Sequence[Participant]) -> dict[str, Any]:
    return {
        "threadId": thread.id,
        "version": str(thread.created_ms),
        "createdOn": iso8601(thread.created_ms / 1000),
        "properties": {"topic": thread.topic},
        "participants": [participant_json(p) for p in participants],
        "createdBy": _by(thread.created_by, participants),
    }


def thread_updated_event(
    thread_id: str, topic: str, by: str, participants: Sequence[Participant], now_ms: int
) -> dict[str, Any]:
    return {
        "threadId": thread_id,
        "version": str(now_ms),
        "properties": {"topic": topic},
        "updatedOn": iso8601(now_ms / 1000),
        "updatedBy": _by(by, participants),
    }


def thread_deleted_event(
    thread_id: str, by: str, participants: Sequence[Participant], now_ms: int
) -> dict[str, Any]:
    return {
        "threadId": thread_id,
        "version": str(now_ms),
        "deletedOn": iso8601(now_ms / 1000),
        "deletedBy": _by(by, participants),
    }


def participants_added_event(
    thread_id: str,
    added: Sequence[Participant],
    by: str,
    everyone: Sequence[Participant],
    now_ms: int,
) -> dict[str, Any]:
    return {
        "threadId": thread_id,
        "version": str(now_ms),
        "addedOn": iso8601(now_ms / 1000),
        "participantsAdded": [participant_json(p) for p in added],
        "addedBy": _by(by, everyone),
    }


def participants_removed_event(
    thread_id: str, removed: Participant, by: str, everyone: Sequence[Participant], now_ms: int
) -> dict[str, Any]:
    return {
        "threadId": thread_id,
        "version": str(now_ms),
        "removedOn": iso8601(now_ms / 1000),
        "participantsRemoved": [participant_json(removed)],
        "removedBy": _by(by, everyone),
    }


_ENCODE = msgspec.json.Encoder().encode


def frame_head(event: ChatEvent) -> bytes:
    """``{"type":"event","name":…,"cursor":…,"data":{…,"recipient":`` — the frame minus the
    recipient and the two closing braces, the same for every socket the event goes to."""
    data = _ENCODE(event.data)
    prefix = _ENCODE(
        {
            "type": "event",
            "name": event.name.value,
            "cursor": None if event.seq is None else str(event.seq),
        }
    )
    separator = b',"recipient":' if len(data) > 2 else b'"recipient":'
    return prefix[:-1] + b',"data":' + data[:-1] + separator
