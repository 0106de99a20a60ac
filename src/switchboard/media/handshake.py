"""One participant's ICE-lite + DTLS on its media socket, and the node's UDP port range.

The transport hands every non-RTP datagram here (RFC 7983 demux by first byte):

    STUN (0–3) ─▶ IceLiteAgent ─▶ Binding success back; nominated source ─▶ transport.remote
    DTLS (20–63) ─▶ DtlsServer ─▶ handshake flights back ─▶ connected: fingerprint matches
        the SDP's? ─▶ transport.set_keys(node key, participant key): SRTP on the fast path

Before ``expect`` (the participant's SDP is known) ICE checks still get answers, but DTLS
keys are only installed once the fingerprint has been checked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from switchboard.media.dtls import DtlsCertificate, DtlsServer, DtlsState, fingerprint_matches
from switchboard.media.ice import IceLiteAgent, new_credentials
from switchboard.media.transport import Address, UdpTransport

logger = logging.getLogger(__name__)


class PeerHandshake:
    def __init__(
        self, participant_id: str, transport: UdpTransport, certificate: DtlsCertificate
    ) -> None:
        self.participant_id = participant_id
        self.transport = transport
        self.ice = IceLiteAgent(*new_credentials())
        self.dtls = DtlsServer(certificate)
        self.expected_fingerprint: str | None = None
        self.keyed = False
        self._dtls_source: Address | None = None

    def expect(self, remote_ufrag: str, fingerprint: str) -> None:
        self.ice.remote_ufrag = remote_ufrag
        self.expected_fingerprint = fingerprint
        self._install_keys()

    def receive(self, data: bytes, source: Address) -> None:
        first = data[0]
        if first < 4:
            result = self.ice.receive(data, source)
            if result.response is not None:
                self.transport.send_raw(result.response, source)
            if result.selected:
                self.transport.set_remote(source)
            return
        if source != self.transport.remote and self.ice.selected is not None:
            return  # DTLS only from the address ICE chose
        self._dtls_source = source
        for datagram in self.dtls.receive(data):
            self.transport.send_raw(datagram, source)
        self._install_keys()

    def tick(self) -> None:
        """Retransmit a handshake flight that got no answer (the node's 100 ms tick)."""
        timeout = self.dtls.timeout()
        if timeout is not None and timeout <= 0 and self._dtls_source is not None:
            for datagram in self.dtls.handle_timeout():
                self.transport.send_raw(datagram, self._dtls_source)

    def _install_keys(self) -> None:
        keys = self.dtls.keys
        if self.keyed or keys is None or self.expected_fingerprint is None:
            return
        actual = self.dtls.peer_fingerprint or ""
        if not fingerprint_matches(self.expected_fingerprint, actual):
            logger.warning("participant %s: DTLS fingerprint mismatch", self.participant_id)
            self.dtls.state = DtlsState.FAILED
            return
        self.transport.set_keys(keys.local, keys.remote, keys.profile)
        if self.transport.remote is None and self._dtls_source is not None:
            self.transport.set_remote(self._dtls_source)
        self.keyed = True


class PortRange:
    """Which UDP ports of ``[low, high]`` the node's transports hold (firewall-friendly)."""

    def __init__(self, low: int, high: int) -> None:
        if not 0 < low <= high < 65536:
            raise ValueError(f"bad media port range {low}-{high}")
        self.low, self.high = low, high
        self._used: set[int] = set()
        self._next = low

    def candidates(self) -> Iterator[int]:
        """Free ports to try, round robin; the caller binds one and keeps it."""
        span = self.high - self.low + 1
        for step in range(span):
            port = self.low + (self._next - self.low + step) % span
            if port in self._used:
                continue
            self._used.add(port)
            self._next = port + 1 if port < self.high else self.low
            yield port
            self._used.discard(port)  # resumed: binding it failed

    def release(self, port: int) -> None:
        self._used.discard(port)
