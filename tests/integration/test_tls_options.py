"""An operator's certificate: served by a running node, re-read on SIGHUP without a restart
(a new connection gets the new certificate), refused in one line when it cannot work; and a
certificate dropped into the data dir's tls/ is never replaced."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from switchboard.http.tls import TlsMaterial, ensure_tls_material
from tests.integration.cli_run import refused, switchboard
from tests.integration.server import CERTIFICATE_PREFIX, RunningServer, start_server
from tests.operator_certs import foreign_certificate

EXIT_CONFIG, EXIT_DATA_DIR = 2, 3


def served_certificate(port: int, trust: list[TlsMaterial]) -> bytes:
    """The DER certificate a new TLS connection to the node is given."""
    context = ssl.create_default_context()
    for material in trust:
        context.load_verify_locations(cafile=material.ca_cert)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def der(material: TlsMaterial) -> bytes:
    cert = x509.load_pem_x509_certificate(material.cert.read_bytes())
    return cert.public_bytes(Encoding.DER)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[TlsMaterial, TlsMaterial]:
    root = tmp_path_factory.mktemp("operator")
    return (
        ensure_tls_material(root / "old", ["127.0.0.1"]),
        ensure_tls_material(root / "new", ["127.0.0.1"]),
    )


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, certificates: tuple[TlsMaterial, TlsMaterial]
) -> Iterator[tuple[RunningServer, Path]]:
    root = tmp_path_factory.mktemp("served")
    old, _ = certificates
    live = root / "live"
    live.mkdir()
    shutil.copy(old.cert, live / "cert.pem")
    shutil.copy(old.key, live / "key.pem")
    node = start_server(
        root / "data",
        "--tls-cert",
        str(live / "cert.pem"),
        "--tls-key",
        str(live / "key.pem"),
        env={"SWITCHBOARD_TLS_RELOAD_SECONDS": "3600"},  # only SIGHUP reloads in this module
        tls_prefix=CERTIFICATE_PREFIX,
    )
    yield node, live
    assert node.stop() == 0, "\n".join(node.output)


def test_sighup_serves_the_new_certificate_to_new_connections(
    server: tuple[RunningServer, Path], certificates: tuple[TlsMaterial, TlsMaterial]
) -> None:
    node, live = server
    old, new = certificates
    assert node.ca_path.startswith(str((live / "cert.pem").resolve()))
    assert served_certificate(node.port, [old, new]) == der(old)
    assert not any((node.data_dir / "tls").glob("*.pem"))  # no local CA was made

    shutil.copy(new.cert, live / "cert.pem")
    shutil.copy(new.key, live / "key.pem")
    node.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while served_certificate(node.port, [old, new]) != der(new):
        assert time.monotonic() < deadline, "\n".join(node.output)
        time.sleep(0.1)
    assert node.process.poll() is None  # the same process: no restart


def test_a_broken_pair_on_sighup_keeps_the_certificate_served(
    server: tuple[RunningServer, Path], certificates: tuple[TlsMaterial, TlsMaterial]
) -> None:
    node, live = server
    old, new = certificates
    before = served_certificate(node.port, [old, new])
    (live / "key.pem").write_bytes(
        old.key.read_bytes() if before == der(new) else new.key.read_bytes()
    )
    node.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while not any("TLS certificate not reloaded" in line for line in node.output):
        assert time.monotonic() < deadline, "\n".join(node.output)
        time.sleep(0.1)
    assert served_certificate(node.port, [old, new]) == before


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return switchboard("serve", "--port", "0", *args)


def test_bad_certificate_options_are_refused(
    tmp_path: Path, certificates: tuple[TlsMaterial, TlsMaterial]
) -> None:
    old, new = certificates
    data = str(tmp_path / "data")
    refused(
        serve(
            "--data-dir", data, "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(old.key)
        ),
        EXIT_CONFIG,
        "nope.pem does not exist",
        "--tls-cert",
    )
    refused(
        serve("--data-dir", data, "--tls-cert", str(old.cert), "--tls-key", str(new.key)),
        EXIT_CONFIG,
        "cannot serve tls_cert",
        "key values mismatch",
    )


def test_a_certificate_placed_in_the_data_dir_is_never_replaced(tmp_path: Path) -> None:
    tls = tmp_path / "data" / "tls"
    foreign_certificate(tls)
    before = (tls / "server.pem").read_bytes()
    done = serve("--data-dir", str(tmp_path / "data"))
    refused(
        done, EXIT_DATA_DIR, "server.pem was not issued by Switchboard's local CA", "--tls-cert"
    )
    assert (tls / "server.pem").read_bytes() == before
