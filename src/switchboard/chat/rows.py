"""Row → model conversion shared by reads and write transactions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from switchboard.chat.models import (
    Message,
    MessageType,
    Participant,
    RetentionKind,
    RetentionPolicy,
    Thread,
)

_decode = msgspec.json.decode
_encode = msgspec.json.encode


def json_column(value: Mapping[str, object] | None) -> str | None:
    """A mapping as a JSON text column; an empty one is stored as NULL (reads back None)."""
    return _encode(dict(value)).decode() if value else None


def retention_column(policy: RetentionPolicy | None) -> str | None:
    if policy is None:
        return None
    stored: dict[str, object] = {"kind": policy.kind.value}
    if policy.delete_after_days is not None:
        stored["deleteThreadAfterDays"] = policy.delete_after_days
    return _encode(stored).decode()


def retention_from_column(raw: str | None) -> RetentionPolicy | None:
    if not raw:
        return None
    stored = _decode(raw)
    return RetentionPolicy(RetentionKind(stored["kind"]), stored.get("deleteThreadAfterDays"))


def thread_from_values(values: Any) -> Thread:
    """From the columns in table order (id … roster_version, metadata, retention, expires_ms)."""
    (id_, topic, created, by, deleted, last, seq, last_id, roster, meta, retention, expires) = (
        tuple(values)
    )
    return Thread(
        id_,
        topic,
        created,
        by,
        deleted,
        last,
        seq,
        last_id,
        roster,
        _decode(meta) if meta else None,
        retention_from_column(retention),
        expires,
    )


def thread_from_row(row: Any) -> Thread:
    return thread_from_values(
        (
            row.id,
            row.topic,
            row.created_ms,
            row.created_by,
            row.deleted_ms,
            row.last_message_ms,
            row.message_seq,
            row.last_message_id_ms,
            row.roster_version,
            row.metadata,
            row.retention,
            row.expires_ms,
        )
    )


def participant_from_values(values: Any) -> Participant:
    """From the columns in table order (thread_id … removed_seq, metadata)."""
    (thread_id, user_id, name, share_ms, added_ms, added_seq, removed_ms, removed_seq, meta) = (
        tuple(values)
    )
    return Participant(
        thread_id,
        user_id,
        name,
        share_ms,
        added_ms,
        added_seq,
        removed_ms,
        removed_seq,
        _decode(meta) if meta else None,
    )


def participant_from_row(row: Any) -> Participant:
    return participant_from_values(
        (
            row.thread_id,
            row.user_id,
            row.display_name,
            row.share_history_ms,
            row.added_ms,
            row.added_seq,
            row.removed_ms,
            row.removed_seq,
            row.metadata,
        )
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
