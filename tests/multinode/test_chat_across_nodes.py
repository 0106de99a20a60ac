"""Chat events fan out across nodes: two processes sharing PostgreSQL + Redis (docs/realtime.md)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from azure.communication.chat import ChatParticipant

from switchboard.client import ChatEvent, ChatEvents
from tests.integration.chat_clients import ChatUsers
from tests.integration.server import RunningServer

pytestmark = pytest.mark.anyio

Nodes = tuple[RunningServer, RunningServer]
BURST = 25  # messages per sender


async def collect(events: ChatEvents, count: int, arrivals: dict[str, float]) -> list[ChatEvent]:
    got: list[ChatEvent] = []
    async with asyncio.timeout(30):
        while len(got) < count:
            item = await anext(events)
            assert isinstance(item, ChatEvent), item
            got.append(item)
            if item.name == "chatMessageReceived":
                arrivals.setdefault(item.data["message"], time.monotonic())
    return got


async def send_burst(
    users: ChatUsers, token: str, thread_id: str, prefix: str, sent_at: dict[str, float]
) -> None:
    async with users.async_thread_client(token, thread_id) as thread:
        for i in range(BURST):
            content = f"{prefix}{i}"
            sent_at[content] = time.monotonic()
            await thread.send_message(content)
            await asyncio.sleep(random.uniform(0, 0.01))  # interleave the two senders


async def test_messages_sent_through_both_nodes_reach_clients_on_each_in_order(
    two_nodes: Nodes,
) -> None:
    node_a, node_b = two_nodes
    on_a, on_b = ChatUsers(node_a), ChatUsers(node_b)
    _, alice_token = on_a.new()
    bob, bob_token = on_a.new()
    carol, carol_token = on_a.new()
    async with on_a.async_client(alice_token) as chat:
        created = await chat.create_chat_thread(
            "across", thread_participants=[ChatParticipant(identifier=u) for u in (bob, carol)]
        )
    thread_id = created.chat_thread.id
    sent_at: dict[str, float] = {}
    arrivals_b: dict[str, float] = {}
    arrivals_a: dict[str, float] = {}
    async with (
        ChatEvents(node_b.endpoint, carol_token, cursor="0", ssl=node_b.ca_path) as listener_b,
        ChatEvents(node_a.endpoint, bob_token, cursor="0", ssl=node_a.ca_path) as listener_a,
    ):
        [created_b] = await collect(listener_b, 1, arrivals_b)
        [created_a] = await collect(listener_a, 1, arrivals_a)
        assert created_a.name == created_b.name == "chatThreadCreated"
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(send_burst(on_a, alice_token, thread_id, "a", sent_at))
            tasks.create_task(send_burst(on_b, bob_token, thread_id, "b", sent_at))
            received_b = tasks.create_task(collect(listener_b, 2 * BURST, arrivals_b))
            received_a = tasks.create_task(collect(listener_a, 2 * BURST, arrivals_a))
    on_b_node = received_b.result()
    on_a_node = received_a.result()

    contents = [e.data["message"] for e in on_b_node]
    assert sorted(contents) == sorted(sent_at)  # every message, none twice
    assert [c for c in contents if c[0] == "a"] == [f"a{i}" for i in range(BURST)]
    assert [c for c in contents if c[0] == "b"] == [f"b{i}" for i in range(BURST)]
    assert {c[0] for c in contents[: BURST + 1]} == {"a", "b"}  # really interleaved
    cursors = [int(e.cursor or 0) for e in on_b_node]
    assert cursors == sorted(set(cursors))
    # Both nodes deliver the same stream, in the order the thread sequenced the messages.
    assert [(e.cursor, e.data["id"]) for e in on_a_node] == [
        (e.cursor, e.data["id"]) for e in on_b_node
    ]
    async with on_a.async_thread_client(alice_token, thread_id) as thread:
        by_sequence = sorted(
            [m async for m in thread.list_messages() if m.type == "text"],
            key=lambda m: int(m.sequence_id),
        )
    assert [m.id for m in by_sequence] == [e.data["id"] for e in on_b_node]
    # In real time: each message reached node B's client soon after it was sent.
    delays = [arrivals_b[c] - sent_at[c] for c in sent_at]
    assert max(delays) < 2.0, sorted(delays)[-5:]
