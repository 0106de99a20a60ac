"""Behaviour of the local CA / server certificate bootstrap in switchboard.http.tls."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from switchboard.core.errors import DataDirError
from switchboard.http.tls import (
    TlsMaterial,
    client_ssl_context,
    ensure_tls_material,
    local_ca_in,
    new_local_ca,
    server_ssl_context,
)
from tests.operator_certs import foreign_certificate

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
FILES = ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _san(material: TlsMaterial) -> x509.SubjectAlternativeName:
    cert = _cert(material.cert)
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


def test_first_call_creates_ca_and_server_certificate(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    material = ensure_tls_material(directory, ["switchboard.test"], now=NOW)

    assert material == TlsMaterial(
        ca_cert=directory / "ca.pem",
        cert=directory / "server.pem",
        key=directory / "server-key.pem",
    )
    assert all((directory / name).is_file() for name in FILES)

    ca = _cert(material.ca_cert)
    assert ca.issuer == ca.subject
    ca.verify_directly_issued_by(ca)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    cn = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(cn, str)
    assert cn.startswith("Switchboard Local CA ")
    assert len(cn) > len("Switchboard Local CA ")
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert basic.value.ca
    assert basic.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == timedelta(days=3650)

    server = _cert(material.cert)
    server.verify_directly_issued_by(ca)
    server_key = server.public_key()
    assert isinstance(server_key, ec.EllipticCurvePublicKey)
    assert server_key.curve.name == "secp256r1"
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    aki = server.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert server.not_valid_before_utc == NOW - timedelta(hours=1)
    assert server.not_valid_after_utc - server.not_valid_before_utc == timedelta(days=825)

    san = _san(material)
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "switchboard.test"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }


def test_second_call_reuses_existing_files(tmp_path: Path) -> None:
    first = ensure_tls_material(tmp_path, ["switchboard.test", "10.0.0.5"], now=NOW)
    before = _snapshot(tmp_path)

    later = NOW + timedelta(days=100)
    second = ensure_tls_material(tmp_path, ["SWITCHBOARD.test", "10.0.0.5", "[::1]"], now=later)

    assert second == first
    assert _snapshot(tmp_path) == before


def test_new_public_host_reissues_server_cert_with_same_ca(tmp_path: Path) -> None:
    material = ensure_tls_material(tmp_path, [], now=NOW)
    ca_before = material.ca_cert.read_bytes()
    ca_key_before = (tmp_path / "ca-key.pem").read_bytes()
    server_before = material.cert.read_bytes()

    hosts = ["chat.example.com", "203.0.113.7", "[2001:db8::1]"]
    material = ensure_tls_material(tmp_path, hosts, now=NOW)

    assert material.ca_cert.read_bytes() == ca_before
    assert (tmp_path / "ca-key.pem").read_bytes() == ca_key_before
    assert material.cert.read_bytes() != server_before
    _cert(material.cert).verify_directly_issued_by(_cert(material.ca_cert))
    san = _san(material)
    assert "chat.example.com" in san.get_values_for_type(x509.DNSName)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    ips = san.get_values_for_type(x509.IPAddress)
    for ip in ("203.0.113.7", "2001:db8::1", "127.0.0.1", "::1"):
        assert ipaddress.ip_address(ip) in ips

    # A subset of the SAN is satisfied by the new certificate: no further churn.
    reissued = material.cert.read_bytes()
    ensure_tls_material(tmp_path, ["203.0.113.7"], now=NOW)
    assert material.cert.read_bytes() == reissued


def test_expiring_server_cert_is_reissued(tmp_path: Path) -> None:
    material = ensure_tls_material(tmp_path, [], now=NOW)
    ca_before = material.ca_cert.read_bytes()
    server_before = material.cert.read_bytes()

    # 31 days of validity left: still reused.
    ensure_tls_material(tmp_path, [], now=NOW + timedelta(days=825 - 31))
    assert material.cert.read_bytes() == server_before

    # 29 days left: re-issued by the same CA, valid from the new "now".
    later = NOW + timedelta(days=825 - 29)
    ensure_tls_material(tmp_path, [], now=later)
    assert material.ca_cert.read_bytes() == ca_before
    assert material.cert.read_bytes() != server_before
    server = _cert(material.cert)
    server.verify_directly_issued_by(_cert(material.ca_cert))
    assert server.not_valid_before_utc == later - timedelta(hours=1)


def test_server_cert_from_another_ca_is_reissued(tmp_path: Path) -> None:
    mine = ensure_tls_material(tmp_path / "mine", [], now=NOW)
    other = ensure_tls_material(tmp_path / "other", [], now=NOW)
    ca_before = mine.ca_cert.read_bytes()
    # Plant the other directory's (perfectly valid) server cert and key.
    mine.cert.write_bytes(other.cert.read_bytes())
    mine.key.write_bytes(other.key.read_bytes())

    ensure_tls_material(tmp_path / "mine", [], now=NOW)

    assert mine.ca_cert.read_bytes() == ca_before
    assert mine.cert.read_bytes() != other.cert.read_bytes()
    _cert(mine.cert).verify_directly_issued_by(_cert(mine.ca_cert))


def test_missing_ca_regenerates_ca_and_server_cert(tmp_path: Path) -> None:
    material = ensure_tls_material(tmp_path, [], now=NOW)
    before = _snapshot(tmp_path)
    (tmp_path / "ca-key.pem").unlink()

    ensure_tls_material(tmp_path, [], now=NOW)

    after = _snapshot(tmp_path)
    assert all(after[name] != before[name] for name in FILES)
    _cert(material.cert).verify_directly_issued_by(_cert(material.ca_cert))


def test_corrupt_server_cert_is_reissued(tmp_path: Path) -> None:
    material = ensure_tls_material(tmp_path, [], now=NOW)
    material.cert.write_bytes(material.cert.read_bytes()[:100])

    ensure_tls_material(tmp_path, [], now=NOW)

    _cert(material.cert).verify_directly_issued_by(_cert(material.ca_cert))


def test_private_keys_are_not_world_readable(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "tls"
    material = ensure_tls_material(directory, [], now=NOW)

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for key in (directory / "ca-key.pem", material.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # Re-issued keys keep the restrictive mode too.
    ensure_tls_material(directory, ["new.example"], now=NOW)
    assert stat.S_IMODE(material.key.stat().st_mode) == 0o600


def test_failed_write_leaves_previous_file_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    material = ensure_tls_material(tmp_path, [], now=NOW)
    before = _snapshot(tmp_path)

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        ensure_tls_material(tmp_path, ["new.example"], now=NOW)
    monkeypatch.undo()

    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".lock")) == sorted(
        FILES
    )
    assert material.cert.read_bytes() == before["server.pem"]


def test_empty_host_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid TLS host"):
        ensure_tls_material(tmp_path, ["  "], now=NOW)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        data = await reader.read(100)
        writer.write(b"echo:" + data)
        await writer.drain()
    except (ssl.SSLError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.mark.anyio
async def test_tls_handshake_with_local_ca(tmp_path: Path) -> None:
    material = ensure_tls_material(tmp_path, [])
    server = await asyncio.start_server(_echo, "127.0.0.1", 0, ssl=server_ssl_context(material))
    port = server.sockets[0].getsockname()[1]
    try:
        for hostname in ("localhost", "127.0.0.1"):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ssl_context(material), server_hostname=hostname
            )
            try:
                ssl_object = writer.get_extra_info("ssl_object")
                assert isinstance(ssl_object, ssl.SSLObject)
                assert ssl_object.version() in ("TLSv1.2", "TLSv1.3")
                writer.write(b"ping " + hostname.encode())
                await writer.drain()
                assert await reader.read(100) == b"echo:ping " + hostname.encode()
            finally:
                writer.close()
                await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.anyio
async def test_client_trusting_another_ca_fails_handshake(tmp_path: Path) -> None:
    material = ensure_tls_material(tmp_path / "server", [])
    stranger = ensure_tls_material(tmp_path / "stranger", [])
    server = await asyncio.start_server(_echo, "127.0.0.1", 0, ssl=server_ssl_context(material))
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ssl_context(stranger), server_hostname="localhost"
            )
    finally:
        server.close()
        await server.wait_closed()


def test_a_certificate_no_local_ca_issued_is_never_replaced(tmp_path: Path) -> None:
    foreign_certificate(tmp_path)
    before = (tmp_path / "server.pem").read_bytes()

    with pytest.raises(DataDirError, match="--tls-cert FILE --tls-key FILE"):
        ensure_tls_material(tmp_path, [], now=NOW)

    assert (tmp_path / "server.pem").read_bytes() == before


def test_a_given_ca_issues_the_certificate_in_every_directory(tmp_path: Path) -> None:
    shared = new_local_ca(NOW)
    one = ensure_tls_material(tmp_path / "one", [], ca=shared, now=NOW)
    two = ensure_tls_material(tmp_path / "two", [], ca=shared, now=NOW)

    assert one.ca_cert.read_bytes() == two.ca_cert.read_bytes() == shared.cert_pem
    for material in (one, two):
        _cert(material.cert).verify_directly_issued_by(_cert(one.ca_cert))


def test_a_nodes_own_ca_gives_way_to_the_shared_one(tmp_path: Path) -> None:
    own = ensure_tls_material(tmp_path, [], now=NOW)
    adopted = local_ca_in(tmp_path)
    assert adopted is not None and adopted.cert_pem == own.ca_cert.read_bytes()

    shared = new_local_ca(NOW)
    material = ensure_tls_material(tmp_path, [], ca=shared, now=NOW)

    assert material.ca_cert.read_bytes() == shared.cert_pem
    _cert(material.cert).verify_directly_issued_by(_cert(material.ca_cert))
