"""Calls across nodes: two server processes sharing PostgreSQL + Redis (docs/calling-protocol.md).

The call's state lives on the caller's node; the callee's devices are on the other node (or
both). Invites, answers, SDP and hang-ups cross over the Redis bus.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from azure.communication.identity import CommunicationIdentityClient, CommunicationUserIdentifier

from switchboard.client.calling import CallAgent, CallClient, CallState
from tests.conftest import REDIS_URL
from tests.integration.calling_clients import heard, loopback_candidates, start_without_turn
from tests.integration.server import RunningServer

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

Nodes = tuple[RunningServer, RunningServer]


@pytest.fixture(scope="module")
def calling_nodes(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    """Two nodes sharing PostgreSQL and a Redis namespace (no coturn: host candidates)."""
    data_dir: Path = tmp_path_factory.mktemp("calling-cluster")
    env = {"SWITCHBOARD_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}"}
    args = ["--database-url", postgres_url, "--redis-url", REDIS_URL]
    first = start_without_turn(data_dir / "a", *args, env=env)
    second = start_without_turn(data_dir / "b", *args, env=env)
    yield first, second
    assert first.stop() == 0, "\n".join(first.output)
    assert second.stop() == 0, "\n".join(second.output)


class Cluster:
    def __init__(self, nodes: Nodes) -> None:
        self.nodes = nodes
        self.identity = CommunicationIdentityClient.from_connection_string(
            nodes[0].connection_string, connection_verify=nodes[0].ca_path
        )
        self.agents: list[CallAgent] = []

    def user(self) -> tuple[str, str]:
        user, token = self.identity.create_user_and_token(scopes=["voip"])
        assert isinstance(user, CommunicationUserIdentifier)
        return str(user.properties["id"]), token.token

    async def agent(self, node: RunningServer, token: str, tone_hz: float = 440.0) -> CallAgent:
        client = CallClient(node.endpoint, ssl=node.ca_path, tone_hz=tone_hz)
        agent = await client.create_call_agent(token)
        self.agents.append(agent)
        return agent


@pytest.fixture
async def cluster(calling_nodes: Nodes) -> AsyncIterator[Cluster]:
    made = Cluster(calling_nodes)
    try:
        yield made
    finally:
        for agent in made.agents:
            await agent.dispose()


async def test_a_caller_on_one_node_talks_to_a_callee_on_the_other(cluster: Cluster) -> None:
    node_a, node_b = cluster.nodes
    _, alice_token = cluster.user()
    bob_id, bob_token = cluster.user()
    alice = await cluster.agent(node_a, alice_token, tone_hz=440.0)
    bob = await cluster.agent(node_b, bob_token, tone_hz=660.0)
    async with asyncio.timeout(20):
        outgoing = await alice.start_call(bob_id)
        incoming = await bob.next_incoming_call()
        await outgoing.wait_for_state(CallState.RINGING)
        await incoming.accept()
        await outgoing.wait_for_state(CallState.CONNECTED)
        await heard(outgoing, 660.0)
        await heard(incoming, 440.0)
        await incoming.mute()  # node B → node A (owner) → alice on node A
        await outgoing.wait_for(lambda c: c.remote is not None and c.remote.is_muted)
        await incoming.hang_up()
        await outgoing.wait_for_state(CallState.DISCONNECTED)
    assert outgoing.end_reason is not None and outgoing.end_reason.code == 0


async def test_devices_of_the_callee_on_both_nodes_ring_and_one_answer_stops_the_other(
    cluster: Cluster,
) -> None:
    node_a, node_b = cluster.nodes
    _, alice_token = cluster.user()
    bob_id, bob_token = cluster.user()
    alice = await cluster.agent(node_b, alice_token)
    bob_on_a = await cluster.agent(node_a, bob_token)
    bob_on_b = await cluster.agent(node_b, bob_token)
    async with asyncio.timeout(20):
        outgoing = await alice.start_call(bob_id)
        ringing_a = await bob_on_a.next_incoming_call()
        ringing_b = await bob_on_b.next_incoming_call()
        await ringing_a.accept()
        await ringing_b.wait_for_state(CallState.DISCONNECTED)
        assert ringing_b.end_reason is not None
        assert (ringing_b.end_reason.code, ringing_b.end_reason.sub_code) == (487, 10003)
        await outgoing.wait_for_state(CallState.CONNECTED)
        await outgoing.hang_up()
        await ringing_a.wait_for_state(CallState.DISCONNECTED)
