"""TurnProbe: calling hands out ICE servers only when the (unmanaged) TURN server answers."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.calling.component import ice_servers_of
from switchboard.core.clock import FakeClock
from switchboard.traversal.probe import TurnProbe
from switchboard.traversal.service import RelayService
from tests.free_ports import free_port

pytestmark = pytest.mark.anyio

USER = "8:acs:00000000-0000-0000-0000-0000000000aa_00000000-0000-0000-0000-000000000001"


def closed_port() -> int:
    return free_port()  # below the ephemeral range: tests/free_ports.py


async def test_probe_follows_whether_anything_listens() -> None:
    port = closed_port()
    probe = TurnProbe("127.0.0.1", port)
    assert not await probe.check()
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", port)
    try:
        assert await probe.check()
        assert probe.reachable
    finally:
        server.close()
        await server.wait_closed()
    assert not await probe.check()


def test_calls_get_no_ice_servers_from_a_turn_server_that_does_not_answer() -> None:
    urls = ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"]
    down = RelayService("secret", urls, FakeClock(), available=lambda: False)
    up = RelayService("secret", urls, FakeClock(), available=lambda: True)
    assert ice_servers_of(down, USER) == []
    [server] = ice_servers_of(up, USER)
    assert server.urls == urls
    assert USER in (server.username or "")  # TURN REST: "<expiry>:<user id>"
    assert server.credential
