"""Local TLS material: a private CA and a server certificate it signs.

``ensure_tls_material(directory, hosts)`` keeps these PEM files in ``directory``
(created with mode 0o700 if missing):

* ``ca.pem`` / ``ca-key.pem`` -- a self-signed local CA (EC P-256, valid 10 years,
  ``CN=Switchboard Local CA <random suffix>``). Generated when either file is missing,
  unreadable, the two do not match, or the CA has expired; otherwise reused forever.
  Clients trust the server by trusting ``ca.pem``.
* ``server.pem`` / ``server-key.pem`` -- the server certificate (EC P-256, valid 825 days,
  not-before backdated one hour) whose SAN lists every requested host plus ``localhost``,
  ``127.0.0.1`` and ``::1``. Re-issued (by the same CA) when missing or unreadable, when a
  requested host is not in its SAN, when it expires within 30 days, or when it was not
  signed by the current CA.

Private keys are written with mode 0o600, certificates with 0o644. Every file is written to
a temporary file in the same directory and moved into place with ``os.replace`` so a crash
never leaves a half-written PEM; an advisory lock file (``.lock``) serialises concurrent
processes sharing the directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import ssl
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsMaterial", "client_ssl_context", "ensure_tls_material", "server_ssl_context"]

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_VALIDITY = timedelta(days=3650)
SERVER_VALIDITY = timedelta(days=825)
BACKDATE = timedelta(hours=1)
RENEW_BEFORE = timedelta(days=30)

_GeneralName = x509.DNSName | x509.IPAddress


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of the PEM files produced by :func:`ensure_tls_material`."""

    ca_cert: Path
    cert: Path
    key: Path


def ensure_tls_material(
    directory: Path, hosts: Sequence[str], *, now: datetime | None = None
) -> TlsMaterial:
    """Create (or reuse) the local CA and a server certificate covering ``hosts``.

    ``now`` (default: the current time; naive values are taken as UTC) drives validity
    periods and the expiry check. Raises ``ValueError`` for an empty host.
    """
    now = _utc(now)
    wanted = _general_names([*DEFAULT_HOSTS, *hosts])
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        os.chmod(directory, 0o700)
    ca_cert_path, ca_key_path = directory / "ca.pem", directory / "ca-key.pem"
    cert_path, key_path = directory / "server.pem", directory / "server-key.pem"
    with _locked(directory / ".lock"):
        ca = _load_pair(ca_cert_path, ca_key_path)
        if ca is None or ca[0].not_valid_after_utc <= now:
            ca = _make_ca(now)
            _write_key(ca_key_path, ca[1])
            _write_atomic(ca_cert_path, ca[0].public_bytes(Encoding.PEM), 0o644)
        ca_cert, ca_key = ca
        server = _load_pair(cert_path, key_path)
        if server is None or not _server_cert_ok(server[0], ca_cert, wanted, now):
            cert, key = _make_server(ca_cert, ca_key, wanted, now)
            _write_key(key_path, key)
            _write_atomic(cert_path, cert.public_bytes(Encoding.PEM), 0o644)
    return TlsMaterial(ca_cert=ca_cert_path, cert=cert_path, key=key_path)


def server_ssl_context(material: TlsMaterial) -> ssl.SSLContext:
    """A TLS >= 1.2 server context presenting the server certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile=material.cert, keyfile=material.key)
    return ctx


def client_ssl_context(material: TlsMaterial) -> ssl.SSLContext:
    """A verifying client context that trusts only the local CA (for tests and tools)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + check_hostname
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cafile=material.ca_cert)
    return ctx


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _general_names(hosts: Sequence[str]) -> list[_GeneralName]:
    names: list[_GeneralName] = []
    for raw in hosts:
        host = raw.strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host:
            raise ValueError(f"invalid TLS host name: {raw!r}")
        name: _GeneralName
        try:
            name = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            name = x509.DNSName(host.lower().encode("idna").decode("ascii"))
        if name not in names:
            names.append(name)
    return names


def _load_pair(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """Load a certificate and its EC key; None if missing, unreadable or mismatched."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    return cert, key


def _server_cert_ok(
    cert: x509.Certificate, ca: x509.Certificate, wanted: list[_GeneralName], now: datetime
) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    if cert.not_valid_before_utc > now or cert.not_valid_after_utc - now < RENEW_BEFORE:
        return False
    return all(name in san for name in wanted)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """keyCertSign+cRLSign for the CA; digitalSignature (ECDHE signing) for the server."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _make_ca(now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Switchboard"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Switchboard Local CA {secrets.token_hex(4)}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now - BACKDATE + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_server(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: list[_GeneralName],
    now: datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    # Same key-id derivation as the CA's SubjectKeyIdentifier (SHA-1 of the public key).
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Switchboard Server")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now - BACKDATE + SERVER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    _write_atomic(path, pem, 0o600)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Exclusive advisory lock so concurrent processes do not both mint material."""
    if sys.platform == "win32":  # no fcntl; a single process per directory is assumed
        yield
        return
    import fcntl

    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
