"""RtpBridge: one SIP call's RTP (G.711, RFC 4733) ⇄ its LocalLeg on the SFU (48 kHz PCM).

    trunk ─RTP─▶ datagram_received ─▶ audio: JitterBuffer ; telephone-event: the leg's
        RFC 4733 path at once (so ``recognize`` sees the key), a new event per timestamp
    tick() every 20 ms (the node's EndpointTicker):
        JitterBuffer.pop ─▶ G.711 decode ─▶ 20 ms frames at 8 kHz ─▶ leg.send_narrowband
        (libopus codes 8 kHz itself; any ptime: a 30 ms packet is a frame and a half)
        what the leg heard since the last tick (decoded at 8 kHz by libopus), every
        publisher mixed ─▶ G.711 encode ─▶ one RTP packet to the trunk (silence when
        nothing was heard)
    a telephone event another participant sends (RFC 4733 at 48 kHz) ─▶ relayed at 8 kHz

RTP goes to the address the SDP named until a packet arrives from elsewhere (symmetric RTP:
behind NAT the source is the address that works); only the SDP's address and the trunks'
hosts may send it (anyone else's packets are dropped, so nobody can speak into or take over
the call by guessing its port). RTCP (rtcp_reports.py) on the next port: SR/RR every ~5 s,
the carrier's reports read (the same hosts only). On TLS trunks both are SRTP/SRTCP
(AES_CM_128_HMAC_SHA1_80, SDES keys from the SDP: ours protects, theirs authenticates;
a packet that does not authenticate is dropped).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import struct
import time
from typing import cast

import numpy as np

from switchboard.gateways.sip import g711
from switchboard.gateways.sip.jitter import JitterBuffer
from switchboard.gateways.sip.rtcp_reports import INTERVAL, RtcpReporter
from switchboard.gateways.sip.sdp import SRTP_KEY_LENGTH, Media
from switchboard.media.local_leg import LocalLeg
from switchboard.media.rtp import HEADER, RtpPacket, RtpParseError
from switchboard.media.srtp import SrtpContext, SrtpError

log = logging.getLogger(__name__)

SAMPLES_8K = 160
MAX_PAYLOAD = 480  # 60 ms of G.711: more is no carrier's ptime (a bogus packet: dropped)
PORT_PAIR_ATTEMPTS = 50
_EVENT = struct.Struct(">BBH")


class RtpBridge(asyncio.DatagramProtocol):
    def __init__(
        self,
        peer_hosts: frozenset[str] = frozenset(),
        *,
        rtcp_interval: float = INTERVAL,
        srtp_key: bytes | None = None,
    ) -> None:
        self.peer_hosts = peer_hosts  # besides the SDP's address, who may send us RTP
        self.transport: asyncio.DatagramTransport | None = None
        self.media: Media | None = None
        self.leg: LocalLeg | None = None
        self.remote: tuple[str, int] | None = None
        self.jitter = JitterBuffer()
        self.received = 0
        self.sent = 0
        self.events_received = 0
        self.sending = True  # False while the carrier holds us (recvonly / inactive)
        # ours for SDES (TLS trunks offer it); SRTP is on once the agreed media has theirs
        self.srtp_key = srtp_key or os.urandom(SRTP_KEY_LENGTH)
        self._srtp_out: SrtpContext | None = None
        self._srtp_in: SrtpContext | None = None
        self._remote_key: bytes | None = None
        self._ssrc = random.getrandbits(32)
        self.rtcp = RtcpReporter(
            self._ssrc, f"switchboard-{self._ssrc:08x}", interval=rtcp_interval
        )
        self.rtcp_transport: asyncio.DatagramTransport | None = None  # our port + 1
        self.rtcp_remote: tuple[str, int] | None = None
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._mix: np.ndarray | None = None
        self._pending = np.zeros(0, dtype=np.int16)  # 8 kHz audio not yet sent to the leg
        self._mixed = False  # _mix holds more than one publisher's frame (int32)
        self._last_event_ts: int | None = None
        self._last_ended = False
        self._remote_ssrc: int | None = None
        self._relayed_event_ts: int | None = None
        self._relay_start = 0

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # 3.11's selector datagram transport is not a DatagramTransport subclass
        self.transport = cast(asyncio.DatagramTransport, transport)

    def set_media(self, media: Media) -> None:
        if media.remote_key is not None and media.remote_key != self._remote_key:
            self._remote_key = media.remote_key  # a new key: a new inbound context
            self._srtp_in = SrtpContext(media.remote_key, outbound=False)
            if self._srtp_out is None:
                self._srtp_out = SrtpContext(self.srtp_key, outbound=True)
        self.media = media
        self.remote = (media.address, media.port)
        self.rtcp_remote = (media.address, media.port + 1)  # RFC 3550 §11 (no a=rtcp read)

    def connect(self, leg: LocalLeg) -> None:
        """Bridge ``leg`` (the one before, early media's, is let go)."""
        if self.leg is not None and self.leg is not leg:
            self.leg.listen_all(None)
            self.leg.on_telephone_event(None)
        self.leg = leg
        leg.listen_all(self._heard, narrowband=True)  # G.711 carries nothing above 4 kHz
        leg.on_telephone_event(self._event_in_call)

    def close(self) -> None:
        if self.leg is not None:
            self.leg.listen_all(None)
            self.leg.on_telephone_event(None)
            self.leg = None
        if self.transport is not None:
            self.transport.close()
        if self.rtcp_transport is not None:
            self.rtcp_transport.close()

    # ── from the trunk ───────────────────────────────────────────────────────────────

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        media = self.media
        if media is None:
            return
        if addr[0] != media.address and addr[0] not in self.peer_hosts:
            return  # not the carrier: nobody else may speak into the call
        if self._srtp_in is not None:  # SRTP: only what authenticates with their key
            try:
                data = self._srtp_in.unprotect(data)
            except SrtpError:
                return
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            return
        self.remote = (addr[0], addr[1])  # symmetric RTP
        if packet.payload_type == media.payload_type:
            if packet.ssrc != self._remote_ssrc:
                self._remote_ssrc = packet.ssrc
                self.jitter.reset()
            self.received += 1
            self.jitter.push(packet.sequence_number, packet.payload)
            self.rtcp.received(
                packet.ssrc, packet.sequence_number, packet.timestamp, time.monotonic()
            )
        elif packet.payload_type == media.event_payload_type and len(packet.payload) == 4:
            self._event_from_trunk(packet)

    def _event_from_trunk(self, packet: RtpPacket) -> None:
        if self.leg is None:
            return
        event, flags, duration = _EVENT.unpack(packet.payload)
        end = bool(flags & 0x80)
        # a new timestamp is a new event; so is a press after an ended one (a sender that
        # replays a recording repeats its timestamps)
        new_event = packet.timestamp != self._last_event_ts or (self._last_ended and not end)
        self._last_event_ts = packet.timestamp
        self._last_ended = end
        self.events_received += new_event
        scaled = _EVENT.pack(event, flags, min(0xFFFF, duration * 6))  # 8 kHz → 48 kHz units
        self.leg.send_telephone_event(scaled, new_event=new_event)

    # ── from the call ────────────────────────────────────────────────────────────────

    def _heard(self, publisher: str, pcm: bytes) -> None:
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.size != SAMPLES_8K:
            return
        if self._mix is None:
            self._mix = samples  # one publisher (the usual case): no mixing, no clipping
            self._mixed = False
        else:
            if not self._mixed:
                self._mix = self._mix.astype(np.int32)
                self._mixed = True
            self._mix += samples

    def _event_in_call(self, publisher: str, payload: bytes, timestamp: int) -> None:
        media = self.media
        if media is None or media.event_payload_type is None or len(payload) != 4:
            return
        new_event = timestamp != self._relayed_event_ts
        if new_event:
            self._relayed_event_ts = timestamp
            self._relay_start = self._ts
        event, flags, duration = _EVENT.unpack(payload)
        scaled = _EVENT.pack(event, flags, duration // 6)
        self._send(media.event_payload_type, scaled, self._relay_start, marker=new_event)

    # ── every 20 ms ──────────────────────────────────────────────────────────────────

    def tick(self) -> None:
        media = self.media
        if media is None or self.leg is None:
            return
        # Packets of any ptime (10, 20, 30 ms …) become 20 ms frames for the leg: decoded
        # audio waits in ``_pending`` and a packet is taken only when less than a frame waits.
        if self._pending.size == 0:  # the usual case: one 20 ms packet, one frame
            payload = self.jitter.pop()
            if payload is not None and 0 < len(payload) <= MAX_PAYLOAD:
                self._pending = g711.decode(media.codec, payload)
        while self._pending.size < SAMPLES_8K:
            payload = self.jitter.pop()
            if payload is None:
                break
            if 0 < len(payload) <= MAX_PAYLOAD:
                pcm = g711.decode(media.codec, payload)
                self._pending = np.concatenate((self._pending, pcm))
        if self._pending.size >= SAMPLES_8K:
            self.leg.send_narrowband(self._pending[:SAMPLES_8K].tobytes())
            self._pending = self._pending[SAMPLES_8K:]
        mix, self._mix = self._mix, None
        if mix is None:
            out = g711.SILENCE[media.codec]
        else:
            if self._mixed:
                mix = np.clip(mix, -32768, 32767).astype(np.int16)
            out = g711.encode(media.codec, mix)
        if self._send(media.payload_type, out, self._ts, marker=False):
            self.rtcp.sent(len(out), self._ts)
        self._ts = (self._ts + SAMPLES_8K) & 0xFFFFFFFF
        now = time.monotonic()
        if self.rtcp.due(now):
            self._send_rtcp(self.rtcp.report(now))

    # ── RTCP (our port + 1) ──────────────────────────────────────────────────────────

    def rtcp_received(self, data: bytes, addr: tuple[str, int]) -> None:
        media = self.media
        if media is None or (addr[0] != media.address and addr[0] not in self.peer_hosts):
            return
        if self._srtp_in is not None:
            try:
                data = self._srtp_in.unprotect_rtcp(data)
            except SrtpError:
                return
        self.rtcp_remote = (addr[0], addr[1])  # symmetric, as for RTP
        self.rtcp.receive(data, time.monotonic())

    def _send_rtcp(self, data: bytes) -> None:
        transport = self.rtcp_transport
        if transport is not None and self.rtcp_remote is not None and not transport.is_closing():
            if self._srtp_out is not None:
                data = self._srtp_out.protect_rtcp(data)
            transport.sendto(data, self.rtcp_remote)

    def _send(self, pt: int, payload: bytes, timestamp: int, *, marker: bool) -> bool:
        if (
            not self.sending
            or self.transport is None
            or self.remote is None
            or self.transport.is_closing()
        ):
            return False
        # the fixed header only (no CSRC, no extension): RtpPacket's bytes, without the object
        marker_pt = 0x80 | pt if marker else pt
        data = HEADER.pack(0x80, marker_pt, self._seq, timestamp, self._ssrc) + payload
        self._seq = (self._seq + 1) & 0xFFFF
        if self._srtp_out is not None:
            data = self._srtp_out.protect(data)
        self.transport.sendto(data, self.remote)
        self.sent += 1
        return True


class _RtcpPort(asyncio.DatagramProtocol):
    def __init__(self, bridge: RtpBridge) -> None:
        self._bridge = bridge

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._bridge.rtcp_received(data, (addr[0], addr[1]))


async def open_bridge(
    host: str,
    peer_hosts: frozenset[str] = frozenset(),
    *,
    rtcp_interval: float = INTERVAL,
) -> RtpBridge:
    """An RTP port (even) and RTCP on the next one (RFC 3550 §11: what a carrier assumes
    when the SDP has no a=rtcp); an odd or unpaired port is let go and another tried."""
    loop = asyncio.get_running_loop()
    for _ in range(PORT_PAIR_ATTEMPTS):
        _, bridge = await loop.create_datagram_endpoint(
            lambda: RtpBridge(peer_hosts, rtcp_interval=rtcp_interval),
            local_addr=(host, 0),
        )
        if bridge.port % 2 == 0 and bridge.port < 65535:
            try:
                rtcp, _ = await loop.create_datagram_endpoint(
                    functools.partial(_RtcpPort, bridge), local_addr=(host, bridge.port + 1)
                )
            except OSError:
                pass
            else:
                bridge.rtcp_transport = rtcp
                return bridge
        bridge.close()
    raise OSError(f"no free RTP/RTCP port pair on {host}")
