"""Call Automation across nodes: two server processes sharing PostgreSQL + Redis.

The app creates a call through node A (A runs it: its SFU, the app's media endpoint); the
called user's device is on node B (its ring crosses the bus). Every control request the app
then sends through node B reaches the call on A (automation's control over the bus), and B
answers GET from the shared call connection record.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    RecognizeInputType,
    TextSource,
)

from switchboard.client.calling import CallState
from tests.callback_receiver import CallbackReceiver
from tests.conftest import REDIS_URL
from tests.event_receiver import EventReceiver
from tests.integration.calling_clients import loopback_candidates, start_without_turn
from tests.integration.server import RunningServer
from tests.integration.user_call_events import incoming_call_for, subscribe_for_calls_to
from tests.multinode.test_calling_across_nodes import Cluster

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

Nodes = tuple[RunningServer, RunningServer]
T = TypeVar("T")


@pytest.fixture(scope="module")
def automation_nodes(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nodes]:
    data_dir: Path = tmp_path_factory.mktemp("automation-cluster")
    env = {"SWITCHBOARD_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}"}
    args = ["--database-url", postgres_url, "--redis-url", REDIS_URL]
    first = start_without_turn(data_dir / "a", *args, env=env)
    second = start_without_turn(data_dir / "b", *args, env=env)
    yield first, second
    assert first.stop() == 0, "\n".join(first.output)
    assert second.stop() == 0, "\n".join(second.output)


@pytest.fixture
async def cluster(automation_nodes: Nodes) -> AsyncIterator[Cluster]:
    made = Cluster(automation_nodes)
    try:
        yield made
    finally:
        for agent in made.agents:
            await agent.dispose()


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    started = await CallbackReceiver().start()
    yield started
    await started.stop()


async def sync(call: Callable[[], T]) -> T:
    return await asyncio.to_thread(call)


async def test_control_requests_on_either_node_reach_the_call(
    cluster: Cluster, receiver: CallbackReceiver
) -> None:
    node_a, node_b = cluster.nodes
    user_id, token = await sync(cluster.user)
    device = await cluster.agent(node_b, token, tone_hz=0.0)
    on_a = CallAutomationClient.from_connection_string(
        node_a.connection_string, connection_verify=node_a.ca_path
    )
    on_b = CallAutomationClient.from_connection_string(
        node_b.connection_string, connection_verify=node_b.ca_path
    )
    target = CommunicationUserIdentifier(user_id)
    async with asyncio.timeout(60):
        created = await sync(lambda: on_a.create_call(target, receiver.url("/across")))
        incoming = await device.next_incoming_call()
        await incoming.accept()
        await incoming.wait_for_state(CallState.CONNECTED)
        await receiver.event("CallConnected")
        call_id = str(created.call_connection_id)

        via_b = on_b.get_call_connection(call_id)
        properties = await sync(via_b.get_call_properties)
        assert properties.call_connection_state == "connected"
        listed = await sync(lambda: list(via_b.list_participants()))
        assert [p.identifier.raw_id for p in listed if p.identifier] == [user_id]

        await sync(lambda: via_b.play_media(TextSource(text="Hello from the other node.")))
        await receiver.event("PlayCompleted")
        await sync(
            lambda: via_b.start_recognizing_media(
                RecognizeInputType.DTMF,
                target,
                play_prompt=TextSource(text="Press one."),
                interrupt_prompt=True,
                dtmf_max_tones_to_collect=1,
            )
        )
        await asyncio.sleep(0.5)
        await incoming.send_dtmf("1")
        recognized = await receiver.event("RecognizeCompleted")
        assert recognized["dtmfResult"]["tones"] == ["one"]

        await sync(lambda: via_b.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        await incoming.wait_for_state(CallState.DISCONNECTED)
        ended = await sync(on_a.get_call_connection(call_id).get_call_properties)
        assert ended.call_connection_state == "disconnected"


async def test_an_app_answers_through_one_node_a_users_call_owned_by_the_other(
    cluster: Cluster, receiver: CallbackReceiver
) -> None:
    """Alice (node A) calls Bob (his device on node B); the IncomingCall subscription asks for
    Bob; the app answers through node B: the answer runs on A (the 1:1 call's owner), Bob's
    device stops ringing across the bus, Alice joins the server call on A's SFU."""
    node_a, node_b = cluster.nodes
    _, alice_token = await sync(cluster.user)
    bob_id, bob_token = await sync(cluster.user)
    alice = await cluster.agent(node_a, alice_token, tone_hz=0.0)
    bob = await cluster.agent(node_b, bob_token, tone_hz=0.0)
    events = await EventReceiver().start()
    on_b = CallAutomationClient.from_connection_string(
        node_b.connection_string, connection_verify=node_b.ca_path
    )
    try:
        async with asyncio.timeout(60):
            # Through node A, whose filters know it at once (node B learns it over the bus).
            await subscribe_for_calls_to(
                node_a.connection_string,
                node_a.ca_path,
                "across-user-calls",
                events.url("/incoming"),
                bob_id,
            )
            call = await alice.start_call(bob_id)
            bobs = await bob.next_incoming_call()
            incoming = await incoming_call_for(events, bob_id)
            answered = await sync(
                lambda: on_b.answer_call(incoming["incomingCallContext"], receiver.url("/x"))
            )
            await receiver.event("CallConnected")
            await bobs.wait_for_state(CallState.DISCONNECTED)
            assert bobs.end_reason is not None
            assert (bobs.end_reason.code, bobs.end_reason.sub_code) == (487, 10003)
            await call.wait_for_state(CallState.CONNECTED)
            assert call.id == incoming["serverCallId"]

            via_b = on_b.get_call_connection(str(answered.call_connection_id))
            await sync(lambda: via_b.hang_up(is_for_everyone=True))
            await receiver.event("CallDisconnected")
            await call.wait_for_state(CallState.DISCONNECTED)
    finally:
        await events.stop()
