"""SIP over TLS and SRTP (SDES) on a TLS trunk, against a carrier of the test's own: this
SIPp (Debian's 3.6.1) is built without OpenSSL ("To use a TLS transport you must compile
SIPp with OpenSSL") and has no SRTP, so ``TlsCarrier`` plays the carrier: a TLS server with
its own CA's certificate, a SIP framer by Content-Length, and pylibsrtp for its media — it
checks what it receives (Via over TLS, RTP/SAVP, our a=crypto key) before it answers.

    our call out ─▶ TLS to the carrier (its certificate verified against the trunk's
        ca_file) ─▶ INVITE with RTP/SAVP + our key ─▶ 200 with its key ─▶ SRTP both ways:
        the carrier decrypts our RTP with our key; its SRTP is taken, its plain RTP dropped
    the carrier calls in on our TLS port (the node's certificate, verified by the carrier)
        ─▶ our 200 answers RTP/SAVP with a key of ours
    a trunk whose ca_file is another CA ─▶ the handshake fails ─▶ the call fails (503)
    a node with sip_tls_port ─▶ SIP over TLS there with its HTTPS certificate
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import ssl
from pathlib import Path

import pylibsrtp
import pytest

from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import InboundPhoneCall, PhoneCallListener
from switchboard.gateways.sip import SipCarrier, SipRouting
from switchboard.gateways.sip.trunks import Route, Transport, Trunk
from switchboard.http.tls import (
    TlsMaterial,
    client_ssl_context,
    ensure_tls_material,
    server_ssl_context,
)
from switchboard.media.forwarder import Forwarder
from switchboard.media.local_leg import LocalLeg
from switchboard.media.rtp import RtpPacket
from tests.integration.calling_clients import closed_port
from tests.integration.inprocess_node import serving
from tests.integration.sipp_carrier import free_udp_port

pytestmark = pytest.mark.anyio
SUITE = "AES_CM_128_HMAC_SHA1_80"
CRYPTO = re.compile(rb"a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def header(message: bytes, name: str) -> str:
    found = re.search(rb"^" + name.encode() + rb": *(.*?)\r$", message, re.M | re.I)
    assert found is not None, (name, message)
    return found.group(1).decode()


def response(request: bytes, status: str, sdp: bytes = b"", to_tag: str = "carrier") -> bytes:
    to = header(request, "To")
    to = to if ";tag=" in to else f"{to};tag={to_tag}"
    lines = [f"SIP/2.0 {status}"]
    lines += [f"Via: {v.decode()}" for v in re.findall(rb"^Via: *(.*?)\r$", request, re.M)]
    lines += [f"From: {header(request, 'From')}", f"To: {to}"]
    lines += [f"Call-ID: {header(request, 'Call-ID')}", f"CSeq: {header(request, 'CSeq')}"]
    lines += ["Contact: <sip:carrier@127.0.0.1;transport=tls>"]
    if sdp:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(sdp)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + sdp


def srtp_sdp(port: int, key: bytes) -> bytes:
    inline = base64.b64encode(key).decode()
    return (
        "v=0\r\no=carrier 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        f"a=crypto:1 {SUITE} inline:{inline}\r\n"
    ).encode()


class SipStream:
    """Messages off a TLS stream, cut by Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def next(self) -> bytes:
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = int(header(head, "Content-Length"))
        return head + await self.reader.readexactly(length)

    def send(self, data: bytes) -> None:
        self.writer.write(data)


class RtpPeer(asyncio.DatagramProtocol):
    """The carrier's media socket: decrypts what arrives with the key our SDP gave."""

    def __init__(self) -> None:
        self.inbound: pylibsrtp.Session | None = None
        self.authentic = 0  # SRTP packets that decrypted with our key
        self.arrived = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.inbound is None:
            return
        try:
            packet = RtpPacket.parse(self.inbound.unprotect(data))
        except pylibsrtp.Error:
            return
        if packet.payload_type == 0 and len(packet.payload) == 160:
            self.authentic += 1
            self.arrived.set()


def session(key: bytes, *, outbound: bool) -> pylibsrtp.Session:
    ssrc = pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
    return pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=ssrc))


class Answered:
    def __init__(self) -> None:
        self.outcome: asyncio.Future[EndReason | None] = asyncio.get_running_loop().create_future()

    def answered(self) -> None:
        self.outcome.set_result(None)

    def failed(self, reason: EndReason) -> None:
        self.outcome.set_result(reason)

    def ended(self) -> None:
        pass


class AnswerAtOnce:
    def __init__(self) -> None:
        self.calls: list[InboundPhoneCall] = []

    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        self.calls.append(call)
        call.answer(LocalLeg("in", "phone", Forwarder()))
        return Answered()


def materials(tmp_path: Path) -> tuple[TlsMaterial, TlsMaterial]:
    return (
        ensure_tls_material(tmp_path / "node", ["127.0.0.1"]),
        ensure_tls_material(tmp_path / "carrier", ["127.0.0.1"]),
    )


async def test_a_call_over_a_tls_trunk_is_signalled_over_tls_and_its_media_is_srtp(
    tmp_path: Path,
) -> None:
    node_tls, carrier_tls = materials(tmp_path)
    loop = asyncio.get_running_loop()
    invites: asyncio.Queue[SipStream] = asyncio.Queue()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await invites.put(SipStream(reader, writer))

    server = await asyncio.start_server(
        accepted, "127.0.0.1", 0, ssl=server_ssl_context(carrier_tls)
    )
    port = server.sockets[0].getsockname()[1]
    rtp_transport, peer = await loop.create_datagram_endpoint(RtpPeer, local_addr=("127.0.0.1", 0))
    rtp_port = rtp_transport.get_extra_info("sockname")[1]
    trunk = Trunk(
        "secure",
        "127.0.0.1",
        port,
        Transport.TLS,
        options_seconds=0,
        ca_file=str(carrier_tls.ca_cert),
    )
    routing = SipRouting([trunk], [Route("all", re.compile(r"\+.*"), ("secure",))])
    inbound = AnswerAtOnce()
    carrier = SipCarrier(routing, inbound, port=0, tls=(0, server_ssl_context(node_tls)))
    await carrier.start()
    try:
        async with asyncio.timeout(20):
            listener = Answered()
            call = carrier.dial("+14255550100", "+15550001234", listener)
            stream = await invites.get()
            invite = await stream.next()
            assert invite.startswith(b"INVITE sip:+15550001234@127.0.0.1")
            assert header(invite, "Via").startswith("SIP/2.0/TLS ")
            assert ";transport=tls" in header(invite, "Contact")
            assert b"m=audio " in invite and b" RTP/SAVP 0 8 101" in invite
            found = CRYPTO.search(invite)
            assert found is not None
            our_key = base64.b64decode(found.group(2))
            assert len(our_key) == 30
            peer.inbound = session(our_key, outbound=False)
            their_key = os.urandom(30)
            stream.send(response(invite, "200 OK", srtp_sdp(rtp_port, their_key)))
            assert await listener.outcome is None
            ack = await stream.next()
            assert ack.startswith(b"ACK ")

            bridge = call.bridge
            assert bridge is not None
            call.connect_media(LocalLeg("out", "phone", Forwarder()))
            while peer.authentic < 3:  # our RTP, decrypted by the carrier with our key
                carrier.tick()
                peer.arrived.clear()
                await peer.arrived.wait()
            outbound = session(their_key, outbound=True)
            plain = RtpPacket(0, 1, 160, 0xCA11, b"\x7f" * 160)
            rtp_transport.sendto(bytes(plain), ("127.0.0.1", bridge.port))  # not SRTP: dropped
            for seq in (2, 3):
                packet = RtpPacket(0, seq, 160 * seq, 0xCA11, b"\x7f" * 160)
                rtp_transport.sendto(outbound.protect(bytes(packet)), ("127.0.0.1", bridge.port))
            for _ in range(1000):  # the loop reads the three datagrams in order
                if bridge.received >= 2:
                    break
                await asyncio.sleep(0.005)
            assert bridge.received == 2  # the two authenticated ones only

            # the carrier calls in, on our TLS port, verifying the node's certificate
            assert carrier.endpoint.tls_address is not None
            reader, writer = await asyncio.open_connection(
                "127.0.0.1",
                carrier.endpoint.tls_address[1],
                ssl=client_ssl_context(node_tls),
                server_hostname="127.0.0.1",
            )
            incoming = SipStream(reader, writer)
            offer = srtp_sdp(rtp_port, their_key)
            incoming.send(
                (
                    "INVITE sip:+14255550100@127.0.0.1 SIP/2.0\r\n"
                    "Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-in-1\r\n"
                    "From: <sip:+15550009999@127.0.0.1>;tag=in1\r\n"
                    "To: <sip:+14255550100@127.0.0.1>\r\nCall-ID: tls-in-1\r\n"
                    "CSeq: 1 INVITE\r\nContact: <sip:carrier@127.0.0.1;transport=tls>\r\n"
                    "Max-Forwards: 70\r\nContent-Type: application/sdp\r\n"
                    f"Content-Length: {len(offer)}\r\n\r\n"
                ).encode()
                + offer
            )
            answer = b""
            while not answer.startswith(b"SIP/2.0 200"):
                answer = await incoming.next()
            assert b"RTP/SAVP" in answer and CRYPTO.search(answer) is not None
            assert CRYPTO.search(answer).group(1) == b"1"  # type: ignore[union-attr]
            assert inbound.calls and inbound.calls[0].called == "+14255550100"
            writer.close()
            call.hang_up()
            bye = await stream.next()
            assert bye.startswith(b"BYE ")
            stream.send(response(bye, "200 OK"))
    finally:
        await carrier.stop()
        rtp_transport.close()
        server.close()


async def test_a_tls_trunk_whose_certificate_does_not_verify_is_not_called(
    tmp_path: Path,
) -> None:
    node_tls, carrier_tls = materials(tmp_path)
    handshakes = 0

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal handshakes
        handshakes += 1
        writer.close()

    server = await asyncio.start_server(
        accepted, "127.0.0.1", 0, ssl=server_ssl_context(carrier_tls)
    )
    port = server.sockets[0].getsockname()[1]
    # the trunk trusts the node's CA, not the one that signed the carrier's certificate
    trunk = Trunk(
        "mistrusted",
        "127.0.0.1",
        port,
        Transport.TLS,
        options_seconds=0,
        ca_file=str(node_tls.ca_cert),
    )
    routing = SipRouting([trunk], [Route("all", re.compile(r"\+.*"), ("mistrusted",))])
    carrier = SipCarrier(routing, AnswerAtOnce(), port=0, invite_timeout=600)
    await carrier.start()
    try:
        async with asyncio.timeout(20):
            listener = Answered()
            carrier.dial("+14255550100", "+15550001234", listener)
            reason = await listener.outcome
        assert reason is not None and reason.code == 503  # at once, not after 600 s
        assert handshakes == 0  # no SIP ever reached it
    finally:
        await carrier.stop()
        server.close()


async def test_a_node_with_sip_tls_port_answers_sip_over_tls_with_its_own_certificate(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The config's sip_tls_port: the node listens for SIP over TLS with the certificate of
    its HTTPS listener (a client trusting the node's CA verifies it) and answers a trunk's
    OPTIONS there."""
    tls_port = closed_port()
    overrides = {
        "sip_port": free_udp_port(),
        "sip_tls_port": tls_port,
        "trunks": [{"host": "127.0.0.1", "port": 5099, "options_seconds": 0}],
    }
    async with serving(tmp_path_factory.mktemp("sip-tls-node"), overrides) as node:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1",
            tls_port,
            ssl=ssl.create_default_context(cafile=node.ca_path),
            server_hostname="127.0.0.1",
        )
        writer.write(
            b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK-tls\r\n"
            b"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tls-opt\r\n"
            b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        reply = await asyncio.wait_for(SipStream(reader, writer).next(), 10)
        assert reply.startswith(b"SIP/2.0 200 OK")
        writer.close()
