"""The media node on real sockets: SRTP over UDP on loopback, three participants."""

from __future__ import annotations

import asyncio
import os
import random
from collections import defaultdict
from typing import cast

import pytest

from switchboard.media import rtcp
from switchboard.media.codecs import VideoCodec
from switchboard.media.node import (
    LocalMediaNode,
    MediaCallNotFoundError,
    SrtpKeys,
    SubscriberOptions,
    TrackSpec,
)
from switchboard.media.rtp import RtpPacket, is_rtcp
from switchboard.media.srtp import SrtpContext
from switchboard.media.streams import MediaKind

pytestmark = pytest.mark.anyio
KEY = b"\x10\x00key"
DELTA = b"\x10\x01delta"


class Client(asyncio.DatagramProtocol):
    """A participant: its own keys, its own socket; decrypts what the node sends it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.my_key, self.node_key = os.urandom(30), os.urandom(30)
        self.tx = SrtpContext(self.my_key, outbound=True)
        self.rx = SrtpContext(self.node_key, outbound=False)
        self.audio_ssrc, self.video_ssrc = random.getrandbits(32), random.getrandbits(32)
        self.rtp: list[RtpPacket] = []
        self.rtcp: list[rtcp.RtcpPacket] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.node: tuple[str, int] = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if is_rtcp(data):
            self.rtcp.extend(rtcp.parse_rtcp(self.rx.unprotect_rtcp(data)))
        else:
            self.rtp.append(RtpPacket.parse(self.rx.unprotect(data)))

    def send(self, packet: RtpPacket) -> None:
        assert self.transport is not None
        self.transport.sendto(self.tx.protect(bytes(packet)), self.node)


async def until(condition: object, what: str) -> None:
    for _ in range(300):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_three_participants_receive_each_other_over_srtp_with_continuous_sequences() -> None:
    node = LocalMediaNode()
    await node.start()
    loop = asyncio.get_running_loop()
    clients = [Client(name) for name in ("alice", "bob", "carol")]
    try:
        await node.create_call("call-1")
        for client in clients:
            await loop.create_datagram_endpoint(lambda c=client: c, local_addr=("127.0.0.1", 0))  # type: ignore[misc]
            params = await node.add_participant("call-1", client.name, SubscriberOptions())
            client.node = (params.host, params.port)
            assert client.transport is not None
            address = client.transport.get_extra_info("sockname")
            keys = SrtpKeys(local=client.node_key, remote=client.my_key)
            await node.set_keys("call-1", client.name, keys, address)
            await node.publish(
                "call-1", client.name, TrackSpec(MediaKind.AUDIO, client.audio_ssrc, 111)
            )
            spec = TrackSpec(MediaKind.VIDEO, client.video_ssrc, 96, VideoCodec.VP8)
            await node.publish("call-1", client.name, spec)

        await until(
            lambda: all(
                any(isinstance(p, rtcp.PictureLossIndication) for p in c.rtcp) for c in clients
            ),
            "key-frame requests to every publisher",
        )
        for seq in range(20):
            for client in clients:
                tag = client.name.encode()
                client.send(RtpPacket(111, 60_000 + seq, 960 * seq, client.audio_ssrc, b"a:" + tag))
                video = KEY if seq == 0 else DELTA
                client.send(
                    RtpPacket(
                        96, (65_530 + seq) & 0xFFFF, 3000 * seq, client.video_ssrc, video + tag
                    )
                )
            await asyncio.sleep(0.002)
        await until(lambda: all(len(c.rtp) == 2 * 2 * 20 for c in clients), "all packets")

        for client in clients:
            streams = {s.ssrc: s for s in await node.streams("call-1", client.name)}
            by_ssrc: dict[int, list[RtpPacket]] = defaultdict(list)
            for packet in client.rtp:
                by_ssrc[packet.ssrc].append(packet)
            assert set(by_ssrc) == set(streams)  # only the SSRCs the node announced
            senders = set()
            for ssrc, packets in by_ssrc.items():
                source = streams[ssrc].source_participant_id
                assert source is not None and source != client.name
                senders.add(source)
                assert all(p.payload.endswith(source.encode()) for p in packets)
                first = packets[0].sequence_number
                assert [p.sequence_number for p in packets] == [
                    (first + i) & 0xFFFF for i in range(20)
                ]
            assert senders == {c.name for c in clients} - {client.name}
    finally:
        await node.stop()
        for client in clients:
            if client.transport is not None:
                client.transport.close()


async def test_unknown_call_is_reported_as_not_found() -> None:
    node = LocalMediaNode()
    with pytest.raises(MediaCallNotFoundError):
        await node.add_participant("nope", "alice", SubscriberOptions())
