"""Group calls across nodes: two server processes sharing PostgreSQL + Redis (docs/media.md).

The first join of a group call claims it for its node in Redis (``SET NX``): that node owns
the call and hosts its media (its SFU). Participants whose sockets live on the other node
reach the owner over the bus for signaling and send their media straight to the owner's SFU.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from switchboard.calling.conference.placement import CLAIM_SECONDS, RedisPlacement
from switchboard.client.calling import Call, CallAgent, CallState
from tests.conftest import REDIS_URL
from tests.integration.calling_clients import (
    all_hear_each_other,
    loopback_candidates,
    start_without_turn,
)
from tests.integration.server import RunningServer
from tests.multinode.test_calling_across_nodes import Cluster

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

Nodes = tuple[RunningServer, RunningServer]
NAMESPACE = f"test-{uuid.uuid4().hex[:8]}"
TONES = [400.0, 520.0, 640.0, 760.0]


@pytest.fixture(scope="module")
def group_nodes(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    """Two nodes sharing PostgreSQL and a (known) Redis namespace (no coturn)."""
    data_dir: Path = tmp_path_factory.mktemp("group-cluster")
    env = {"SWITCHBOARD_REDIS_NAMESPACE": NAMESPACE}
    args = ["--database-url", postgres_url, "--redis-url", REDIS_URL]
    first = start_without_turn(data_dir / "a", *args, env=env)
    second = start_without_turn(data_dir / "b", *args, env=env)
    yield first, second
    assert first.stop() == 0, "\n".join(first.output)
    assert second.stop() == 0, "\n".join(second.output)


@pytest.fixture
async def cluster(group_nodes: Nodes) -> AsyncIterator[Cluster]:
    made = Cluster(group_nodes)
    try:
        yield made
    finally:
        await asyncio.gather(*(a.dispose() for a in made.agents), return_exceptions=True)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


def owner_key(call_id: str) -> str:
    return f"{NAMESPACE}:calling:owner:{call_id}"


async def test_participants_on_both_nodes_hear_each_other_through_the_owners_sfu(
    cluster: Cluster, redis: Redis
) -> None:
    node_a, node_b = cluster.nodes
    group_id = str(uuid.uuid4())
    async with asyncio.timeout(40):
        # Alternate nodes: the first joiner (on A) places the call on A.
        agents: list[CallAgent] = []
        for i, tone in enumerate(TONES):
            _, token = cluster.user()
            agents.append(await cluster.agent((node_a, node_b)[i % 2], token, tone_hz=tone))
        calls: list[Call] = []
        for agent in agents:
            calls.append(await agent.join(group_id=group_id))
        for call in calls:
            await call.wait_for_state(CallState.CONNECTED)
        await all_hear_each_other(calls, agents, TONES)

        owner = await redis.get(owner_key(f"group:{group_id}"))
        assert owner is not None  # one node holds the claim while the call runs
        ttl = await redis.ttl(owner_key(f"group:{group_id}"))
        assert 0 < ttl <= CLAIM_SECONDS

        # A participant on the non-owning node leaves: the rest still hear each other.
        await calls[1].hang_up()
        assert calls[1].state is CallState.DISCONNECTED
        for call in (calls[0], calls[2], calls[3]):
            await call.wait_for(lambda c: len(c.remote_participants) == 2)
        rest = [0, 2, 3]
        await all_hear_each_other(
            [calls[i] for i in rest], [agents[i] for i in rest], [TONES[i] for i in rest]
        )
        for i in rest:
            await calls[i].hang_up()
    # The last one out ends the call: the owner releases its claim (Redis has no event to
    # wait on, so look a bounded number of times).
    for _ in range(200):
        if not await redis.exists(owner_key(f"group:{group_id}")):
            break
        await asyncio.sleep(0.05)
    assert not await redis.exists(owner_key(f"group:{group_id}"))


async def test_a_call_first_joined_on_the_other_node_is_placed_there(
    cluster: Cluster, redis: Redis
) -> None:
    node_a, node_b = cluster.nodes
    on_a, on_b = str(uuid.uuid4()), str(uuid.uuid4())
    async with asyncio.timeout(30):
        first_a, first_b, second_a, second_b = [
            await cluster.agent(node, cluster.user()[1], tone_hz=tone)
            for node, tone in zip((node_a, node_b, node_a, node_b), TONES, strict=True)
        ]
        call_a = await first_a.join(group_id=on_a)  # placed on A
        call_b = await first_b.join(group_id=on_b)  # placed on B
        joined_a = await second_b.join(group_id=on_a)  # B's device, A's call
        joined_b = await second_a.join(group_id=on_b)  # A's device, B's call
        owners = [await redis.get(owner_key(f"group:{g}")) for g in (on_a, on_b)]
        assert None not in owners and owners[0] != owners[1]
        await all_hear_each_other([call_a, joined_a], [first_a, second_b], TONES[0:4:3])
        await all_hear_each_other([call_b, joined_b], [first_b, second_a], TONES[1:3])


async def test_the_owner_renews_only_its_own_claim(redis: Redis) -> None:
    placement = RedisPlacement(REDIS_URL, NAMESPACE)
    call_id = f"group:{uuid.uuid4()}"
    try:
        assert await placement.claim(call_id, "node-a") == "node-a"
        assert await placement.claim(call_id, "node-b") == "node-a"  # first claimer wins
        await redis.expire(owner_key(call_id), 5)
        await placement.renew([call_id], "node-b")  # not its claim: changes nothing
        assert await redis.get(owner_key(call_id)) == b"node-a"
        assert await redis.ttl(owner_key(call_id)) <= 5
        await placement.renew([call_id], "node-a")
        assert await redis.ttl(owner_key(call_id)) > 5
        await placement.release(call_id, "node-b")  # not its claim: stays
        assert await redis.get(owner_key(call_id)) == b"node-a"
        await placement.release(call_id, "node-a")
        assert await redis.get(owner_key(call_id)) is None
    finally:
        await placement.close()
