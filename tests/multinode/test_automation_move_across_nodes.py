"""moveParticipants on two server processes sharing PostgreSQL + Redis: the calls run on node
A, the moved user's device is on node B (callMoved crosses the bus, B's hub re-files the call,
the rejoin reaches A) and the request goes through node B; calls run by different nodes are
refused with 400 MoveAcrossNodesNotSupported."""

from __future__ import annotations

import asyncio

import pytest
from azure.communication.callautomation import CallAutomationClient, CommunicationUserIdentifier
from azure.core.exceptions import HttpResponseError

from switchboard.client.calling import CallAgent, CallState
from switchboard.client.calling.call import Call
from tests.callback_receiver import CallbackReceiver
from tests.integration.calling_clients import loopback_candidates
from tests.integration.server import RunningServer
from tests.multinode.test_automation_across_nodes import (
    automation_nodes,
    cluster,
    receiver,
    sync,
)
from tests.multinode.test_calling_across_nodes import Cluster

pytestmark = pytest.mark.anyio
__all__ = ["automation_nodes", "cluster", "loopback_candidates", "receiver"]  # fixtures


def client_of(node: RunningServer) -> CallAutomationClient:
    return CallAutomationClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )


async def answered(
    app: CallAutomationClient, device: CallAgent, user_id: str, url: str
) -> tuple[str, Call]:
    """The app calls the user; the device accepts: (call connection id, the device's Call)."""
    created = await sync(lambda: app.create_call(CommunicationUserIdentifier(user_id), url))
    call = await device.next_incoming_call()
    await call.accept()
    await call.wait_for_state(CallState.CONNECTED)
    return str(created.call_connection_id), call


async def loud_from(call: Call, participant_id: str, frames: int = 10) -> None:
    probe = call.audio_of(participant_id)
    while probe.loud_frames < frames:
        probe.changed.clear()
        await probe.changed.wait()


async def test_a_device_on_the_other_node_is_moved_and_talks_in_the_new_call(
    cluster: Cluster, receiver: CallbackReceiver
) -> None:
    node_a, node_b = cluster.nodes
    (moved_id, moved_token), (host_id, host_token) = (
        await sync(cluster.user),
        await sync(cluster.user),
    )
    moved_device = await cluster.agent(node_b, moved_token, tone_hz=440.0)
    host_device = await cluster.agent(node_b, host_token, tone_hz=660.0)
    on_a = client_of(node_a)
    async with asyncio.timeout(90):
        source, moving = await answered(on_a, moved_device, moved_id, receiver.url("/from"))
        target, hosting = await answered(on_a, host_device, host_id, receiver.url("/to"))
        result = await sync(
            lambda: (
                client_of(node_b)
                .get_call_connection(target)
                .move_participants([CommunicationUserIdentifier(moved_id)], source)
            )
        )
        assert result.from_call == source
        # The same Call, under the target's id, rejoined with a new offer.
        await moving.wait_for(lambda c: c.moves == 1 and c.participant_id is not None)
        server_call_id = (
            await sync(on_a.get_call_connection(target).get_call_properties)
        ).server_call_id
        assert moving.id == server_call_id and moving.state is CallState.CONNECTED
        await moving.wait_for(lambda c: bool(c.remote_participants))
        await hosting.wait_for(lambda c: moving.participant_id in c.remote_participants)
        await loud_from(moving, next(iter(moving.remote_participants)))
        await loud_from(hosting, str(moving.participant_id))
        assert (await receiver.event("MoveParticipantSucceeded"))["fromCall"] == source

        await sync(lambda: on_a.get_call_connection(target).hang_up(is_for_everyone=True))
        await moving.wait_for_state(CallState.DISCONNECTED)


async def test_calls_on_different_nodes_are_refused(
    cluster: Cluster, receiver: CallbackReceiver
) -> None:
    node_a, node_b = cluster.nodes
    (one_id, one_token), (two_id, two_token) = await sync(cluster.user), await sync(cluster.user)
    one = await cluster.agent(node_a, one_token, tone_hz=0.0)
    two = await cluster.agent(node_b, two_token, tone_hz=0.0)
    async with asyncio.timeout(60):
        on_a, on_b = client_of(node_a), client_of(node_b)
        source, _ = await answered(on_a, one, one_id, receiver.url("/on-a"))
        target, _ = await answered(on_b, two, two_id, receiver.url("/on-b"))
        with pytest.raises(HttpResponseError) as refused:
            await sync(
                lambda: on_a.get_call_connection(target).move_participants(
                    [CommunicationUserIdentifier(one_id)], source
                )
            )
        assert refused.value.status_code == 400
        assert refused.value.error is not None
        assert refused.value.error.code == "MoveAcrossNodesNotSupported"
        for node, call_id in ((on_a, source), (on_b, target)):
            await asyncio.to_thread(node.get_call_connection(call_id).hang_up, is_for_everyone=True)
