"""One WebRTC leg of the Janus benchmark: SDP, ICE (controlling) and DTLS-SRTP on a UDP socket.

Janus runs ICE-lite here, so this side is the full, controlling agent: it sends Binding
requests (USE-CANDIDATE) to Janus's one host candidate until one is answered, answers any
check Janus sends, and is the DTLS server (``a=setup:passive`` in answers; Janus answers our
``actpass`` offers with ``active``), reusing the media node's ``DtlsServer``. Once keyed the
socket belongs to a ``bench.sfu.Peer``, which sends and counts the media exactly as against
our node.

    offer/answer ─▶ Janus's candidate ─▶ Binding request ×n ─▶ success ─▶ Janus: ClientHello
        ─▶ DtlsServer ─▶ … ─▶ keys ─▶ Peer.set_keys ─▶ SRTP media
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass, field

from aioice import stun

from switchboard.media.dtls import DtlsCertificate, DtlsKeys, DtlsServer, DtlsState
from switchboard.media.transport import SOCKET_BUFFER, size_socket_buffers

Address = tuple[str, int]
CONNECT_SECONDS = 10.0


@dataclass
class MediaSection:
    kind: str  # audio | video
    mid: str
    payload_type: int
    rtpmap: str  # "opus/48000/2"


@dataclass
class RemoteDescription:
    ufrag: str = ""
    pwd: str = ""
    candidate: Address | None = None
    sections: list[MediaSection] = field(default_factory=list)


def parse_sdp(sdp: str) -> RemoteDescription:
    """What this leg needs of Janus's SDP: ICE credentials, a UDP host candidate, m-lines."""
    remote = RemoteDescription()
    section: MediaSection | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind, _, _, *pts = line[2:].split()
            section = MediaSection(kind, "", int(pts[0]) if pts else 0, "")
            remote.sections.append(section)
        elif line.startswith("a=ice-ufrag:"):
            remote.ufrag = line.split(":", 1)[1].strip()
        elif line.startswith("a=ice-pwd:"):
            remote.pwd = line.split(":", 1)[1].strip()
        elif line.startswith("a=candidate:") and remote.candidate is None:
            parts = line.split()
            if parts[2].lower() == "udp" and "." in parts[4]:
                remote.candidate = (parts[4], int(parts[5]))
        elif section is not None and line.startswith("a=mid:"):
            section.mid = line.split(":", 1)[1].strip()
        elif section is not None and line.startswith(f"a=rtpmap:{section.payload_type} "):
            section.rtpmap = line.split(" ", 1)[1].strip()
    return remote


class JanusLeg:
    """One PeerConnection's transport: a socket, our ICE credentials and a DTLS server."""

    def __init__(self, host: str, certificate: DtlsCertificate) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        size_socket_buffers(self.sock, SOCKET_BUFFER)
        self.sock.setblocking(False)
        self.sock.bind((host, 0))
        self.address: Address = self.sock.getsockname()
        self.ufrag, self.pwd = secrets.token_hex(4), secrets.token_hex(12)
        self.certificate = certificate
        self.dtls = DtlsServer(certificate)
        self.remote = RemoteDescription()
        self.tie_breaker = secrets.randbits(63)

    def _media(self, kind: str, mid: str, pt: int, rtpmap: str, direction: str) -> list[str]:
        host, port = self.address
        lines = [
            f"m={kind} 9 UDP/TLS/RTP/SAVPF {pt}",
            f"c=IN IP4 {host}",
            f"a=ice-ufrag:{self.ufrag}",
            f"a=ice-pwd:{self.pwd}",
            f"a=fingerprint:sha-256 {self.certificate.fingerprint}",
            f"a=mid:{mid}",
            f"a={direction}",
            "a=rtcp-mux",
            f"a=rtpmap:{pt} {rtpmap}",
            f"a=candidate:1 1 udp 2130706431 {host} {port} typ host",
            "a=end-of-candidates",
        ]
        if kind == "video":
            lines += [f"a=rtcp-fb:{pt} nack", f"a=rtcp-fb:{pt} nack pli", f"a=rtcp-fb:{pt} ccm fir"]
        return lines

    def publisher_offer(self, audio_ssrc: int, video_ssrc: int) -> str:
        lines = _session_lines(["0", "1"])
        for kind, pt, rtpmap, ssrc in (
            ("audio", 111, "opus/48000/2", audio_ssrc),
            ("video", 96, "VP8/90000", video_ssrc),
        ):
            lines += self._media(kind, "0" if kind == "audio" else "1", pt, rtpmap, "sendonly")
            lines += ["a=setup:actpass", f"a=ssrc:{ssrc} cname:bench{self.ufrag}"]
            if kind == "audio":
                lines.append("a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level")
        return "\r\n".join(lines) + "\r\n"

    def subscriber_answer(self, offer: RemoteDescription) -> str:
        lines = _session_lines([s.mid for s in offer.sections])
        for s in offer.sections:
            lines += self._media(s.kind, s.mid, s.payload_type, s.rtpmap, "recvonly")
            lines.append("a=setup:passive")
        return "\r\n".join(lines) + "\r\n"

    async def connect(self, remote: RemoteDescription) -> DtlsKeys:
        """ICE checks until answered, then the DTLS handshake Janus starts; the SRTP keys."""
        if remote.candidate is None:
            raise RuntimeError("Janus's SDP has no UDP host candidate")
        self.remote = remote
        loop = asyncio.get_running_loop()
        keyed: asyncio.Future[DtlsKeys] = loop.create_future()
        loop.add_reader(self.sock.fileno(), self._on_handshake_datagram, keyed)
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                while not keyed.done():
                    self._check()
                    await asyncio.wait({keyed}, timeout=0.05)  # Janus retransmits DTLS
                return await keyed
        finally:
            loop.remove_reader(self.sock.fileno())

    def _check(self) -> None:
        request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
        request.attributes["USERNAME"] = f"{self.remote.ufrag}:{self.ufrag}"
        request.attributes["PRIORITY"] = 1853824767
        request.attributes["ICE-CONTROLLING"] = self.tie_breaker
        request.attributes["USE-CANDIDATE"] = None
        request.add_message_integrity(self.remote.pwd.encode())
        request.add_fingerprint()
        assert self.remote.candidate is not None
        self.sock.sendto(bytes(request), self.remote.candidate)

    def _on_handshake_datagram(self, keyed: asyncio.Future[DtlsKeys]) -> None:
        while True:
            try:
                data, source = self.sock.recvfrom(2048)
            except BlockingIOError:
                return
            if data and data[0] < 4:
                self._answer_check(data, source)
            elif data and 20 <= data[0] < 64:
                for datagram in self.dtls.receive(data):
                    self.sock.sendto(datagram, source)
                if self.dtls.state is DtlsState.CONNECTED and not keyed.done():
                    assert self.dtls.keys is not None
                    keyed.set_result(self.dtls.keys)
                elif self.dtls.state is DtlsState.FAILED and not keyed.done():
                    keyed.set_exception(RuntimeError("DTLS handshake with Janus failed"))

    def _answer_check(self, data: bytes, source: Address) -> None:
        try:
            message = stun.parse_message(data)
        except ValueError:
            return
        if message.message_class != stun.Class.REQUEST:
            return  # the answer to our check: Janus now sends its ClientHello
        response = stun.Message(
            stun.Method.BINDING,
            stun.Class.RESPONSE,
            transaction_id=message.transaction_id,
            attributes={"XOR-MAPPED-ADDRESS": source},
        )
        response.add_message_integrity(self.pwd.encode())
        response.add_fingerprint()
        self.sock.sendto(bytes(response), source)


def _session_lines(mids: list[str]) -> list[str]:
    return [
        "v=0",
        f"o=- {secrets.randbits(62)} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        f"a=group:BUNDLE {' '.join(mids)}",
        "a=msid-semantic: WMS *",
    ]
