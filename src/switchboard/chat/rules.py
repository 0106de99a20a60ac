"""Chat limits and input rules (ACS defaults, configurable through ChatLimits)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from switchboard.chat.models import ChatLimits, MessageType, RetentionKind, RetentionPolicy
from switchboard.core.errors import BadRequestError


class ChatRules:
    def __init__(self, limits: ChatLimits) -> None:
        self.limits = limits

    def message_type(self, raw: str) -> MessageType:
        try:
            kind = MessageType(raw.lower())
        except ValueError:
            kind = None
        if kind is None or kind.is_system:
            raise BadRequestError(
                f"Invalid message type '{raw}'; use 'text' or 'html'.", code="InvalidMessageType"
            )
        return kind

    def check_content(self, content: str) -> None:
        size = len(content.encode())
        if size > self.limits.max_message_bytes:
            raise BadRequestError(
                f"The message is {size} bytes; the limit is {self.limits.max_message_bytes}.",
                code="MessageTooLarge",
            )

    def check_metadata(self, metadata: Mapping[str, str] | None) -> None:
        if metadata and len(msgspec.json.encode(dict(metadata))) > self.limits.max_metadata_bytes:
            raise BadRequestError(
                f"Metadata is limited to {self.limits.max_metadata_bytes} bytes.",
                code="MetadataTooLarge",
            )

    def retention_policy(self, kind: str, days: int | None) -> RetentionPolicy:
        """ACS's ChatRetentionPolicy: ``none``, or ``threadCreationDate`` with
        ``deleteThreadAfterDays`` within the configured range (ACS: 30 to 90)."""
        try:
            parsed = RetentionKind(kind)
        except ValueError:
            raise BadRequestError(
                f"Unknown retention policy kind '{kind}'; use 'threadCreationDate' or 'none'.",
                code="InvalidRetentionPolicy",
                target="retentionPolicy.kind",
            ) from None
        if parsed is RetentionKind.NONE:
            return RetentionPolicy(parsed)
        low, high = self.limits.min_retention_days, self.limits.max_retention_days
        if days is None or not low <= days <= high:
            raise BadRequestError(
                f"deleteThreadAfterDays must be between {low} and {high}.",
                code="InvalidRetentionPolicy",
                target="retentionPolicy.deleteThreadAfterDays",
            )
        return RetentionPolicy(parsed, days)

    def check_topic(self, topic: str) -> None:
        if not topic.strip():
            raise BadRequestError("The topic must not be empty.", code="InvalidTopic")
        if len(topic) > self.limits.max_topic_length:
            raise BadRequestError(
                f"The topic is limited to {self.limits.max_topic_length} characters.",
                code="InvalidTopic",
            )

    def check_roster_size(self, count: int) -> None:
        if count > self.limits.max_participants:
            raise BadRequestError(
                f"A thread can have at most {self.limits.max_participants} participants.",
                code="TooManyParticipants",
            )
