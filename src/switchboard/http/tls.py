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

A ``server.pem`` that a Switchboard local CA did not issue is the operator's: it is never
replaced (a ``DataDirError`` says to pass it with ``--tls-cert``/``--tls-key`` instead).

With ``ca`` (a ``LocalCa``: nodes sharing a database share one, http/cluster_ca.py), that CA
is written to ``ca.pem`` / ``ca-key.pem`` and issues the server certificate, so clients of a
cluster trust one CA whichever node answers.

Private keys are written with mode 0o600, certificates with 0o644. Every file is written to
a temporary file in the same directory and moved into place with ``os.replace`` so a crash
never leaves a half-written PEM; an advisory lock file (``.lock``) serialises concurrent
processes sharing the directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
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

from switchboard.core.errors import DataDirError

__all__ = [
    "LocalCa",
    "TlsMaterial",
    "client_ssl_context",
    "ensure_tls_material",
    "local_ca_in",
    "new_local_ca",
    "refuse_foreign_certificate",
    "server_ssl_context",
]

log = logging.getLogger(__name__)

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_VALIDITY = timedelta(days=3650)
SERVER_VALIDITY = timedelta(days=825)
BACKDATE = timedelta(hours=1)
RENEW_BEFORE = timedelta(days=30)

_GeneralName = x509.DNSName | x509.IPAddress


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of the PEM files the server presents, and what clients trust: the local CA
    (``ensure_tls_material``), or for an operator's certificate the certificate itself."""

    ca_cert: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class LocalCa:
    """A local CA as PEM: its certificate and its (unencrypted PKCS#8) key."""

    cert_pem: bytes
    key_pem: bytes

    def pair(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
        return _parse_pair(self.cert_pem, self.key_pem)


def new_local_ca(now: datetime | None = None) -> LocalCa:
    cert, key = _make_ca(_utc(now))
    return LocalCa(cert.public_bytes(Encoding.PEM), _key_pem(key))


def local_ca_in(directory: Path) -> LocalCa | None:
    """The usable local CA a directory holds (``ca.pem`` + ``ca-key.pem``), if any."""
    pair = _load_pair(directory / "ca.pem", directory / "ca-key.pem")
    if pair is None:
        return None
    return LocalCa(pair[0].public_bytes(Encoding.PEM), _key_pem(pair[1]))


def ensure_tls_material(
    directory: Path,
    hosts: Sequence[str],
    *,
    ca: LocalCa | None = None,
    now: datetime | None = None,
) -> TlsMaterial:
    """Create (or reuse) the local CA and a server certificate covering ``hosts``.

    ``ca``: the CA to use (the cluster's); None: the directory's own, made when missing.
    ``now`` (default: the current time; naive values are taken as UTC) drives validity
    periods and the expiry check. Raises ``ValueError`` for an empty host, and
    ``DataDirError`` when ``server.pem`` is a certificate no local CA issued.
    """
    now = _utc(now)
    wanted = _general_names([*DEFAULT_HOSTS, *hosts])
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        os.chmod(directory, 0o700)
    ca_cert_path, ca_key_path = directory / "ca.pem", directory / "ca-key.pem"
    cert_path, key_path = directory / "server.pem", directory / "server-key.pem"
    with _locked(directory / ".lock"):
        refuse_foreign_certificate(cert_path)
        current = _load_pair(ca_cert_path, ca_key_path)
        given = ca.pair() if ca is not None else None
        if given is not None:
            if current is None or current[0] != given[0]:
                if current is not None:
                    log.warning(
                        "the local CA in %s is replaced by the one the nodes share (database); "
                        "clients that trusted the old ca.pem must trust the new one",
                        directory,
                    )
                _write_key(ca_key_path, given[1])
                _write_atomic(ca_cert_path, given[0].public_bytes(Encoding.PEM), 0o644)
            current = given
        elif current is None or current[0].not_valid_after_utc <= now:
            current = _make_ca(now)
            _write_key(ca_key_path, current[1])
            _write_atomic(ca_cert_path, current[0].public_bytes(Encoding.PEM), 0o644)
        ca_cert, ca_key = current
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


def refuse_foreign_certificate(cert_path: Path) -> None:
    """A readable ``server.pem`` whose issuer is not a Switchboard local CA was put there by
    someone: say how to use it rather than replace it."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return  # missing or not a certificate at all: ours to (re)issue
    organization = cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    common_name = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    ours = (
        organization
        and organization[0].value == "Switchboard"
        and common_name
        and str(common_name[0].value).startswith("Switchboard Local CA")
    )
    if not ours:
        raise DataDirError(
            f"{cert_path} was not issued by Switchboard's local CA, and Switchboard never "
            "replaces a certificate it did not make: serve it with --tls-cert FILE --tls-key "
            "FILE (tls_cert/tls_key), or move it away to let Switchboard issue its own"
        )


def _load_pair(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """Load a certificate and its EC key; None if missing, unreadable or mismatched."""
    try:
        return _parse_pair(cert_path.read_bytes(), key_path.read_bytes())
    except OSError:
        return None


def _parse_pair(
    cert_pem: bytes, key_pem: bytes
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
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


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    _write_atomic(path, _key_pem(key), 0o600)


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
