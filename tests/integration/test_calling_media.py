"""Issue 7's proof for the Python client: two ``switchboard.calling`` clients call each other
through a real server (TLS, TURN service for ICE servers) with real audio both ways.

Each side sends its own tone (alice 440 Hz, bob 660 Hz) and checks the decoded frames it
receives carry the *other* tone: audio really crossed, in both directions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import CallAgent, CallClient, CallState
from tests.integration.calling_clients import heard, loopback_candidates, start_without_turn
from tests.integration.server import RunningServer, start_server

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

ALICE_HZ, BOB_HZ = 440.0, 660.0


@pytest.fixture(scope="module", params=["coturn", "no-turn"])
def turn_mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


@pytest.fixture(scope="module")
def server(turn_mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """With coturn (``--turn``): the ICE servers the clients get are real. Without: the TURN
    port the node would advertise has nothing listening, so clients get no ICE servers (and
    connect over host candidates) instead of waiting for STUN timeouts."""
    data_dir = tmp_path_factory.mktemp(f"calling-media-{turn_mode}")
    if turn_mode == "coturn":
        running = start_server(data_dir, "--turn", env={"SWITCHBOARD_TURN_PORT": "0"})
    else:
        running = start_without_turn(data_dir)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


def new_user(server: RunningServer) -> tuple[str, str]:
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    user, token = identity.create_user_and_token(scopes=["voip"])
    return str(user.properties["id"]), token.token


@pytest.fixture
async def pair(server: RunningServer) -> AsyncIterator[tuple[CallAgent, CallAgent, str]]:
    _, alice_token = new_user(server)
    bob_id, bob_token = new_user(server)
    alice = await CallClient(
        server.endpoint, ssl=server.ca_path, tone_hz=ALICE_HZ
    ).create_call_agent(alice_token)
    bob = await CallClient(server.endpoint, ssl=server.ca_path, tone_hz=BOB_HZ).create_call_agent(
        bob_token
    )
    try:
        yield alice, bob, bob_id
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_two_python_clients_hear_each_others_tone(
    turn_mode: str, pair: tuple[CallAgent, CallAgent, str]
) -> None:
    alice, bob, bob_id = pair
    with_turn = turn_mode == "coturn"
    assert bool(alice.ice_servers) is with_turn
    if with_turn:
        assert any(url.startswith("turn:") for url in alice.ice_servers[0].urls)
    async with asyncio.timeout(20):
        outgoing = await alice.start_call(bob_id)
        incoming = await bob.next_incoming_call()
        assert incoming.state is CallState.RINGING
        await outgoing.wait_for_state(CallState.RINGING)
        await incoming.accept(audio=True)
        await outgoing.wait_for_state(CallState.CONNECTED)
        await incoming.wait_for_state(CallState.CONNECTED)
        await heard(outgoing, BOB_HZ)
        await heard(incoming, ALICE_HZ)
        await outgoing.hang_up()
        await incoming.wait_for_state(CallState.DISCONNECTED)
        # The hang-up's ack and the callEnded after it may arrive in separate reads, and
        # the other side's socket may be read in between: wait, do not assume an order.
        await outgoing.wait_for_state(CallState.DISCONNECTED)
    assert incoming.end_reason is not None and incoming.end_reason.code == 0
