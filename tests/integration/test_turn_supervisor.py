"""CoturnSupervisor with Debian's real turnserver: start, relay, restart, stop, failures.

coturn is installed by the test runner (apt-get install coturn); a missing one fails here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import ssl
import stat
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aioice import stun

from switchboard.http.tls import ensure_tls_material
from switchboard.traversal.coturn import (
    CoturnConfig,
    TurnServerMissingError,
    find_turnserver,
    free_port,
)
from switchboard.traversal.credentials import issue
from switchboard.traversal.supervisor import CoturnSupervisor, TurnServerFailedError
from tests.integration.turn_peers import echo_peer, relay_round_trip

pytestmark = pytest.mark.anyio

SECRET = "supervisor-test-secret"
USER = "8:acs:00000000-0000-0000-0000-0000000000aa_00000000-0000-0000-0000-000000000001"


def coturn_config(directory: Path) -> CoturnConfig:
    return CoturnConfig(
        listen_ip="127.0.0.1",
        port=free_port("127.0.0.1"),
        realm="switchboard",
        secret=SECRET,
        directory=directory,
        allow_loopback_peers=True,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
async def supervisor(tmp_path: Path) -> AsyncIterator[CoturnSupervisor]:
    running = CoturnSupervisor(
        find_turnserver("turnserver"), coturn_config(tmp_path / "turn"), backoff_initial=0.05
    )
    await running.start()
    yield running
    await running.stop()


async def relay(config: CoturnConfig, secret: str = SECRET, expires_in: int = 600) -> bytes:
    credential = issue(secret, USER, int(time.time()) + expires_in)
    async with echo_peer() as peer:
        return await relay_round_trip(
            ("127.0.0.1", config.port), credential.username, credential.password, peer
        )


async def test_started_turnserver_relays_with_our_credentials(
    supervisor: CoturnSupervisor,
) -> None:
    assert await relay(supervisor.config) == b"echo:hello"
    text = supervisor.config.config_path.read_text()
    assert f"static-auth-secret={SECRET}" in text
    assert "use-auth-secret" in text and "allow-loopback-peers" in text and "no-tls" in text
    mode = stat.S_IMODE(supervisor.config.config_path.stat().st_mode)
    assert mode == 0o600  # it holds the shared secret


async def test_expired_and_forged_credentials_are_refused(
    supervisor: CoturnSupervisor,
) -> None:
    with pytest.raises(stun.TransactionFailed) as caught:
        await relay(supervisor.config, expires_in=-60)
    assert caught.value.response.error_code == 401
    with pytest.raises(stun.TransactionFailed) as caught:
        await relay(supervisor.config, secret="not-the-secret")
    assert caught.value.response.error_code == 401


async def test_dead_turnserver_is_restarted(supervisor: CoturnSupervisor) -> None:
    first = supervisor.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    await asyncio.wait_for(supervisor.wait_restarts(1), 10)
    assert supervisor.pid not in (None, first)
    assert await relay(supervisor.config) == b"echo:hello"


async def test_stop_terminates_the_process(tmp_path: Path) -> None:
    running = CoturnSupervisor(find_turnserver("turnserver"), coturn_config(tmp_path))
    await running.start()
    pid = running.pid
    assert pid is not None and alive(pid)
    await running.stop()
    assert running.pid is None
    assert not alive(pid)


async def test_turnserver_left_over_by_a_killed_node_is_replaced(tmp_path: Path) -> None:
    config = coturn_config(tmp_path)
    first = CoturnSupervisor(find_turnserver("turnserver"), config)
    await first.start()
    orphan = first.pid
    assert orphan is not None
    # The node dies without stopping coturn: forget the process without terminating it.
    first._process = None
    await first.stop()  # ends the watcher; the forgotten process is left running
    second = CoturnSupervisor(find_turnserver("turnserver"), config)
    await second.start()
    try:
        assert not alive(orphan)  # asyncio's child watcher has reaped it
        assert second.pid not in (None, orphan)
        assert await relay(config) == b"echo:hello"
    finally:
        await second.stop()


async def test_tls_listener_relays_with_the_servers_certificate(tmp_path: Path) -> None:
    material = ensure_tls_material(tmp_path / "tls", ["127.0.0.1"])
    plain = coturn_config(tmp_path / "turn")
    config = dataclasses.replace(
        plain,
        tls_port=free_port("127.0.0.1"),
        tls_cert=material.cert,
        tls_key=material.key,
    )
    running = CoturnSupervisor(find_turnserver("turnserver"), config)
    await running.start()
    try:
        credential = issue(SECRET, None, int(time.time()) + 600)
        verify = ssl.create_default_context(cafile=str(material.ca_cert))
        async with echo_peer() as peer:
            answer = await relay_round_trip(
                ("127.0.0.1", config.tls_port),
                credential.username,
                credential.password,
                peer,
                transport="tcp",
                tls=verify,
            )
        assert answer == b"echo:hello"
    finally:
        await running.stop()


async def test_turnserver_that_cannot_start_is_reported(tmp_path: Path) -> None:
    failing = CoturnSupervisor(find_turnserver("false"), coturn_config(tmp_path))
    with pytest.raises(TurnServerFailedError, match="exited with status 1"):
        await failing.start()


def test_missing_turnserver_says_how_to_install_it() -> None:
    with pytest.raises(TurnServerMissingError, match="apt-get install coturn"):
        find_turnserver("/nonexistent/turnserver")


def test_free_port_is_free_for_udp_and_tcp() -> None:
    import socket

    port = free_port("127.0.0.1")
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind(("127.0.0.1", port))


def test_turnserver_is_debian_coturn() -> None:
    version = subprocess.run(
        [find_turnserver("turnserver"), "--version"], capture_output=True, text=True
    )
    assert version.stdout.strip() or version.stderr.strip()
