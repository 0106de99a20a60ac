"""Chat events as Event Grid events (``Microsoft.Communication.Chat*``), written to the outbox
in the unit of work that made the change (chat/changes.py).

Each real-time chat event maps to one thread-level event (``…InThread``, ``ChatThreadCreated``
…) and one per-user event for each recipient (``ChatMessageReceived``,
``ChatThreadCreatedWithUser`` …), shaped as ``events/AzureCommunicationServices.json`` says.
Only types some subscription wants are built, so a resource without subscriptions pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchboard.chat.domain_events import (
    ChatActor,
    ChatEvent,
    ChatEventData,
    ChatMessageEvent,
    ChatParticipant,
    MessageDeleted,
    MessageEdited,
    ParticipantsAdded,
    ParticipantsRemoved,
    ThreadCreated,
    ThreadDeleted,
    ThreadPropertiesUpdated,
)
from switchboard.chat.models import ChatEventName
from switchboard.core.clock import iso8601
from switchboard.core.events import IntegrationEvent
from switchboard.http.identifiers import user_identifier_json

PREFIX = "Microsoft.Communication."

# real-time name -> (per-user type, thread-level type)
TYPES: dict[ChatEventName, tuple[str, str]] = {
    ChatEventName.MESSAGE_RECEIVED: ("ChatMessageReceived", "ChatMessageReceivedInThread"),
    ChatEventName.MESSAGE_EDITED: ("ChatMessageEdited", "ChatMessageEditedInThread"),
    ChatEventName.MESSAGE_DELETED: ("ChatMessageDeleted", "ChatMessageDeletedInThread"),
    ChatEventName.THREAD_CREATED: ("ChatThreadCreatedWithUser", "ChatThreadCreated"),
    ChatEventName.THREAD_PROPERTIES_UPDATED: (
        "ChatThreadPropertiesUpdatedPerUser",
        "ChatThreadPropertiesUpdated",
    ),
    ChatEventName.THREAD_DELETED: ("ChatThreadWithUserDeleted", "ChatThreadDeleted"),
    ChatEventName.PARTICIPANTS_ADDED: (
        "ChatParticipantAddedToThreadWithUser",
        "ChatThreadParticipantAdded",
    ),
    ChatEventName.PARTICIPANTS_REMOVED: (
        "ChatParticipantRemovedFromThreadWithUser",
        "ChatThreadParticipantRemoved",
    ),
}


class ChatEventGrid:
    """Implements ``IntegrationEvents`` (chat/changes.py): what a chat event means to Event
    Grid. The change writes the result to the outbox in its own unit of work."""

    def __init__(self, *, wants: Callable[[str], bool] | None = None) -> None:
        self._wants = wants or (lambda _type: True)

    def integration_events(self, event: ChatEvent) -> list[IntegrationEvent]:
        kinds = TYPES.get(event.name)
        if kinds is None:
            return []
        per_user, in_thread = (PREFIX + kind for kind in kinds)
        want_thread, want_user = self._wants(in_thread), self._wants(per_user)
        if not (want_thread or want_user):
            return []
        data = event.data
        time = data.at_ms / 1000
        bodies = _thread_level(data, _subject(event), _body(data))
        out: list[IntegrationEvent] = []
        if want_thread:
            out.extend(
                IntegrationEvent(in_thread, where, {**body, "transactionId": f"{event.seq}"}, time)
                for where, body in bodies
            )
        if want_user:
            for recipient in event.recipients:
                if event.name is ChatEventName.MESSAGE_RECEIVED and recipient == data.actor:
                    continue  # the sender is not notified of its own message
                who = user_identifier_json(recipient)
                out.extend(
                    IntegrationEvent(
                        per_user,
                        f"{where}/recipient/{recipient}",
                        {
                            **body,
                            "recipientCommunicationIdentifier": who,
                            "transactionId": f"{event.seq}.{recipient}",
                        },
                        time,
                    )
                    for where, body in bodies
                )
        return out


def _time(ms: int) -> str:
    return iso8601(ms / 1000)


def _participant(p: ChatParticipant) -> dict[str, Any]:
    return {
        "displayName": p.display_name or "",
        "participantCommunicationIdentifier": user_identifier_json(p.user_id),
        "metadata": {},
    }


_VERBS = {
    ChatEventName.THREAD_CREATED: "createdBy",
    ChatEventName.THREAD_PROPERTIES_UPDATED: "editedBy",
    ChatEventName.THREAD_DELETED: "deletedBy",
    ChatEventName.PARTICIPANTS_ADDED: "addedBy",
    ChatEventName.PARTICIPANTS_REMOVED: "removedBy",
}


def _subject(event: ChatEvent) -> str:
    verb = _VERBS.get(event.name, "sender")
    return f"thread/{event.thread_id}/{verb}/{event.data.actor}"


def _by(actor: ChatActor) -> dict[str, Any]:
    return user_identifier_json(actor.user_id)


def _body(data: ChatEventData) -> dict[str, Any]:
    common: dict[str, Any] = {"threadId": data.thread_id, "version": data.at_ms}
    if isinstance(data, ChatMessageEvent):
        message = data.message
        body = {
            **common,
            "messageId": message.id,
            "senderCommunicationIdentifier": user_identifier_json(message.sender_id),
            "senderDisplayName": message.sender_display_name or "",
            "composeTime": _time(message.created_ms),
            "type": message.type.capitalize(),
        }
        if not isinstance(data, MessageDeleted):
            body["messageBody"] = message.content or ""
            body["metadata"] = dict(message.metadata)
        if isinstance(data, MessageEdited):
            body["editTime"] = None if message.edited_ms is None else _time(message.edited_ms)
        if isinstance(data, MessageDeleted):
            body["deleteTime"] = None if message.deleted_ms is None else _time(message.deleted_ms)
        return body
    if isinstance(data, ThreadCreated):
        return {
            **common,
            "createTime": _time(data.changed_ms),
            "createdByCommunicationIdentifier": _by(data.by),
            "properties": {"topic": data.topic},
            "metadata": dict(data.metadata),
            "participants": [_participant(p) for p in data.participants],
        }
    if isinstance(data, ThreadPropertiesUpdated):
        return {
            **common,
            "editedByCommunicationIdentifier": _by(data.by),
            "editTime": _time(data.changed_ms),
            "properties": {"topic": data.topic},
            "metadata": dict(data.metadata),
        }
    if isinstance(data, ThreadDeleted):
        return {
            **common,
            "deletedByCommunicationIdentifier": _by(data.by),
            "deleteTime": _time(data.changed_ms),
        }
    if isinstance(data, ParticipantsAdded):
        return {
            **common,
            "time": _time(data.changed_ms),
            "addedByCommunicationIdentifier": _by(data.by),
        }
    if isinstance(data, ParticipantsRemoved):
        return {
            **common,
            "time": _time(data.changed_ms),
            "removedByCommunicationIdentifier": _by(data.by),
        }
    return common  # typing and receipts have no Event Grid type (TYPES)


def _thread_level(
    data: ChatEventData, subject: str, body: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """The thread-level events: one, or one per participant added/removed."""
    if isinstance(data, ParticipantsAdded):
        return [(subject, {**body, "participantAdded": _participant(p)}) for p in data.participants]
    if isinstance(data, ParticipantsRemoved):
        return [
            (subject, {**body, "participantRemoved": _participant(p)}) for p in data.participants
        ]
    return [(subject, body)]
