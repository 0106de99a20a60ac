"""`switchboard serve --turn` end to end: the SDK's credentials work on the coturn it runs.

networktraversal SDK ─▶ server ─▶ {urls, username, credential}
aioice ─▶ coturn (started and supervised by the server) ─▶ allocation ─▶ relayed datagram
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun
from azure.communication.identity import CommunicationUserIdentifier as User
from azure.communication.networktraversal import CommunicationRelayClient

from switchboard.traversal.credentials import issue
from tests.integration.server import RunningServer, start_server
from tests.integration.test_traversal_sdk import close_relay_client
from tests.integration.turn_peers import (
    connect_relayed_agents,
    echo_peer,
    relay_round_trip,
    turn_address,
)

pytestmark = pytest.mark.anyio

ALICE = User("8:acs:00000000-0000-0000-0000-0000000000aa_00000000-0000-0000-0000-000000000001")
BOB = User("8:acs:00000000-0000-0000-0000-0000000000aa_00000000-0000-0000-0000-000000000002")


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with --turn on a free TURN port; its coturn must be gone once it stops."""
    running = start_server(
        tmp_path_factory.mktemp("switchboard-turn"), "--turn", env={"SWITCHBOARD_TURN_PORT": "0"}
    )
    pid_file = running.data_dir / "turn" / "turnserver.pid"
    coturn_pid = int(pid_file.read_text().strip())
    yield running
    assert running.stop() == 0, "\n".join(running.output)
    assert not Path(f"/proc/{coturn_pid}").exists(), "coturn outlived the server"


@pytest.fixture(scope="module")
def relay_client(turn_server: RunningServer) -> Iterator[CommunicationRelayClient]:
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = turn_server.ca_path
    client = CommunicationRelayClient.from_connection_string(turn_server.connection_string)
    yield client
    close_relay_client(client)
    if previous is None:
        del os.environ["REQUESTS_CA_BUNDLE"]
    else:
        os.environ["REQUESTS_CA_BUNDLE"] = previous


def secret_of(server: RunningServer) -> str:
    """The generated secret, as the server wrote it into coturn's config."""
    for line in (server.data_dir / "turn" / "turnserver.conf").read_text().splitlines():
        if line.startswith("static-auth-secret="):
            return line.split("=", 1)[1]
    raise AssertionError("no static-auth-secret in the coturn config")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_issued_credentials_allocate_and_relay(
    relay_client: CommunicationRelayClient, transport: str
) -> None:
    ice = relay_client.get_relay_configuration(user=ALICE, ttl=600).ice_servers[0]
    server = turn_address(ice.urls, transport)
    async with echo_peer() as peer:
        answer = await relay_round_trip(server, ice.username, ice.credential, peer, transport)
    assert answer == b"echo:hello"


async def test_anonymous_credentials_work_too(relay_client: CommunicationRelayClient) -> None:
    ice = relay_client.get_relay_configuration().ice_servers[1]
    assert ice.username.endswith(":anonymous")
    async with echo_peer() as peer:
        answer = await relay_round_trip(turn_address(ice.urls), ice.username, ice.credential, peer)
    assert answer == b"echo:hello"


async def test_two_calling_clients_connect_through_the_relay(
    relay_client: CommunicationRelayClient,
) -> None:
    alice = relay_client.get_relay_configuration(user=ALICE).ice_servers[0]
    bob = relay_client.get_relay_configuration(user=BOB).ice_servers[0]
    received = await connect_relayed_agents(
        turn_address(alice.urls), (alice.username, alice.credential), (bob.username, bob.credential)
    )
    assert received == b"through the relay"


async def test_expired_credential_is_refused(
    turn_server: RunningServer, relay_client: CommunicationRelayClient
) -> None:
    urls = relay_client.get_relay_configuration().ice_servers[0].urls
    expired = issue(secret_of(turn_server), ALICE.raw_id, int(time.time()) - 60)
    async with echo_peer() as peer:
        with pytest.raises(stun.TransactionFailed) as caught:
            await relay_round_trip(turn_address(urls), expired.username, expired.password, peer)
    assert caught.value.response.error_code == 401


async def test_forged_credentials_are_refused(relay_client: CommunicationRelayClient) -> None:
    ice = relay_client.get_relay_configuration(user=ALICE, ttl=60).ice_servers[0]
    server = turn_address(ice.urls)
    expiry, user = ice.username.split(":", 1)
    later = f"{int(expiry) + 86400}:{user}"  # extend the lifetime, keep the password
    wrong_key = issue("guessed-secret", ALICE.raw_id, int(expiry))
    async with echo_peer() as peer:
        for username, password in (
            (later, ice.credential),
            (wrong_key.username, wrong_key.password),
        ):
            with pytest.raises(stun.TransactionFailed) as caught:
                await relay_round_trip(server, username, password, peer)
            assert caught.value.response.error_code == 401


def test_turn_without_coturn_fails_fast_and_says_how_to_install_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "switchboard", "serve", "--turn", "--data-dir", str(tmp_path)],
        env={**os.environ, "SWITCHBOARD_TURNSERVER_PATH": "/nonexistent/turnserver"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "apt-get install coturn" in result.stderr
    assert not (tmp_path / "switchboard.db").exists()  # nothing was started
