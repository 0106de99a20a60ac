"""SIP trunk calls across two nodes (server processes sharing PostgreSQL + Redis), each node
with the same trunk (SIPp) and its own SIP port:

    SIPp calls our number at node A ─▶ A holds the ringing call (PendingCalls) ─▶ IncomingCall
        ─▶ the app answers it through node B (the call runs on A) and transfers it to a user
        whose device is on node B ─▶ the device rings across the bus, accepts, joins the call
        on A's SFU and hears the phone (SIPp's g711a.pcap, 30 ms packets) ─▶ the user hangs up
        ─▶ A sends the phone BYE
    a device on node B calls a number ─▶ B dials it through its own SIP socket (the call is
        B's, as every call a device starts) ─▶ SIPp answers ─▶ connected ─▶ hang up ─▶ BYE
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from azure.communication.callautomation import CallAutomationClient, CommunicationUserIdentifier
from examples.ivr.setup import phone_number
from examples.sample_app.settings import AppSettings

from switchboard.client.calling import CallState
from tests.callback_receiver import CallbackReceiver
from tests.conftest import REDIS_URL, fresh_postgres_database
from tests.event_receiver import EventReceiver
from tests.integration.calling_clients import loopback_candidates, start_without_turn
from tests.integration.server import RunningServer
from tests.integration.sipp_carrier import (
    TonePhone,
    anyio_backend,
    finished,
    free_udp_port,
    sipp,
    tone_phone,
    trunk_port,
)
from tests.integration.user_call_events import incoming_call_for, subscribe_for_calls_to
from tests.multinode.test_automation_across_nodes import receiver, sync
from tests.multinode.test_calling_across_nodes import Cluster

pytestmark = pytest.mark.anyio
__all__ = ["anyio_backend", "loopback_candidates", "receiver", "tone_phone", "trunk_port"]

Nodes = tuple[RunningServer, RunningServer]
CALLEE = "+15550001234"  # the route sends +1555… to SIPp's trunk


@pytest.fixture(scope="module")
def sip_ports() -> tuple[int, int]:
    return free_udp_port(), free_udp_port()


@pytest.fixture(scope="module")
def sip_nodes(
    tmp_path_factory: pytest.TempPathFactory,
    trunk_port: int,
    sip_ports: tuple[int, int],
) -> Iterator[Nodes]:
    data_dir: Path = tmp_path_factory.mktemp("sip-cluster")
    trunk = {"name": "sipp", "host": "127.0.0.1", "port": trunk_port, "options_seconds": 0}
    env = {
        "SWITCHBOARD_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}",
        "SWITCHBOARD_TRUNKS": json.dumps([trunk]),
        "SWITCHBOARD_ROUTES": json.dumps(
            [{"name": "test", "pattern": r"\+1555[0-9]{7}", "trunks": ["sipp"]}]
        ),
    }
    # A database of this module's own: the config's trunk is written to the routing table,
    # which every later node on a shared database would then serve (binding SIP's port).
    databases = fresh_postgres_database()
    postgres_url = next(databases)
    args = ["--database-url", postgres_url, "--redis-url", REDIS_URL]
    port_a, port_b = sip_ports
    first = start_without_turn(
        data_dir / "a", *args, env={**env, "SWITCHBOARD_SIP_PORT": str(port_a)}
    )
    second = start_without_turn(
        data_dir / "b", *args, env={**env, "SWITCHBOARD_SIP_PORT": str(port_b)}
    )
    yield first, second
    assert first.stop() == 0, "\n".join(first.output)
    assert second.stop() == 0, "\n".join(second.output)
    next(databases, None)  # the generator drops the database as it ends


@pytest.fixture(scope="module")
def our_number(sip_nodes: Nodes) -> str:
    node = sip_nodes[0]
    return phone_number(AppSettings(node.connection_string, node.ca_path))


@pytest.fixture
async def cluster(sip_nodes: Nodes) -> AsyncIterator[Cluster]:
    made = Cluster(sip_nodes)
    try:
        yield made
    finally:
        for agent in made.agents:
            await agent.dispose()


async def test_a_trunk_call_at_node_a_answered_through_node_b_is_transferred_to_a_user_on_b(
    cluster: Cluster,
    receiver: CallbackReceiver,
    our_number: str,
    trunk_port: int,
    sip_ports: tuple[int, int],
) -> None:
    node_a, node_b = cluster.nodes
    user_id, token = await sync(cluster.user)
    user = await cluster.agent(node_b, token, tone_hz=0.0)
    events = await EventReceiver().start()
    on_b = CallAutomationClient.from_connection_string(
        node_b.connection_string, connection_verify=node_b.ca_path
    )
    caller = f"+1555000{uuid.uuid4().int % 10_000:04d}"
    try:
        async with asyncio.timeout(60):
            await subscribe_for_calls_to(
                node_a.connection_string,
                node_a.ca_path,
                "sip-across",
                events.url("/incoming"),
                f"4:{our_number}",
            )
            phone = await sipp(
                "uac_ivr.xml",
                trunk_port,
                f"127.0.0.1:{sip_ports[0]}",  # node A's SIP socket
                *("-s", our_number, "-key", "caller", caller, "-mp", str(free_udp_port())),
            )
            incoming = await incoming_call_for(events, f"4:{our_number}")
            assert incoming["from"]["rawId"] == f"4:{caller}"
            answered = await sync(
                lambda: on_b.answer_call(incoming["incomingCallContext"], receiver.url("/sip"))
            )
            await receiver.event("CallConnected")
            connection = on_b.get_call_connection(str(answered.call_connection_id))
            target = CommunicationUserIdentifier(user_id)
            await sync(lambda: connection.transfer_call_to_participant(target))
            ringing = await user.next_incoming_call()  # across the bus, from A to B
            await ringing.accept()
            await ringing.wait_for_state(CallState.CONNECTED)
            await receiver.event("CallTransferAccepted")
            await ringing.wait_for(lambda call: bool(call.remote_participants))  # the phone
            [remote] = ringing.remote_participants.values()
            assert remote.user_id == f"4:{caller}"
            heard = ringing.audio_of(remote.id)
            while heard.loud_frames < 25:  # the phone's speech, from A's SFU to B's user
                heard.changed.clear()
                await heard.changed.wait()
            await ringing.hang_up()
            await ringing.wait_for_state(CallState.DISCONNECTED)
            assert await finished(phone) == 0  # node A sent it BYE
    finally:
        await events.stop()


async def test_a_device_on_node_b_calls_a_number_through_node_bs_own_sip_socket(
    cluster: Cluster, our_number: str, trunk_port: int, tone_phone: tuple[TonePhone, int]
) -> None:
    _, node_b = cluster.nodes
    _, token = await sync(cluster.user)
    device = await cluster.agent(node_b, token, tone_hz=660.0)
    phone, rtp_port = tone_phone
    async with asyncio.timeout(60):
        carrier = await sipp("uas_answer.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
        call = await device.start_call(CALLEE, alternate_caller_id=our_number)
        await call.wait_for_state(CallState.CONNECTED)
        await phone.loud.wait()  # the device's tone reached the carrier's RTP end
        await call.hang_up()
        await call.wait_for_state(CallState.DISCONNECTED)
        assert await finished(carrier) == 0  # BYE from node B
