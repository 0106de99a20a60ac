"""Chat domain events: what happened, typed (a msgspec tagged union), rendered by each channel.

    ChatService ─ ChatEvent(seq, data: ChatEventData) ─┬─ encoded once ─▶ chat_events row, bus
                                                       ├─ chat/event_schemas.py ─▶ WebSocket frame
                                                       └─ chat/eventgrid.py ─▶ Event Grid events

The data is stored and carried as the tagged JSON of these Structs (tag ``kind`` = the ACS
real-time event name); user ids are raw ids and times epoch milliseconds, so no channel
re-parses another's wire shape. Migration 0008 converted the rows written before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import msgspec

from switchboard.chat.models import ChatEventName, Message, Participant


class ChatParticipant(msgspec.Struct, frozen=True):
    user_id: str
    display_name: str | None
    share_history_ms: int

    @classmethod
    def of(cls, participant: Participant) -> ChatParticipant:
        return cls(participant.user_id, participant.display_name, participant.share_history_ms)


class ChatActor(msgspec.Struct, frozen=True):
    """Who did it; ``share_history_ms`` is None when they were not a participant."""

    user_id: str
    display_name: str | None = None
    share_history_ms: int | None = None

    @classmethod
    def among(cls, user_id: str, participants: Sequence[Participant]) -> ChatActor:
        for p in participants:
            if p.user_id == user_id:
                return cls(user_id, p.display_name, p.share_history_ms)
        return cls(user_id)


class ChatMessageFacts(msgspec.Struct, frozen=True):
    id: str
    type: str
    sender_id: str
    sender_display_name: str | None
    created_ms: int
    version_ms: int
    content: str | None = None
    metadata: dict[str, str] = {}
    edited_ms: int | None = None
    deleted_ms: int | None = None

    @classmethod
    def of(cls, message: Message) -> ChatMessageFacts:
        return cls(
            message.id,
            message.type.value,
            message.sender_id or "",
            message.sender_display_name,
            message.created_ms,
            message.version_ms,
            message.content,
            dict(message.metadata or {}),
            message.edited_ms,
            message.deleted_ms,
        )


class _Event(msgspec.Struct, frozen=True, tag_field="kind"):
    name: ClassVar[ChatEventName]
    thread_id: str

    @property
    def actor(self) -> str:
        """The raw id of who caused it."""
        raise NotImplementedError

    @property
    def at_ms(self) -> int:
        """When it happened (the ``version`` of the ACS event)."""
        raise NotImplementedError


class ChatMessageEvent(_Event, frozen=True):
    message: ChatMessageFacts

    @property
    def actor(self) -> str:
        return self.message.sender_id

    @property
    def at_ms(self) -> int:
        return self.message.version_ms


class MessageReceived(ChatMessageEvent, frozen=True, tag=ChatEventName.MESSAGE_RECEIVED.value):
    name = ChatEventName.MESSAGE_RECEIVED


class MessageEdited(ChatMessageEvent, frozen=True, tag=ChatEventName.MESSAGE_EDITED.value):
    name = ChatEventName.MESSAGE_EDITED


class MessageDeleted(ChatMessageEvent, frozen=True, tag=ChatEventName.MESSAGE_DELETED.value):
    name = ChatEventName.MESSAGE_DELETED


class TypingIndicatorReceived(
    _Event, frozen=True, tag=ChatEventName.TYPING_INDICATOR_RECEIVED.value
):
    name = ChatEventName.TYPING_INDICATOR_RECEIVED
    sender_id: str
    sender_display_name: str | None
    typed_ms: int

    @property
    def actor(self) -> str:
        return self.sender_id

    @property
    def at_ms(self) -> int:
        return self.typed_ms


class ReadReceiptReceived(_Event, frozen=True, tag=ChatEventName.READ_RECEIPT_RECEIVED.value):
    name = ChatEventName.READ_RECEIPT_RECEIVED
    sender_id: str
    sender_display_name: str | None
    message_id: str
    read_ms: int

    @property
    def actor(self) -> str:
        return self.sender_id

    @property
    def at_ms(self) -> int:
        return self.read_ms


class _ThreadEvent(_Event, frozen=True):
    by: ChatActor
    changed_ms: int

    @property
    def actor(self) -> str:
        return self.by.user_id

    @property
    def at_ms(self) -> int:
        return self.changed_ms


class ThreadCreated(_ThreadEvent, frozen=True, tag=ChatEventName.THREAD_CREATED.value):
    name = ChatEventName.THREAD_CREATED
    topic: str
    participants: tuple[ChatParticipant, ...]
    metadata: dict[str, str] = {}  # the thread's (chat 2025-03-15)


class ThreadPropertiesUpdated(
    _ThreadEvent, frozen=True, tag=ChatEventName.THREAD_PROPERTIES_UPDATED.value
):
    name = ChatEventName.THREAD_PROPERTIES_UPDATED
    topic: str
    metadata: dict[str, str] = {}  # the thread's whole metadata after the change


class ThreadDeleted(_ThreadEvent, frozen=True, tag=ChatEventName.THREAD_DELETED.value):
    name = ChatEventName.THREAD_DELETED


class ParticipantsAdded(_ThreadEvent, frozen=True, tag=ChatEventName.PARTICIPANTS_ADDED.value):
    name = ChatEventName.PARTICIPANTS_ADDED
    participants: tuple[ChatParticipant, ...]


class ParticipantsRemoved(_ThreadEvent, frozen=True, tag=ChatEventName.PARTICIPANTS_REMOVED.value):
    name = ChatEventName.PARTICIPANTS_REMOVED
    participants: tuple[ChatParticipant, ...]


ChatEventData = (
    MessageReceived
    | MessageEdited
    | MessageDeleted
    | TypingIndicatorReceived
    | ReadReceiptReceived
    | ThreadCreated
    | ThreadPropertiesUpdated
    | ThreadDeleted
    | ParticipantsAdded
    | ParticipantsRemoved
)

encode_data = msgspec.json.Encoder().encode
decode_data = msgspec.json.Decoder(ChatEventData).decode


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One entry of the chat event stream. ``seq`` is the global cursor (None = ephemeral)."""

    seq: int | None
    data: ChatEventData
    recipients: tuple[str, ...] = field(default=())
    # ``data`` as stored and carried on the bus: encoded once, when the event is made.
    encoded: bytes = field(default=b"", compare=False, repr=False)
    # The WebSocket frame up to the recipient, rendered once per event by the hub so fan-out
    # to many sockets does not re-render the same data (see chat/realtime.py).
    frame_head: bytes = field(default=b"", compare=False, repr=False)

    @property
    def thread_id(self) -> str:
        return self.data.thread_id

    @property
    def name(self) -> ChatEventName:
        return self.data.name

    @classmethod
    def made(cls, seq: int | None, data: ChatEventData, recipients: tuple[str, ...]) -> ChatEvent:
        return cls(seq, data, recipients, encode_data(data))
