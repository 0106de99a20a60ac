"""The `switchboard` command as a user runs it: first start, restart, keys, shutdown."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from azure.communication.identity import CommunicationIdentityClient
from azure.core.exceptions import ClientAuthenticationError

from tests.acs_signing import sign
from tests.integration.server import start_server


def switchboard(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def identity_client(connection_string: str, ca: str) -> CommunicationIdentityClient:
    return CommunicationIdentityClient.from_connection_string(
        connection_string, connection_verify=ca
    )


def test_first_start_creates_state_and_restart_reuses_it(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    try:
        ca_bytes = Path(first.ca_path).read_bytes()
        user = identity_client(first.connection_string, first.ca_path).create_user()
    finally:
        assert first.stop() == 0
    for name in ("switchboard.db", "tls/ca.pem", "tls/server.pem", "tls/server-key.pem"):
        assert (tmp_path / name).exists(), name
    second = start_server(tmp_path)
    try:
        assert second.access_key == first.access_key
        assert Path(second.ca_path).read_bytes() == ca_bytes
        # The identity (and the signing key) survived the restart.
        client = identity_client(second.connection_string, second.ca_path)
        assert client.get_token(user, scopes=["chat"]).token
    finally:
        assert second.stop() == 0


def test_connection_string_command_prints_the_running_endpoint(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        printed = switchboard("connection-string", "--data-dir", str(tmp_path)).strip()
        assert printed == server.connection_string
    finally:
        server.stop()


def test_rotating_the_primary_key_keeps_the_secondary_working(tmp_path: Path) -> None:
    server = start_server(tmp_path, env={"SWITCHBOARD_ACCESS_KEY_RELOAD_SECONDS": "1"})
    try:
        old = server.connection_string
        identity_client(old, server.ca_path).create_user()
        output = switchboard("keys", "rotate", "primary", "--data-dir", str(tmp_path))
        assert "regenerated" in output
        new = switchboard("connection-string", "--data-dir", str(tmp_path)).strip()
        assert new != old
        # The new key works at once: a failed verification makes the server re-read keys.
        assert identity_client(new, server.ca_path).create_user().properties["id"]
        deadline = time.monotonic() + 15  # the old one stops within the reload interval
        while True:
            try:
                identity_client(old, server.ca_path).create_user()
            except ClientAuthenticationError:
                break
            assert time.monotonic() < deadline, "the rotated key still works"
            time.sleep(0.5)
        secondary = switchboard("connection-string", "--secondary", "--data-dir", str(tmp_path))
        assert identity_client(secondary.strip(), server.ca_path).create_user().properties["id"]
    finally:
        assert server.stop() == 0


def test_sigterm_finishes_the_request_in_flight_then_exits_cleanly(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    endpoint = urlsplit(server.endpoint)
    host = f"{endpoint.hostname}:{endpoint.port}"
    target = "/identities?api-version=2023-10-01"
    body = b'{"createTokenWithScopes": ["chat"]}'
    headers = sign("POST", target, host, body, server.access_key)
    head = f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    context = ssl.create_default_context(cafile=server.ca_path)
    raw = socket.create_connection((endpoint.hostname, endpoint.port))
    with context.wrap_socket(raw, server_hostname=endpoint.hostname) as tls:
        tls.sendall(head.encode() + body[:10])  # the request is now in flight
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(OSError):  # no new connections once shutting down
            socket.create_connection((endpoint.hostname, endpoint.port), timeout=2).close()
        tls.sendall(body[10:])
        response = tls.recv(65536).decode()
    assert response.startswith("HTTP/1.1 201"), response
    assert server.process.wait(20) == 0


def test_sample_config_command_prints_a_loadable_file(tmp_path: Path) -> None:
    path = tmp_path / "sb.toml"
    path.write_text(switchboard("sample-config"))
    server = start_server(tmp_path / "data", "--config", str(path))
    try:
        assert server.connection_string.startswith("endpoint=https://127.0.0.1:")
    finally:
        assert server.stop() == 0
