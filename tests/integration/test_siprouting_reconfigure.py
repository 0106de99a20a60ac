"""SipCarrier.reconfigure on real sockets: a new routing table takes effect without a
restart. A trunk moved to another port is pinged there (its keep-alive restarted), a trunk
that stopped its keep-alive counts as up, new routes take numbers, TCP peers follow the table,
and a host that does not resolve is down without a send (uvloop sends to addresses only)."""

from __future__ import annotations

import asyncio
import re

import pytest

from switchboard.gateways.sip import SipCarrier, SipRouting
from switchboard.gateways.sip.trunks import Route, Transport, Trunk
from tests.integration.calling_clients import closed_port
from tests.integration.sip_routing_servers import SipPeer
from tests.integration.test_sip_carrier import NoInboundCalls

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_new_table_takes_effect_without_a_restart() -> None:
    first, second = SipPeer(), SipPeer()
    tcp_port = closed_port()
    trunk = Trunk("sbc", "127.0.0.1", first.port, options_seconds=30)
    carrier = SipCarrier(SipRouting([trunk], []), NoInboundCalls(), port=0)
    await carrier.start()
    sip_port = carrier.address[1]
    try:
        async with asyncio.timeout(30):
            await asyncio.to_thread(first.request_from, sip_port)
            assert not carrier.routes("+15550001234")

            moved = Trunk("sbc", "127.0.0.1", second.port, options_seconds=30)
            tcp = Trunk("tcp", "127.0.0.1", tcp_port, Transport.TCP, options_seconds=0)
            routes = [Route("us", re.compile(r"\+1[0-9]{10}"), ("sbc",))]
            await carrier.reconfigure(SipRouting([moved, tcp], routes))
            await asyncio.to_thread(second.request_from, sip_port)
            assert carrier.routes("+15550001234")
            assert [t.port for t in carrier.routing.trunks_for("+15550001234")] == [second.port]
            assert carrier.endpoint.stream_peers == {("127.0.0.1", tcp_port)}

            quiet = Trunk("sbc", "127.0.0.1", second.port, options_seconds=0)
            nowhere = Trunk("nowhere", "sbc.invalid", 5060, options_seconds=30)
            await carrier.reconfigure(SipRouting([quiet, nowhere], routes))
            assert carrier.health["sbc"].up and carrier.acquire(quiet)
            assert carrier.endpoint.stream_peers == set()
            assert await carrier.ping(nowhere) is False
    finally:
        await carrier.stop()
        first.close()
        second.close()
