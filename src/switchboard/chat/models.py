"""Chat domain model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class MessageType(StrEnum):
    TEXT = "text"
    HTML = "html"
    TOPIC_UPDATED = "topicUpdated"
    PARTICIPANT_ADDED = "participantAdded"
    PARTICIPANT_REMOVED = "participantRemoved"

    @property
    def is_system(self) -> bool:
        return self not in (MessageType.TEXT, MessageType.HTML)


class ChatEventName(StrEnum):
    """Real-time event names, as the ACS JavaScript chat SDK names them."""

    MESSAGE_RECEIVED = "chatMessageReceived"
    MESSAGE_EDITED = "chatMessageEdited"
    MESSAGE_DELETED = "chatMessageDeleted"
    TYPING_INDICATOR_RECEIVED = "typingIndicatorReceived"
    READ_RECEIPT_RECEIVED = "readReceiptReceived"
    THREAD_CREATED = "chatThreadCreated"
    THREAD_PROPERTIES_UPDATED = "chatThreadPropertiesUpdated"
    THREAD_DELETED = "chatThreadDeleted"
    PARTICIPANTS_ADDED = "participantsAdded"
    PARTICIPANTS_REMOVED = "participantsRemoved"


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """ACS defaults; all configurable."""

    max_message_bytes: int = 28 * 1024
    max_participants: int = 250
    max_participants_per_add: int = 200
    max_participants_for_receipts_and_typing: int = 20
    max_topic_length: int = 256
    max_metadata_bytes: int = 1024
    # A thread's retention policy deletes it this many days after its creation (ACS: 30-90).
    min_retention_days: int = 30
    max_retention_days: int = 90


class RetentionKind(StrEnum):
    """ACS's ChatRetentionPolicy kinds (chat 2024-06-05-preview and 2025-03-15)."""

    NONE = "none"
    THREAD_CREATION_DATE = "threadCreationDate"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """When a thread is deleted on its own: ``delete_after_days`` after its creation."""

    kind: RetentionKind
    delete_after_days: int | None = None

    def expires_ms(self, created_ms: int) -> int | None:
        if self.kind is not RetentionKind.THREAD_CREATION_DATE or self.delete_after_days is None:
            return None
        return created_ms + self.delete_after_days * 86_400_000


@dataclass(frozen=True, slots=True)
class NewParticipant:
    user_id: str
    display_name: str | None = None
    share_history_ms: int | None = None
    metadata: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Participant:
    thread_id: str
    user_id: str
    display_name: str | None
    share_history_ms: int
    added_ms: int
    added_seq: int
    removed_ms: int | None = None
    removed_seq: int | None = None
    metadata: Mapping[str, str] | None = None

    @property
    def is_active(self) -> bool:
        return self.removed_seq is None

    def can_see(self, created_ms: int) -> bool:
        """History rule: from shareHistoryTime, and never after removal."""
        if created_ms < self.share_history_ms:
            return False
        return self.removed_ms is None or created_ms <= self.removed_ms


@dataclass(frozen=True, slots=True)
class Thread:
    id: str
    topic: str
    created_ms: int
    created_by: str
    deleted_ms: int | None = None
    last_message_ms: int | None = None
    message_seq: int = 0
    last_message_id_ms: int = 0
    roster_version: int = 0
    metadata: Mapping[str, str] | None = None
    retention: RetentionPolicy | None = None
    # When the retention sweeper deletes it (from ``retention``); None: never.
    expires_ms: int | None = None

    def updated(
        self,
        *,
        topic: str | None = None,
        deleted_ms: int | None = None,
        metadata: Mapping[str, str] | None = None,
        retention: RetentionPolicy | None = None,
    ) -> Thread:
        """This thread with the given fields replaced (None: kept); ``expires_ms`` follows
        the retention policy."""
        thread = self
        if topic is not None:
            thread = replace(thread, topic=topic)
        if deleted_ms is not None:
            thread = replace(thread, deleted_ms=deleted_ms)
        if metadata is not None:
            thread = replace(thread, metadata=dict(metadata) or None)
        if retention is not None:
            thread = replace(
                thread, retention=retention, expires_ms=retention.expires_ms(self.created_ms)
            )
        return thread


@dataclass(frozen=True, slots=True)
class Message:
    thread_id: str
    id: str
    sequence_id: int
    type: MessageType
    created_ms: int
    version_ms: int
    content: str | None = None
    sender_id: str | None = None
    sender_display_name: str | None = None
    edited_ms: int | None = None
    deleted_ms: int | None = None
    metadata: Mapping[str, str] | None = None
    # System messages: topic, participants, initiator.
    system: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    thread_id: str
    user_id: str
    message_id: str
    read_ms: int
