"""The SIP call's RTP port (gateways/sip/media.py) on real loopback sockets: only the carrier
may send into it; RFC 4733 key presses cross it both ways (8 kHz on the trunk, 48 kHz in the
SFU), between a socket playing the carrier and a participant of a forwarder; RTCP SR/RR on
the next port both ways."""

from __future__ import annotations

import asyncio
import socket

import pytest

from switchboard.gateways.sip.media import open_bridge
from switchboard.gateways.sip.sdp import Media
from switchboard.media.forwarder import Forwarder
from switchboard.media.local_leg import LocalLeg
from switchboard.media.rtcp import ReceiverReport, ReportBlock, SenderReport, compound, parse_rtcp
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


async def test_the_bridge_reports_rtcp_on_the_next_port_and_reads_the_carriers() -> None:
    """The carrier's RTP (seq 1–10, 3 and 4 lost) goes in; the bridge's SR comes out of its
    port + 1 to the carrier's port + 1, reporting our stream and 2 of its 10 lost; the
    carrier's RR about ours (a quarter lost) is read."""
    loop = asyncio.get_running_loop()
    carrier_rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    carrier_rtp.bind(("127.0.0.1", 0))
    carrier_rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    carrier_rtcp.bind(("127.0.0.1", carrier_rtp.getsockname()[1] + 1))  # free in practice
    carrier_rtcp.setblocking(False)
    phone = LocalLeg("call", "phone", Forwarder())
    bridge = await open_bridge("127.0.0.1", frozenset({"127.0.0.1"}), rtcp_interval=0.05)
    try:
        assert bridge.port % 2 == 0 and bridge.rtcp_transport is not None
        bridge.set_media(Media("127.0.0.1", carrier_rtp.getsockname()[1], "PCMU", 0, 101))
        bridge.connect(phone)
        for seq in (1, 2, 5, 6, 7, 8, 9, 10):
            packet = RtpPacket(0, seq, seq * 160, 0x1234, b"\xff" * 160)
            carrier_rtp.sendto(bytes(packet), ("127.0.0.1", bridge.port))
        for _ in range(1000):
            if bridge.received == 8:
                break
            await asyncio.sleep(0.005)
        report: SenderReport | None = None
        async with asyncio.timeout(10):
            while report is None:
                bridge.tick()  # a 20 ms tick: one RTP packet out, RTCP when due
                try:
                    data = await asyncio.wait_for(loop.sock_recv(carrier_rtcp, 2048), 0.05)
                except TimeoutError:
                    continue
                first = parse_rtcp(data)[0]
                assert isinstance(first, SenderReport)
                report = first
        assert report.ssrc == bridge.rtcp.ssrc and report.packet_count >= 1
        (block,) = report.reports
        assert (block.ssrc, block.packets_lost, block.highest_sequence) == (0x1234, 2, 10)
        assert block.fraction_lost == 51  # 2 of 10, in 256ths

        ours = ReportBlock(bridge.rtcp.ssrc, fraction_lost=64, packets_lost=3, jitter=80)
        carrier_rtcp.sendto(
            compound([ReceiverReport(0x1234, [ours])]), ("127.0.0.1", bridge.port + 1)
        )
        for _ in range(1000):
            if bridge.rtcp.stats.reports_received:
                break
            await asyncio.sleep(0.005)
        stats = bridge.rtcp.stats
        assert (stats.remote_fraction_lost, stats.remote_packets_lost) == (0.25, 3)
        assert stats.remote_jitter_ms == 10.0  # 80 samples at 8 kHz
        assert (stats.packets_received, stats.packets_lost) == (8, 2)
    finally:
        bridge.close()
        phone.close()
        carrier_rtp.close()
        carrier_rtcp.close()
