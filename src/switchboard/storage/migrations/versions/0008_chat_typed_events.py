"""Chat event stream: rows hold typed domain events instead of real-time wire JSON.

``chat_events.data`` was the ACS real-time ``data`` object (camelCase, identifier objects, ISO
times); it is now the tagged JSON of chat/domain_events.py (``kind``, raw user ids, epoch
milliseconds). This converts the rows written before, so a client resuming from an old cursor
replays them. The conversion is a frozen copy (no imports of the app: it must keep meaning
what it meant at revision 0008). Downgrade drops the stream's rows instead of converting back:
a client with an older cursor is then told to resync, which is what retention does anyway.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_PAGE = 1000


def _iso(ms: int) -> str:
    """core/clock.py's iso8601 at revision 0008 (it truncates to the millisecond)."""
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _ms(iso: str | None) -> int | None:
    """The millisecond that renders as ``iso`` again (truncation can make it one more)."""
    if not iso:
        return None
    ms = round(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    return ms + 1 if _iso(ms) != iso and _iso(ms + 1) == iso else ms


def _raw_id(identifier: Any) -> str:
    if isinstance(identifier, dict):
        if isinstance(identifier.get("rawId"), str):
            return str(identifier["rawId"])
        user = identifier.get("communicationUser")
        if isinstance(user, dict) and isinstance(user.get("id"), str):
            return str(user["id"])
    return ""


def _participant(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": _raw_id(p.get("id")),
        "display_name": p.get("displayName"),
        "share_history_ms": _ms(p.get("shareHistoryTime")) or 0,
    }


def _actor(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": _raw_id(p.get("id")),
        "display_name": p.get("displayName"),
        "share_history_ms": _ms(p.get("shareHistoryTime")),
    }


def typed(name: str, wire: dict[str, Any]) -> dict[str, Any]:
    """One stored event in the new shape (``name`` is its chat_events.name)."""
    out: dict[str, Any] = {"kind": name, "thread_id": wire["threadId"]}
    if name in ("chatMessageReceived", "chatMessageEdited", "chatMessageDeleted"):
        out["message"] = {
            "id": wire["id"],
            "type": wire.get("type", "text"),
            "sender_id": _raw_id(wire.get("sender")),
            "sender_display_name": wire.get("senderDisplayName"),
            "created_ms": _ms(wire["createdOn"]),
            "version_ms": int(wire["version"]),
            "content": wire.get("message"),
            "metadata": wire.get("metadata") or {},
            "edited_ms": _ms(wire.get("editedOn")),
            "deleted_ms": _ms(wire.get("deletedOn")),
        }
        return out
    if name == "readReceiptReceived":
        out.update(
            sender_id=_raw_id(wire.get("sender")),
            sender_display_name=wire.get("senderDisplayName"),
            message_id=wire["chatMessageId"],
            read_ms=_ms(wire["readOn"]),
        )
        return out
    by_key, extra = {
        "chatThreadCreated": ("createdBy", "participants"),
        "chatThreadPropertiesUpdated": ("updatedBy", None),
        "chatThreadDeleted": ("deletedBy", None),
        "participantsAdded": ("addedBy", "participantsAdded"),
        "participantsRemoved": ("removedBy", "participantsRemoved"),
    }[name]
    out["by"] = _actor(wire.get(by_key) or {})
    out["changed_ms"] = int(wire["version"])
    if name in ("chatThreadCreated", "chatThreadPropertiesUpdated"):
        out["topic"] = (wire.get("properties") or {}).get("topic", "")
    if extra is not None:
        out["participants"] = [_participant(p) for p in wire.get(extra) or []]
    return out


def upgrade() -> None:
    conn = op.get_bind()
    events = sa.table(
        "chat_events", sa.column("seq", sa.BigInteger), sa.column("name"), sa.column("data")
    )
    after = -1
    while True:
        rows = conn.execute(
            sa.select(events.c.seq, events.c.name, events.c.data)
            .where(events.c.seq > after)
            .order_by(events.c.seq)
            .limit(_PAGE)
        ).all()
        for seq, name, data in rows:
            wire = json.loads(data)
            if "kind" in wire:
                continue  # already typed
            conn.execute(
                events.update()
                .where(events.c.seq == seq)
                .values(data=json.dumps(typed(name, wire), separators=(",", ":")))
            )
        if len(rows) < _PAGE:
            return
        after = rows[-1][0]


def downgrade() -> None:
    op.execute("DELETE FROM chat_events")
