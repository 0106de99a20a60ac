"""The chat event stream as the hub reads it to fill a gap left by the bus."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.app import build_node
from switchboard.chat.models import ChatEventName, NewParticipant
from switchboard.chat.sql_store import SqlChatStore
from switchboard.core.config import load_settings, node_config
from switchboard.identity.models import TokenScope

pytestmark = pytest.mark.anyio


async def test_events_read_back_for_a_gap_carry_the_recipients_of_their_time(
    database_url: str, tmp_path: Path
) -> None:
    settings = load_settings({"data_dir": tmp_path, "database_url": database_url}, environ={})
    node = await build_node(node_config(settings))
    try:
        identity = node.identity
        assert identity is not None
        alice, bob = [(await identity.create_identity())[0].id for _ in range(2)]

        token = await identity.issue_token(alice, [TokenScope.CHAT.value])
        as_alice = await identity.authenticate_token(token.token)
        store = SqlChatStore(node.database)
        _, start = await store.stream_bounds()  # PostgreSQL is shared with other tests
        thread, _ = await node.chat.create_thread(as_alice, "gap", [NewParticipant(bob)])
        await node.chat.send_message(as_alice, thread.id, "both", "text", None, None)
        _, last = await store.stream_bounds()
        events = [
            e for e in await store.events_between(start + 1, last) if e.thread_id == thread.id
        ]
        received = [e for e in events if e.name is ChatEventName.MESSAGE_RECEIVED]
        assert received and set(received[-1].recipients) == {alice, bob}
        assert [e.seq for e in events] == sorted(e.seq or 0 for e in events)
        assert events[0].name is ChatEventName.THREAD_CREATED
    finally:
        await node.stop()
