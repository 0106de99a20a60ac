"""Push across two nodes sharing PostgreSQL + Redis (docs/push.md).

Alice calls from node A (which owns the call). Bob's laptop is connected to node B and is
rung there, not pushed: node A waits the presence window for other nodes' devices before it
pushes. Bob's phone (registered through node B, its app closed) is pushed; its app starts on
node B and hands the payload over: ``pushReceived`` crosses to node A over Redis, the phone
rings, answers, audio flows both ways, and the laptop stops ringing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import CallAgent, CallClient, CallState, PushTarget
from switchboard.client.push import PushRegistrations
from tests.conftest import REDIS_URL
from tests.integration.calling_clients import heard, loopback_candidates, start_without_turn
from tests.integration.server import RunningServer
from tests.push.fakes import WebPushService
from tests.push.providers import push_server_env

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

Nodes = tuple[RunningServer, RunningServer]


@pytest.fixture(scope="module")
def push_nodes(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    data_dir: Path = tmp_path_factory.mktemp("push-cluster")
    env = {  # one VAPID key for the cluster
        "SWITCHBOARD_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}",
        **push_server_env(data_dir),
    }
    args = ["--database-url", postgres_url, "--redis-url", REDIS_URL]
    first = start_without_turn(data_dir / "a", *args, env=env)
    second = start_without_turn(data_dir / "b", *args, env=env)
    yield first, second
    assert first.stop() == 0, "\n".join(first.output)
    assert second.stop() == 0, "\n".join(second.output)


@pytest.fixture
async def agents() -> AsyncIterator[list[CallAgent]]:
    made: list[CallAgent] = []
    yield made
    for agent in made:
        await agent.dispose()


async def test_the_call_owner_pushes_only_devices_live_nowhere_and_a_woken_one_answers(
    push_nodes: Nodes, agents: list[CallAgent]
) -> None:
    node_a, node_b = push_nodes
    identity = CommunicationIdentityClient.from_connection_string(
        node_a.connection_string, connection_verify=node_a.ca_path
    )
    alice_user, alice_token = identity.create_user_and_token(scopes=["voip"])
    bob_user, bob_token = identity.create_user_and_token(scopes=["voip"])
    bob_id = str(bob_user.properties["id"])

    async def agent(node: RunningServer, token: str, tone: float) -> CallAgent:
        client = CallClient(node.endpoint, ssl=node.ca_path, tone_hz=tone)
        made = await client.create_call_agent(token)
        agents.append(made)
        return made

    service = await WebPushService().start()
    try:
        laptop_sub, phone_sub = service.subscribe(), service.subscribe()
        alice = await agent(node_a, alice_token.token, 440.0)
        laptop = await agent(node_b, bob_token.token, 550.0)
        await laptop.register_push_notification(PushTarget.web_push(laptop_sub.json()))
        registrations = PushRegistrations(node_b.endpoint, bob_token.token, ssl=node_b.ca_path)
        await registrations.register("bob-phone", PushTarget.web_push(phone_sub.json()))
        async with asyncio.timeout(30):
            outgoing = await alice.start_call(bob_id)
            on_laptop = await laptop.next_incoming_call()
            [pushed] = await service.wait_for(1)
            assert pushed.token == phone_sub.id  # the laptop is live on node B: not pushed
            assert pushed.payload["callerId"] == str(alice_user.properties["id"])
            phone = await agent(node_b, bob_token.token, 660.0)
            await phone.handle_push_notification(pushed.payload)
            on_phone = await phone.next_incoming_call()
            await on_phone.accept()
            await outgoing.wait_for_state(CallState.CONNECTED)
            await heard(outgoing, 660.0)
            await heard(on_phone, 440.0)
            await on_laptop.wait_for_state(CallState.DISCONNECTED)
            assert on_laptop.end_reason is not None
            assert (on_laptop.end_reason.code, on_laptop.end_reason.sub_code) == (487, 10003)
            await outgoing.hang_up()
        assert service.errors == []
        assert {p.token for p in service.received} == {phone_sub.id}
    finally:
        await service.stop()
