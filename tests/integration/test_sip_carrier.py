"""SipCarrier on real sockets without SIPp: OPTIONS keep-alives mark trunks up and down, a
TCP trunk refusing the connection fails over at once, TCP only from trunk hosts, and a
``[[trunks]]`` typo stops the node."""

from __future__ import annotations

import asyncio
import re

import pytest

from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import InboundPhoneCall, PhoneCallListener
from switchboard.core.sections import ConfigError
from switchboard.gateways.sip import SipCarrier, SipRouting
from switchboard.gateways.sip.trunks import Route, Transport, Trunk
from tests.integration.calling_clients import closed_port
from tests.integration.inprocess_node import serving
from tests.integration.sipp_carrier import free_udp_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_node_with_a_mistyped_trunk_does_not_start(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    overrides = {"trunks": [{"host": "127.0.0.1", "pasword": "x"}], "sip_port": free_udp_port()}
    with pytest.raises(ConfigError, match="unknown setting 'pasword'"):
        async with serving(tmp_path_factory.mktemp("sip-typo"), overrides):
            pass


async def test_options_keep_alives_tell_a_trunk_that_answers_from_one_that_does_not() -> None:
    """Two carriers of our own: one pings the other (up), and a closed port (down)."""
    closed = free_udp_port()
    far = SipCarrier(SipRouting(), NoInboundCalls(), port=0)
    await far.start()
    try:
        trunks = [
            Trunk("far", "127.0.0.1", far.address[1], options_seconds=0.05),
            Trunk("gone", "127.0.0.1", closed, options_seconds=0.05),
        ]
        routing = SipRouting(trunks, [Route("all", re.compile(r"\+.*"), ("gone", "far"))])
        near = SipCarrier(routing, NoInboundCalls(), port=0)
        await near.start()
        try:
            async with asyncio.timeout(20):
                assert await near.ping(trunks[0]) is True
                assert await near.ping(trunks[1]) is False
                while near.health.get("gone") is None or near.health["gone"].up:
                    await near.health_changed()
                assert near.health["far"].up
                assert [t.name for t in routing.trunks_for("+15550001234")] == ["gone", "far"]
                assert not near.acquire(trunks[1])  # dial skips it
                assert near.acquire(trunks[0])
        finally:
            await near.stop()
    finally:
        await far.stop()


async def test_a_tcp_trunk_that_refuses_the_connection_fails_the_call_over_to_the_next() -> None:
    """A transport error counts as the trunk's silence (RFC 3261 §8.1.3.1), at once: with an
    INVITE timeout of ten minutes the call still ends within the test's limit."""
    trunks = [Trunk("refusing", "127.0.0.1", closed_port(), Transport.TCP, options_seconds=0)]
    routing = SipRouting(trunks, [Route("all", re.compile(r"\+.*"), ("refusing",))])
    carrier = SipCarrier(routing, NoInboundCalls(), port=0, invite_timeout=600)
    await carrier.start()
    listener = Outcome()
    try:
        async with asyncio.timeout(20):
            carrier.dial("+14255550100", "+15550001234", listener)
            reason = await listener.failure
        assert reason.code == 503
        assert carrier.health["refusing"].active == 0  # its slot is free again
    finally:
        await carrier.stop()


async def test_tcp_from_a_host_that_is_no_trunks_is_closed_and_a_trunks_is_served() -> None:
    """Trunks on 127.0.0.2 only: a connection from 127.0.0.1 is closed unanswered; one from
    127.0.0.2 gets its OPTIONS answered."""
    trunks = [Trunk("only", "127.0.0.2", 5060)]
    carrier = SipCarrier(SipRouting(trunks, []), NoInboundCalls(), port=0)
    await carrier.start()
    options = (
        b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2;branch=z9hG4bK-t\r\n"
        b"From: <sip:probe@127.0.0.2>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: t-1\r\n"
        b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    try:
        async with asyncio.timeout(20):
            for source, answered in (("127.0.0.1", False), ("127.0.0.2", True)):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", carrier.address[1], local_addr=(source, 0)
                )
                writer.write(options)
                reply = await reader.read(2048)  # b"": closed by the carrier
                assert reply.startswith(b"SIP/2.0 200 OK") is answered, (source, reply)
                writer.close()
    finally:
        await carrier.stop()


class Outcome:
    def __init__(self) -> None:
        self.failure: asyncio.Future[EndReason] = asyncio.get_running_loop().create_future()

    def answered(self) -> None:
        raise AssertionError("nobody should answer")

    def failed(self, reason: EndReason) -> None:
        self.failure.set_result(reason)

    def ended(self) -> None:
        raise AssertionError("it never connected")


class NoInboundCalls:
    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        raise AssertionError("no call was expected")
