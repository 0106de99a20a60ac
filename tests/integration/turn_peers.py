"""aioice as the TURN/ICE client in tests: allocate, relay a datagram, connect two agents.

aioice leaves 127.0.0.1 out of *host* candidates (realtime-notes.md, trap 1); these helpers
only use relayed candidates (TransportPolicy.RELAY), which need no host addresses at all.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast
from urllib.parse import urlsplit

import aioice
from aioice import turn

Address = tuple[str, int]


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.received.put_nowait((data, addr))


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio.DatagramTransport: cast, not check.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.transport.sendto(b"echo:" + data, addr)


def turn_address(urls: list[str], transport: str = "udp") -> Address:
    """host and port of the ``turn:`` URL for ``transport`` among an ICE server's URLs."""
    for url in urls:
        if url.startswith("turn:") and url.endswith(f"transport={transport}"):
            parts = urlsplit("//" + url.removeprefix("turn:").split("?")[0])
            assert parts.hostname is not None and parts.port is not None
            return parts.hostname, parts.port
    raise AssertionError(f"no turn: URL for {transport} in {urls}")


@asynccontextmanager
async def echo_peer() -> AsyncIterator[Address]:
    """A UDP peer on loopback that answers every datagram with ``echo:`` + it."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[:2]
    finally:
        transport.close()


async def relay_round_trip(
    server: Address,
    username: str,
    password: str,
    peer: Address,
    transport: str = "udp",
    tls: ssl.SSLContext | None = None,
) -> bytes:
    """Allocate on ``server``, send a datagram to ``peer`` through the relay, return the
    answer; raises aioice's ``stun.TransactionFailed`` when the credentials are refused."""
    relay, inbox = await turn.create_turn_endpoint(
        _Inbox, server, username, password, transport=transport, ssl=tls
    )
    try:
        relay.sendto(b"hello", peer)
        data, _ = await asyncio.wait_for(inbox.received.get(), 5)
        return data
    finally:
        relay.close()


async def connect_relayed_agents(
    server: Address, first: tuple[str, str], second: tuple[str, str]
) -> bytes:
    """Two ICE agents, relay candidates only, each with its own credentials: connect them and
    return what the second receives from the first."""

    def agent(credentials: tuple[str, str], controlling: bool) -> aioice.Connection:
        return aioice.Connection(
            ice_controlling=controlling,
            turn_server=server,
            turn_username=credentials[0],
            turn_password=credentials[1],
            transport_policy=aioice.TransportPolicy.RELAY,
            use_ipv6=False,
        )

    a, b = agent(first, True), agent(second, False)
    try:
        await asyncio.gather(a.gather_candidates(), b.gather_candidates())
        for local, remote in ((a, b), (b, a)):
            for candidate in local.local_candidates:
                await remote.add_remote_candidate(candidate)
            await remote.add_remote_candidate(None)
            remote.remote_username = local.local_username
            remote.remote_password = local.local_password
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 10)
        await a.sendto(b"through the relay", 1)
        data, _component = await asyncio.wait_for(b.recvfrom(), 5)
        return data
    finally:
        await asyncio.gather(a.close(), b.close())
