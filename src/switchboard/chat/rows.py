"""Row → model conversion shared by reads and write transactions."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.chat.models import Message, MessageType, Participant, Thread

_decode = msgspec.json.decode


def thread_from_row(row: Any) -> Thread:
    return Thread(
        row.id,
        row.topic,
        row.created_ms,
        row.created_by,
        row.deleted_ms,
        row.last_message_ms,
        row.message_seq,
        row.last_message_id_ms,
        row.roster_version,
    )


def participant_from_row(row: Any) -> Participant:
    return Participant(
        row.thread_id,
        row.user_id,
        row.display_name,
        row.share_history_ms,
        row.added_ms,
        row.added_seq,
        row.removed_ms,
        row.removed_seq,
    )


def message_from_row(row: Any) -> Message:
    return Message(
        row.thread_id,
        row.id,
        row.sequence_id,
        MessageType(row.type),
        row.created_ms,
        row.version_ms,
        row.content,
        row.sender_id,
        row.sender_display_name,
        row.edited_ms,
        row.deleted_ms,
        _decode(row.metadata) if row.metadata else None,
        _decode(row.system) if row.system else None,
    )
