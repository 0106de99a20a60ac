"""The SIP call's RTP port (gateways/sip/media.py) on real loopback sockets: only the carrier
may send into it; RFC 4733 key presses cross it both ways (8 kHz on the trunk, 48 kHz in the
SFU), between a socket playing the carrier and a participant of a forwarder."""

from __future__ import annotations

import asyncio
import socket

import pytest

from switchboard.gateways.sip.media import open_bridge
from switchboard.gateways.sip.sdp import Media
from switchboard.media.forwarder import Forwarder
from switchboard.media.local_leg import LocalLeg
from switchboard.media.rtp import RtpPacket
from switchboard.media.streams import MediaKind
from tests.unit.test_media_local_leg import Sink

KEY_5 = bytes([5, 0x0A, 0x00, 0xA0])  # event 5, volume 10, duration 160 (20 ms at 8 kHz)

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


async def test_key_presses_cross_the_bridge_both_ways_rescaled() -> None:
    loop = asyncio.get_running_loop()
    carrier = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    carrier.bind(("127.0.0.1", 0))
    carrier.setblocking(False)
    forwarder = Forwarder()
    browser = Sink()
    forwarder.add_participant(
        "browser", browser, 0.0, payload_types={"opus": 111, "telephone-event": 126}
    )
    phone = LocalLeg("call", "phone", forwarder)
    bridge = await open_bridge("127.0.0.1", frozenset({"127.0.0.1"}))
    try:
        bridge.set_media(Media("127.0.0.1", carrier.getsockname()[1], "PCMU", 0, 101))
        bridge.connect(phone)

        # the carrier's key ─▶ the browser hears telephone-event at 48 kHz durations
        key = bytes(RtpPacket(101, 1, 8000, 0x5555, KEY_5, marker=True))
        carrier.sendto(key, ("127.0.0.1", bridge.port))
        for _ in range(1000):
            if bridge.events_received:
                break
            await asyncio.sleep(0.005)
        heard = [p for p in browser.rtp if p.payload_type == 126]
        assert [p.payload for p in heard] == [bytes([5, 0x0A, 0x03, 0xC0])]  # 160 × 6 = 960

        # the browser's key ─▶ the carrier gets telephone-event at 8 kHz durations
        forwarder.publish("browser", MediaKind.AUDIO, 0xB0, 111, 0.0)
        press = bytes(RtpPacket(126, 7, 48_000, 0xB0, bytes([9, 0x0A, 0x03, 0xC0])))
        forwarder.receive_rtp(press, len(press), 0.0)
        data = await asyncio.wait_for(loop.sock_recv(carrier, 2048), 10)
        relayed = RtpPacket.parse(data)
        assert (relayed.payload_type, relayed.payload) == (101, bytes([9, 0x0A, 0x00, 0xA0]))
        assert relayed.marker  # the first packet of a new event
    finally:
        bridge.close()
        phone.close()
        carrier.close()
