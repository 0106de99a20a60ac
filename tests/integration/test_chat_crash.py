"""Chat survives a ``kill -9`` mid-stream (issue 13), on SQLite and on PostgreSQL.

    writers (official SDK, concurrent) ──send──▶ server ──events──▶ ChatEvents (listening)
                    SIGKILL after some sends were acknowledged, while others are in flight
    writers go on ──▶ same server restarted (same DB, port) ◀── ChatEvents resumes by cursor

Every acknowledged send (201 + id) is listed after the restart; a send that failed is listed
at most once; the listener got each listed message exactly once, in order, with no gap.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from azure.communication.chat import ChatMessageType, ChatParticipant

from switchboard.client import Backoff, ChatEvent, ChatEvents
from tests.integration.chat_clients import ChatUsers
from tests.integration.server import start_server

pytestmark = pytest.mark.anyio

WRITERS = 4
ACKED_PER_WRITER = 25  # each writer goes on until this many of its sends were acknowledged
KILL_AFTER = 40  # acknowledged sends (of all writers) before the SIGKILL
SENTINEL = "sentinel"  # sent once the writers are done; the listener stops at it


@dataclass
class Sends:
    acked: dict[str, str] = field(default_factory=dict)  # content -> message id
    failed: set[str] = field(default_factory=set)  # contents whose send raised
    enough_for_the_kill: asyncio.Event = field(default_factory=asyncio.Event)


async def write(users: ChatUsers, token: str, thread_id: str, writer: int, sends: Sends) -> None:
    async with users.async_thread_client(token, thread_id) as thread:
        attempt, acked = 0, 0
        while acked < ACKED_PER_WRITER:
            content = f"w{writer}-{attempt}"
            attempt += 1
            try:
                result = await thread.send_message(content, sender_display_name=f"W{writer}")
            except Exception:  # the server is down or died mid-request: not acknowledged
                sends.failed.add(content)
                await asyncio.sleep(0.2)
                continue
            sends.acked[content] = result.id
            acked += 1
            if len(sends.acked) >= KILL_AFTER:
                sends.enough_for_the_kill.set()


async def listen(events: ChatEvents, thread_id: str, received: list[ChatEvent]) -> None:
    """Collect the thread's messages up to the sentinel. The stream is in commit order, so
    the sentinel, sent after everything else, comes after all there will ever be."""
    async for event in events:
        assert isinstance(event, ChatEvent), event  # a Resync would mean events were lost
        if event.name == "chatMessageReceived" and event.thread_id == thread_id:
            if event.data["message"] == SENTINEL:
                return
            received.append(event)


async def test_acknowledged_messages_survive_kill_9_and_reach_the_resuming_listener_once(
    tmp_path: Path, database_args: tuple[str, ...]
) -> None:
    server = await asyncio.to_thread(start_server, tmp_path, *database_args)
    try:
        users = ChatUsers(server)
        (reader, reader_token), (_, writer_token) = users.new(), users.new()
        async with users.async_client(writer_token) as chat:
            created = await chat.create_chat_thread(
                "crash", thread_participants=[ChatParticipant(identifier=reader)]
            )
        thread_id = str(created.chat_thread.id)

        received: list[ChatEvent] = []
        sends = Sends()
        events = ChatEvents(
            server.endpoint,
            reader_token,
            cursor="0",
            ssl=server.ca_path,
            backoff=Backoff(0.05, 0.5),
        )
        async with events, asyncio.TaskGroup() as group:
            listener = group.create_task(listen(events, thread_id, received))
            writers = [
                group.create_task(write(users, writer_token, thread_id, n, sends))
                for n in range(WRITERS)
            ]
            await sends.enough_for_the_kill.wait()
            server = await asyncio.to_thread(server.crash_and_restart)
            assert received, "the listener got nothing before the crash: no resumption tested"
            await asyncio.gather(*writers)
            async with users.async_thread_client(writer_token, thread_id) as thread:
                await thread.send_message(SENTINEL)
                async with asyncio.timeout(15):
                    await listener
                listed = [
                    m
                    async for m in thread.list_messages()
                    if m.type == ChatMessageType.TEXT and m.content.message != SENTINEL
                ]
    finally:
        assert server.stop() == 0, "\n".join(server.output)

    listed.sort(key=lambda m: int(m.sequence_id))
    contents = [m.content.message for m in listed]
    assert len(contents) == len(set(contents)), "a message is stored twice"
    by_content = {m.content.message: m.id for m in listed}
    lost = {c for c in sends.acked if c not in by_content}
    assert not lost, f"acknowledged but not stored: {sorted(lost)}"
    assert {c: by_content[c] for c in sends.acked} == sends.acked
    assert set(by_content) <= set(sends.acked) | sends.failed
    # The listener: every stored message once, in the stream's order, nothing else.
    assert [e.data["id"] for e in received] == [m.id for m in listed]
