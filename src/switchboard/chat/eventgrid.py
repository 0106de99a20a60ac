"""Chat events as Event Grid events (``Microsoft.Communication.Chat*``), written to the outbox
in the unit of work that made the change (chat/changes.py).

Each real-time chat event maps to one thread-level event (``…InThread``, ``ChatThreadCreated``
…) and one per-user event for each recipient (``ChatMessageReceived``,
``ChatThreadCreatedWithUser`` …), shaped as ``events/AzureCommunicationServices.json`` says.
Only types some subscription wants are built, so a resource without subscriptions pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from switchboard.chat.models import ChatEvent, ChatEventName
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
        time = _epoch(event.data)
        subject = _subject(event)
        bodies = _thread_level(event, subject, _body(event))
        out: list[IntegrationEvent] = []
        if self._wants(in_thread):
            out.extend(
                IntegrationEvent(in_thread, where, {**body, "transactionId": f"{event.seq}"}, time)
                for where, body in bodies
            )
        if self._wants(per_user):
            sender = _actor_raw_id(event)
            for recipient in event.recipients:
                if event.name is ChatEventName.MESSAGE_RECEIVED and recipient == sender:
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


def _epoch(data: Mapping[str, Any]) -> float:
    version = data.get("version")
    return int(version) / 1000 if isinstance(version, str) and version.isdigit() else 0.0


def _participant(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "displayName": p.get("displayName") or "",
        "participantCommunicationIdentifier": p.get("id"),
        "metadata": {},
    }


def _actor_raw_id(event: ChatEvent) -> str:
    data = event.data
    for key in ("sender", "createdBy", "updatedBy", "deletedBy", "addedBy", "removedBy"):
        actor = data.get(key)
        if isinstance(actor, Mapping):
            identifier = actor.get("id", actor)
            if isinstance(identifier, Mapping) and isinstance(identifier.get("rawId"), str):
                return str(identifier["rawId"])
    return ""


def _subject(event: ChatEvent) -> str:
    thread = f"thread/{event.thread_id}"
    actor = _actor_raw_id(event)
    verb = {
        ChatEventName.THREAD_CREATED: "createdBy",
        ChatEventName.THREAD_PROPERTIES_UPDATED: "editedBy",
        ChatEventName.THREAD_DELETED: "deletedBy",
        ChatEventName.PARTICIPANTS_ADDED: "addedBy",
        ChatEventName.PARTICIPANTS_REMOVED: "removedBy",
    }.get(event.name, "sender")
    return f"{thread}/{verb}/{actor}"


def _body(event: ChatEvent) -> dict[str, Any]:
    data = event.data
    version = int(data["version"]) if str(data.get("version", "")).isdigit() else 0
    common: dict[str, Any] = {"threadId": event.thread_id, "version": version}
    name = event.name
    if name in (
        ChatEventName.MESSAGE_RECEIVED,
        ChatEventName.MESSAGE_EDITED,
        ChatEventName.MESSAGE_DELETED,
    ):
        body = {
            **common,
            "messageId": data["id"],
            "senderCommunicationIdentifier": data["sender"],
            "senderDisplayName": data.get("senderDisplayName", ""),
            "composeTime": data["createdOn"],
            "type": str(data.get("type", "text")).capitalize(),
        }
        if name is not ChatEventName.MESSAGE_DELETED:
            body["messageBody"] = data.get("message", "")
            body["metadata"] = data.get("metadata", {})
        if name is ChatEventName.MESSAGE_EDITED:
            body["editTime"] = data.get("editedOn")
        if name is ChatEventName.MESSAGE_DELETED:
            body["deleteTime"] = data.get("deletedOn")
        return body
    if name is ChatEventName.THREAD_CREATED:
        return {
            **common,
            "createTime": data["createdOn"],
            "createdByCommunicationIdentifier": data["createdBy"]["id"],
            "properties": data.get("properties", {}),
            "metadata": {},
            "participants": [_participant(p) for p in data.get("participants", [])],
        }
    if name is ChatEventName.THREAD_PROPERTIES_UPDATED:
        return {
            **common,
            "editedByCommunicationIdentifier": data["updatedBy"]["id"],
            "editTime": data["updatedOn"],
            "properties": data.get("properties", {}),
            "metadata": {},
        }
    if name is ChatEventName.THREAD_DELETED:
        return {
            **common,
            "deletedByCommunicationIdentifier": data["deletedBy"]["id"],
            "deleteTime": data["deletedOn"],
        }
    if name is ChatEventName.PARTICIPANTS_ADDED:
        return {
            **common,
            "time": data["addedOn"],
            "addedByCommunicationIdentifier": data["addedBy"]["id"],
        }
    return {
        **common,
        "time": data["removedOn"],
        "removedByCommunicationIdentifier": data["removedBy"]["id"],
    }


def _thread_level(
    event: ChatEvent, subject: str, body: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """The thread-level events: one, or one per participant added/removed."""
    if event.name is ChatEventName.PARTICIPANTS_ADDED:
        return [
            (subject, {**body, "participantAdded": _participant(p)})
            for p in event.data.get("participantsAdded", [])
        ]
    if event.name is ChatEventName.PARTICIPANTS_REMOVED:
        return [
            (subject, {**body, "participantRemoved": _participant(p)})
            for p in event.data.get("participantsRemoved", [])
        ]
    return [(subject, body)]
