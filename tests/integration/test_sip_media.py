"""The SIP call's RTP port (gateways/sip/media.py) on real loopback sockets: only the carrier
may send into it."""

from __future__ import annotations

import asyncio
import socket

import pytest

from switchboard.gateways.sip.media import open_bridge
from switchboard.gateways.sip.sdp import Media
from switchboard.media.rtp import RtpPacket

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def send_from(host: str, port: int, seq: int) -> None:
    packet = bytes(RtpPacket(0, seq, seq * 160, 0x1234, b"\xff" * 160))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind((host, 0))
        sender.sendto(packet, ("127.0.0.1", port))


async def test_rtp_from_anyone_but_the_carrier_is_dropped() -> None:
    bridge = await open_bridge("127.0.0.1", frozenset({"127.0.0.1"}))
    try:
        bridge.set_media(Media("127.0.0.1", 9, "PCMU", 0, 101))
        send_from("127.0.0.2", bridge.port, 1)  # another host (Linux answers all of 127/8)
        send_from("127.0.0.1", bridge.port, 2)  # the carrier, its packet after the other
        for _ in range(1000):  # the loop reads both datagrams, in order, in one pass
            if bridge.received:
                break
            await asyncio.sleep(0.005)
        assert bridge.received == 1
        assert bridge.remote is not None and bridge.remote[0] == "127.0.0.1"
    finally:
        bridge.close()
