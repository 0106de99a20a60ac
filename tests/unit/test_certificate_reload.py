"""CertificateReloader: a changed certificate file reaches the live context, so the next
TLS connection gets it without a restart (http/tls_reload.py)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from pathlib import Path

import pytest

from switchboard.core.errors import ConfigError
from switchboard.http.tls import TlsMaterial, ensure_tls_material
from switchboard.http.tls_reload import CertificateReloader, check_certificate

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def peer_certificate(port: int, trust: list[TlsMaterial]) -> bytes:
    context = ssl.create_default_context()
    for material in trust:
        context.load_verify_locations(cafile=material.ca_cert)
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    return bytes(der)


async def test_changed_files_are_served_to_the_next_connection(tmp_path: Path) -> None:
    old = ensure_tls_material(tmp_path / "old", ["127.0.0.1"])
    new = ensure_tls_material(tmp_path / "new", ["127.0.0.1"])
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(old.cert, cert)
    shutil.copy(old.key, key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    reloader = CertificateReloader(cert, key, [context])
    watcher = asyncio.create_task(reloader.watch(0.02))
    try:
        first = await peer_certificate(port, [old, new])
        assert not reloader.changed()
        shutil.copy(new.cert, cert)
        shutil.copy(new.key, key)
        async with asyncio.timeout(10):
            while reloader.reloads == 0:  # noqa: ASYNC110 - the watcher has no event to await
                await asyncio.sleep(0.02)
        second = await peer_certificate(port, [old, new])
    finally:
        watcher.cancel()
        server.close()
    assert first != second
    assert ssl.DER_cert_to_PEM_cert(second).strip() == new.cert.read_text().strip()


def test_an_encrypted_key_is_refused_in_one_line(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    material = ensure_tls_material(tmp_path, ["127.0.0.1"])
    key = serialization.load_pem_private_key(material.key.read_bytes(), password=None)
    locked = tmp_path / "locked.pem"
    locked.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(ConfigError, match="encrypted"):
        check_certificate(material.cert, locked)
