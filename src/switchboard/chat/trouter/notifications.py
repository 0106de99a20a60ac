"""Chat events as trouter notifications: the payloads ``@azure/communication-signaling`` parses.

Each payload is the JSON body of one trouter request; ``eventId`` says which event it is.
Shapes follow the SDK's ``src/TrouterNotificationPayload.ts`` and the parsing in its
``TrouterUtils.ts``: times are ISO-8601 strings (a read receipt's time is epoch ms inside its
``consumptionhorizon``), and the thread events' nested objects are JSON strings passed
through JavaScript's ``escape()`` (the SDK ``unescape``s them before ``JSON.parse``).
"""

from __future__ import annotations

import json
from typing import Any

from switchboard.chat.domain_events import (
    ChatActor,
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
from switchboard.chat.models import ChatEventName
from switchboard.core.clock import iso8601

EVENT_IDS: dict[ChatEventName, int] = {
    ChatEventName.MESSAGE_RECEIVED: 200,
    ChatEventName.TYPING_INDICATOR_RECEIVED: 245,
    ChatEventName.READ_RECEIPT_RECEIVED: 246,
    ChatEventName.MESSAGE_EDITED: 247,
    ChatEventName.MESSAGE_DELETED: 248,
    ChatEventName.THREAD_CREATED: 257,
    ChatEventName.THREAD_PROPERTIES_UPDATED: 258,
    ChatEventName.THREAD_DELETED: 259,
    ChatEventName.PARTICIPANTS_ADDED: 260,
    ChatEventName.PARTICIPANTS_REMOVED: 261,
}

# ACS's trouter names message types as its older chat service did; the SDK passes them on.
_MESSAGE_TYPES = {"text": "Text", "html": "RichText/Html"}

_UNESCAPED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@*_+-./")


def js_escape(text: str) -> str:
    """JavaScript's ``escape()``: what the SDK's ``unescape()`` turns back into ``text``."""
    out: list[str] = []
    for char in text:
        if char in _UNESCAPED:
            out.append(char)
            continue
        code = ord(char)
        if code < 0x100:
            out.append(f"%{code:02X}")
        elif code < 0x10000:
            out.append(f"%u{code:04X}")
        else:  # JavaScript strings are UTF-16: a surrogate pair, each escaped
            code -= 0x10000
            out.append(f"%u{0xD800 + (code >> 10):04X}%u{0xDC00 + (code & 0x3FF):04X}")
    return "".join(out)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _escaped_json(value: Any) -> str:
    return js_escape(_json(value))


def _time(ms: int) -> str:
    return iso8601(ms / 1000)


def _participant(participant: ChatParticipant | ChatActor) -> dict[str, Any]:
    member: dict[str, Any] = {
        "participantId": participant.user_id,
        "displayName": participant.display_name or "",
    }
    if participant.share_history_ms is not None:
        member["shareHistoryTime"] = _time(participant.share_history_ms)
    return member


def _properties(topic: str, metadata: dict[str, str]) -> str:
    properties: dict[str, Any] = {"topic": topic}
    if metadata:
        properties["acsChatThreadMetadata"] = _json(metadata)
    return _escaped_json(properties)


def _message(event: ChatMessageEvent, recipient: str) -> dict[str, Any]:
    message = event.message
    payload: dict[str, Any] = {
        "eventId": EVENT_IDS[event.name],
        "senderId": message.sender_id,
        "recipientMri": recipient,
        "groupId": event.thread_id,
        "messageId": message.id,
        "clientMessageId": "",
        "senderDisplayName": message.sender_display_name or "",
        "messageType": _MESSAGE_TYPES.get(message.type, message.type),
        "version": str(message.version_ms),
        "originalArrivalTime": _time(message.created_ms),
    }
    if isinstance(event, MessageDeleted):
        payload["deletetime"] = _time(message.deleted_ms or message.version_ms)
        return payload
    payload["messageBody"] = message.content or ""
    payload["acsChatMessageMetadata"] = _json(message.metadata) if message.metadata else ""
    if isinstance(event, MessageEdited):
        payload["edittime"] = _time(message.edited_ms or message.version_ms)
    return payload


def payload_of(data: ChatEventData, recipient: str) -> dict[str, Any]:
    """The notification ``recipient`` (a raw user id) gets for one chat event."""
    if isinstance(data, MessageReceived | MessageEdited | MessageDeleted):
        return _message(data, recipient)
    event_id = EVENT_IDS[data.name]
    if isinstance(data, TypingIndicatorReceived):
        return {
            "eventId": event_id,
            "senderId": data.sender_id,
            "recipientMri": recipient,
            "groupId": data.thread_id,
            "senderDisplayName": data.sender_display_name or "",
            "version": str(data.typed_ms),
            "originalArrivalTime": _time(data.typed_ms),
        }
    if isinstance(data, ReadReceiptReceived):
        horizon = f"{data.message_id};{data.read_ms};{data.message_id}"
        body = {
            "user": data.sender_id,
            "consumptionhorizon": horizon,
            "messageVisibilityTime": data.read_ms,
            "version": str(data.read_ms),
        }
        return {
            "eventId": event_id,
            "senderId": data.sender_id,
            "recipientMri": recipient,
            "groupId": data.thread_id,
            "messageId": data.message_id,
            "clientMessageId": "",
            "messageBody": _json(body),
        }
    head: dict[str, Any] = {
        "eventId": event_id,
        "threadId": data.thread_id,
        "version": str(data.changed_ms),
    }
    when, by = _time(data.changed_ms), _escaped_json(_participant(data.by))
    if isinstance(data, ThreadCreated):
        members = [_participant(p) for p in data.participants]
        return head | {
            "createTime": when,
            "createdBy": by,
            "members": _escaped_json(members),
            "properties": _properties(data.topic, data.metadata),
        }
    if isinstance(data, ThreadPropertiesUpdated):
        return head | {
            "editTime": when,
            "editedBy": by,
            "properties": _properties(data.topic, data.metadata),
        }
    if isinstance(data, ThreadDeleted):
        return head | {"deleteTime": when, "deletedBy": by}
    if isinstance(data, ParticipantsAdded):
        added = _escaped_json([_participant(p) for p in data.participants])
        return head | {"time": when, "addedBy": by, "participantsAdded": added}
    assert isinstance(data, ParticipantsRemoved)
    removed = _escaped_json([_participant(p) for p in data.participants])
    return head | {"time": when, "removedBy": by, "participantsRemoved": removed}
