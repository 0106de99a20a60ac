"""ACS's chat real-time channel (docs/trouter.md) across two nodes sharing PostgreSQL + Redis:
a trouter client on node B gets, in order, what users change through node A."""

from __future__ import annotations

import ssl

import httpx
import pytest
from azure.communication.chat import ChatParticipant

from tests.integration.chat_clients import ChatUsers
from tests.integration.server import RunningServer
from tests.integration.trouter_client import TrouterConnection

pytestmark = pytest.mark.anyio

MESSAGES = 10


def http_to(node: RunningServer) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=node.ca_path)
    return httpx.AsyncClient(base_url=node.endpoint, verify=context)


async def test_a_trouter_client_on_one_node_gets_the_other_nodes_changes_in_order(
    two_nodes: tuple[RunningServer, RunningServer],
) -> None:
    node_a, node_b = two_nodes
    on_a = ChatUsers(node_a)  # users made, and changes sent, through node A
    bob, bob_token = on_a.new()
    _, alice_token = on_a.new()
    async with http_to(node_b) as http_b:
        bob_on_b = TrouterConnection(node_b, http_b, bob_token)
        await bob_on_b.open("bob")
        async with on_a.async_client(alice_token) as alice:
            created = await alice.create_chat_thread(
                "across", thread_participants=[ChatParticipant(identifier=bob)]
            )
        assert created.chat_thread is not None
        async with on_a.async_thread_client(alice_token, created.chat_thread.id) as thread:
            for i in range(MESSAGES):
                await thread.send_message(f"m{i}")
        requests = [await bob_on_b.request() for _ in range(MESSAGES + 1)]
        await bob_on_b.socket.close()
    assert requests[0]["payload"]["eventId"] == 257
    assert [r["payload"]["messageBody"] for r in requests[1:]] == [f"m{i}" for i in range(MESSAGES)]


async def test_a_client_that_reconnects_to_the_other_node_resumes_where_it_left_off(
    two_nodes: tuple[RunningServer, RunningServer],
) -> None:
    node_a, node_b = two_nodes
    on_a = ChatUsers(node_a)
    bob, bob_token = on_a.new()
    _, alice_token = on_a.new()
    async with (
        http_to(node_a) as http_a,
        http_to(node_b) as http_b,
        on_a.async_client(alice_token) as alice,
    ):
        bob_on_a = TrouterConnection(node_a, http_a, bob_token)
        await bob_on_a.open("bob-moves")
        created = await alice.create_chat_thread(
            "moving", thread_participants=[ChatParticipant(identifier=bob)]
        )
        assert created.chat_thread is not None
        async with on_a.async_thread_client(alice_token, created.chat_thread.id) as thread:
            await bob_on_a.answer(await bob_on_a.request())  # the thread's creation
            await thread.send_message("answered")
            await bob_on_a.answer(await bob_on_a.request())
            await thread.send_message("unanswered")
            assert (await bob_on_a.request())["payload"]["messageBody"] == "unanswered"
            await bob_on_a.socket.close()  # node A tells every node where bob stopped
            await thread.send_message("while away")

            bob_on_b = TrouterConnection(node_b, http_b, bob_token)
            await bob_on_b.open("bob-moves")
            resumed = [await bob_on_b.request(), await bob_on_b.request()]
            await bob_on_b.socket.close()
    assert [r["payload"]["messageBody"] for r in resumed] == ["unanswered", "while away"]
