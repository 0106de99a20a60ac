"""DTLS-SRTP for the media node (RFC 5764): the handshake only, then the keys leave for libsrtp.

The node is always the DTLS server (``a=setup:passive`` in its answers, ``actpass`` in its
offers, which keeps the established role). One certificate per node; the participant's
certificate is checked against the ``a=fingerprint`` of its SDP. Sans-I/O: OpenSSL works on
memory BIOs; ``receive`` takes a datagram and returns the datagrams to send.

    ClientHello ─▶ receive ─▶ [ServerHello, Certificate, …] ─▶ … ─▶ Finished
        ─▶ state CONNECTED: verify the peer fingerprint, export 60 bytes
           (client key | server key | client salt | server salt) ─▶ SrtpKeys for UdpTransport

Media never passes through here: once keyed, SRTP goes straight to ``SrtpContext``. Once
connected, application data records (SCTP for data channels, media/sctp.py) are decrypted to
``on_application_data`` and ``send`` encrypts the other way.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from aiortc.rtcdtlstransport import certificate_digest, generate_certificate
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import SSL

from switchboard.media.srtp import AEAD_AES_128_GCM, AES128_CM_SHA1_80

_PROFILES = {  # OpenSSL name → (libsrtp profile, key length, salt length)
    b"SRTP_AEAD_AES_128_GCM": (AEAD_AES_128_GCM, 16, 12),
    b"SRTP_AES128_CM_SHA1_80": (AES128_CM_SHA1_80, 16, 14),
}
_CIPHERS = (
    b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
    b"ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"
)
MTU = 1200


class DtlsState(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class DtlsKeys:
    local: bytes  # the server's key + salt: protects what the node sends
    remote: bytes  # the client's: unprotects what the participant sends
    profile: int


class DtlsCertificate:
    """The node's self-signed ECDSA certificate and its SHA-256 fingerprint."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = generate_certificate(self._key)
        self.fingerprint = certificate_digest(self._cert, "sha-256")

    def context(self) -> SSL.Context:
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_options(SSL.OP_NO_TICKET | SSL.OP_NO_QUERY_MTU)
        # The peer's self-signed certificate is checked against its SDP fingerprint instead.
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *_: True)
        ctx.use_certificate(self._cert)
        ctx.use_privatekey(self._key)
        ctx.set_cipher_list(_CIPHERS)
        ctx.set_tlsext_use_srtp(b":".join(_PROFILES))
        return ctx


def fingerprint_matches(expected: str, actual: str) -> bool:
    return hmac.compare_digest(expected.upper(), actual.upper())


class DtlsServer:
    def __init__(self, certificate: DtlsCertificate) -> None:
        self._ssl = SSL.Connection(certificate.context(), None)
        self._ssl.set_accept_state()
        self._ssl.set_ciphertext_mtu(MTU)
        self.state = DtlsState.CONNECTING
        self.keys: DtlsKeys | None = None
        self.peer_fingerprint: str | None = None
        self.on_application_data: Callable[[bytes], None] | None = None

    def receive(self, data: bytes) -> list[bytes]:
        """One DTLS datagram from the participant; the datagrams to answer with."""
        if self.state is not DtlsState.CONNECTING:
            if self.state is DtlsState.CONNECTED:
                self._read_application_data(data)
            return []
        self._ssl.bio_write(data)
        try:
            self._ssl.do_handshake()
        except SSL.WantReadError:
            return self._outgoing()
        except SSL.Error:
            self.state = DtlsState.FAILED
            return self._outgoing()
        self._connected()
        return self._outgoing()

    def timeout(self) -> float | None:
        """Seconds until ``handle_timeout`` should run (handshake retransmission)."""
        if self.state is not DtlsState.CONNECTING:
            return None
        return self._ssl.DTLSv1_get_timeout()

    def handle_timeout(self) -> list[bytes]:
        if self.state is DtlsState.CONNECTING:
            self._ssl.DTLSv1_handle_timeout()
        return self._outgoing()

    def _connected(self) -> None:
        certificate = self._ssl.get_peer_certificate(as_cryptography=True)
        profile = _PROFILES.get(self._ssl.get_selected_srtp_profile())
        if certificate is None or profile is None:
            self.state = DtlsState.FAILED
            return
        self.peer_fingerprint = certificate_digest(certificate, "sha-256")
        srtp_profile, key_length, salt_length = profile
        material = self._ssl.export_keying_material(
            b"EXTRACTOR-dtls_srtp", 2 * (key_length + salt_length)
        )
        client_key = material[:key_length]
        server_key = material[key_length : 2 * key_length]
        client_salt = material[2 * key_length : 2 * key_length + salt_length]
        server_salt = material[2 * key_length + salt_length :]
        self.keys = DtlsKeys(server_key + server_salt, client_key + client_salt, srtp_profile)
        self.state = DtlsState.CONNECTED

    def send(self, data: bytes) -> list[bytes]:
        """Application data (one SCTP packet) as the datagrams to send; none if not connected."""
        if self.state is not DtlsState.CONNECTED:
            return []
        try:
            self._ssl.send(data)
        except SSL.Error:
            return []
        return self._outgoing()

    def _read_application_data(self, data: bytes) -> None:
        # Read even with no one listening, so that alerts (close_notify) are processed.
        self._ssl.bio_write(data)
        try:
            record = self._ssl.recv(2048)
        except SSL.ZeroReturnError:
            self.state = DtlsState.CLOSED
            return
        except SSL.Error:
            return
        if record and self.on_application_data is not None:
            self.on_application_data(record)

    def _outgoing(self) -> list[bytes]:
        out: list[bytes] = []
        while True:
            try:
                chunk = self._ssl.bio_read(1500)
            except SSL.Error:
                break
            if not chunk:
                break
            out.append(chunk)
        return out
