"""SIP routing across nodes: two server processes sharing PostgreSQL + Redis, each with its
own SIP socket. A trunk and a route set with the official SDK through node A (and one of our
own settings with the CLI) reach node B's SIP gateway without a restart: an outbound call the
app places through B goes over the new route to SIPp (Debian sip-tester) playing the carrier.

    SDK on A: set_trunk(127.0.0.1:<SIPp>) · CLI: trunks set 127.0.0.1 --options-seconds 0
    SDK on A: set_routes(+1555… ─▶ 127.0.0.1), then set_trunk(127.0.0.2:<marker>)
    B's OPTIONS to the marker trunk ─▶ B applied that revision (and so everything before it)
    createCall through B to +15550001234 ─▶ INVITE to SIPp ─▶ 200 ─▶ CallConnected ─▶ BYE
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier
from azure.communication.phonenumbers.siprouting import SipRoutingClient, SipTrunk, SipTrunkRoute

from switchboard.cli import main
from tests.callback_receiver import CallbackReceiver
from tests.conftest import REDIS_URL, fresh_postgres_database
from tests.integration.calling_clients import start_without_turn
from tests.integration.server import RunningServer
from tests.integration.sip_routing_servers import SipPeer, free_udp_port, sip_env
from tests.integration.sipp_carrier import finished, sipp
from tests.integration.test_voice_simulator import sync
from tests.integration.voice_phones import buy_number

pytestmark = pytest.mark.anyio

CALLEE = "+15550001234"


class SipNodes:
    def __init__(self, nodes: tuple[RunningServer, RunningServer], sip_ports: tuple[int, int]):
        self.a, self.b = nodes
        self.sip_a, self.sip_b = sip_ports
        self.database_url = self.a.args[1]


@pytest.fixture(scope="module")
def sip_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SipNodes]:
    """Two nodes on a PostgreSQL database of their own (the routing table is one per
    database) and one Redis namespace, each with a free SIP port."""
    data_dir: Path = tmp_path_factory.mktemp("sip-cluster")
    namespace = {"SWITCHBOARD_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}"}
    databases = fresh_postgres_database()
    args = ["--database-url", next(databases), "--redis-url", REDIS_URL]
    ports = free_udp_port(), free_udp_port()
    first = start_without_turn(data_dir / "a", *args, env={**namespace, **sip_env(ports[0])})
    second = start_without_turn(data_dir / "b", *args, env={**namespace, **sip_env(ports[1])})
    yield SipNodes((first, second), ports)
    assert first.stop() == 0, "\n".join(first.output)
    assert second.stop() == 0, "\n".join(second.output)
    next(databases, None)


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    started = await CallbackReceiver().start()
    yield started
    await started.stop()


async def test_a_route_set_through_a_carries_a_call_placed_through_b(
    sip_nodes: SipNodes, receiver: CallbackReceiver
) -> None:
    sipp_port = free_udp_port()
    routing = SipRoutingClient.from_connection_string(
        sip_nodes.a.connection_string, connection_verify=sip_nodes.a.ca_path
    )
    carrier_trunk = SipTrunk(fqdn="127.0.0.1", sip_signaling_port=sipp_port)
    await sync(lambda: routing.set_trunk(carrier_trunk))
    # Our own setting, beside the SDK's: no OPTIONS to SIPp (its scenario wants an INVITE).
    quiet = ["trunks", "set", "127.0.0.1", "--options-seconds", "0"]
    assert await sync(lambda: main([*quiet, "--database-url", sip_nodes.database_url])) == 0
    route = SipTrunkRoute(name="sipp", number_pattern=r"\+1555[0-9]{7}", trunks=["127.0.0.1"])
    await sync(lambda: routing.set_routes([route]))
    marker = SipPeer("127.0.0.2")
    try:
        await sync(
            lambda: routing.set_trunk(SipTrunk(fqdn="127.0.0.2", sip_signaling_port=marker.port))
        )
        options = await sync(lambda: marker.request_from(sip_nodes.sip_b))
        assert options.startswith(f"OPTIONS sip:127.0.0.2:{marker.port} SIP/2.0")
    finally:
        marker.close()

    our_number = await sync(lambda: buy_number(sip_nodes.a))
    carrier = await sipp("builtin:uas", sipp_port)
    app = CallAutomationClient.from_connection_string(
        sip_nodes.b.connection_string, connection_verify=sip_nodes.b.ca_path
    )
    created = await sync(
        lambda: app.create_call(
            PhoneNumberIdentifier(CALLEE),
            receiver.url("/b"),
            source_caller_id_number=PhoneNumberIdentifier(our_number),
        )
    )
    connected = await receiver.event("CallConnected")
    assert connected["callConnectionId"] == created.call_connection_id
    connection = app.get_call_connection(str(created.call_connection_id))
    await sync(lambda: connection.hang_up(is_for_everyone=True))
    await receiver.event("CallDisconnected")
    assert await finished(carrier) == 0  # SIPp got the INVITE, the ACK and the BYE, in order
