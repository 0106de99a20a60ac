"""Migration 0008: chat events stored as wire JSON by the old code replay unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from switchboard.chat.event_schemas import wire_data
from switchboard.chat.sql_store import SqlChatStore
from switchboard.storage import Database
from switchboard.storage.database import _MIGRATIONS

pytestmark = pytest.mark.anyio

ALICE = "8:acs:00000000-0000-0000-0000-000000000001_00000001-0000-0000-0000-000000000001"
BOB = "8:acs:00000000-0000-0000-0000-000000000001_00000001-0000-0000-0000-000000000002"
THREAD = "19:0123456789abcdef0123456789abcdef@thread.v2"


def ident(raw: str) -> dict[str, Any]:
    return {"rawId": raw, "kind": "communicationUser", "communicationUser": {"id": raw}}


def member(raw: str, name: str | None) -> dict[str, Any]:
    return {"id": ident(raw), "displayName": name, "shareHistoryTime": "1970-01-01T00:00:00.000Z"}


# What the old code stored (chat/event_schemas.py before the typed events), one of each kind.
OLD = [
    (
        "chatThreadCreated",
        {
            "threadId": THREAD,
            "version": "1765100024123",
            "createdOn": "2025-12-07T09:33:44.123Z",
            "properties": {"topic": "plans"},
            "participants": [member(ALICE, None), member(BOB, "Bob")],
            "createdBy": member(ALICE, None),
        },
    ),
    (
        "chatMessageReceived",
        {
            "threadId": THREAD,
            "sender": ident(ALICE),
            "senderDisplayName": "",
            "id": "1765100024200",
            "createdOn": "2025-12-07T09:33:44.199Z",
            "version": "1765100024200",
            "type": "text",
            "message": "hello",
            "metadata": {"k": "v"},
        },
    ),
    (
        "chatMessageEdited",
        {
            "threadId": THREAD,
            "sender": ident(ALICE),
            "senderDisplayName": "Alice",
            "id": "1765100024200",
            "createdOn": "2025-12-07T09:33:44.199Z",
            "version": "1765100025001",
            "type": "text",
            "message": "hello!",
            "metadata": {},
            "editedOn": "2025-12-07T09:33:45.001Z",
        },
    ),
    (
        "chatMessageDeleted",
        {
            "threadId": THREAD,
            "sender": ident(ALICE),
            "senderDisplayName": "",
            "id": "1765100024200",
            "createdOn": "2025-12-07T09:33:44.199Z",
            "version": "1765100026000",
            "type": "text",
            "deletedOn": "2025-12-07T09:33:46.000Z",
        },
    ),
    (
        "readReceiptReceived",
        {
            "threadId": THREAD,
            "sender": ident(BOB),
            "senderDisplayName": "Bob",
            "chatMessageId": "1765100024200",
            "readOn": "2025-12-07T09:33:47.007Z",
        },
    ),
    (
        "chatThreadPropertiesUpdated",
        {
            "threadId": THREAD,
            "version": "1765100028000",
            "properties": {"topic": "new"},
            "updatedOn": "2025-12-07T09:33:48.000Z",
            "updatedBy": {"id": ident(BOB), "displayName": None},  # no longer a participant
        },
    ),
    (
        "participantsRemoved",
        {
            "threadId": THREAD,
            "version": "1765100029000",
            "removedOn": "2025-12-07T09:33:49.000Z",
            "participantsRemoved": [member(BOB, "Bob")],
            "removedBy": member(ALICE, None),
        },
    ),
]


def upgrade(connection: Connection, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, target)


async def test_events_stored_by_the_old_code_render_as_they_did(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with database.engine.connect() as conn:
        await conn.run_sync(upgrade, "0007")
        for seq, (name, data) in enumerate(OLD, start=1):
            await conn.execute(
                sa.text(
                    "INSERT INTO chat_events (seq, thread_id, name, data, created_ms)"
                    " VALUES (:seq, :thread, :name, :data, 0)"
                ),
                {"seq": seq, "thread": THREAD, "name": name, "data": json.dumps(data)},
            )
        await conn.execute(sa.text("UPDATE chat_stream SET last_seq = :n"), {"n": len(OLD)})
        await conn.commit()
    await database.start()  # upgrades to head
    try:
        replayed = await SqlChatStore(database).events_between(1, len(OLD))
    finally:
        await database.stop()

    assert [e.name.value for e in replayed] == [name for name, _ in OLD]
    for event, (_, data) in zip(replayed, OLD, strict=True):
        assert wire_data(event.data) == data
