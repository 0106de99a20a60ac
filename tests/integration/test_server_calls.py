"""Server calls end to end, in process: ServerCalls (what Call Automation drives) on a node
serving a real TLS port, Python clients (aiortc) as the invited users' devices.

ServerCalls lives on the node that owns the call, so the node runs in this process (a
separate server process would hide it); the app's leg is a stand-in here (media's LocalLeg
is wired by app.py). "Hears X" means decoded frames from X's m-line carry X's tone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from azure.communication.identity import CommunicationIdentityClient, CommunicationUserIdentifier

from switchboard.app import Node, build_node
from switchboard.calling.server import (
    InviteAccepted,
    ParticipantRemoved,
    ServerCallEnded,
    ServerCallEvent,
    ServerCalls,
    new_server_call_id,
)
from switchboard.client.calling import Call, CallAgent, CallClient, CallState
from switchboard.core.config import load_settings, node_config
from switchboard.http.server import bind_socket, prepare_tls
from tests.integration.calling_clients import (
    TONES,
    all_hear_each_other,
    closed_port,
    loopback_candidates,
    participant_of,
    present,
)

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback


@dataclass
class StandInLeg:
    call_id: str
    participant_id: str
    closed: bool = False

    def close(self) -> None:
        self.closed = True


class StandInLegs:
    async def add_local_participant(self, call_id: str, participant_id: str) -> StandInLeg:
        return StandInLeg(call_id, participant_id)


@dataclass
class Served:
    node: Node
    endpoint: str
    ca_path: str
    identity: CommunicationIdentityClient
    calls: ServerCalls[StandInLeg]
    agents: list[CallAgent] = field(default_factory=list)

    async def agent(self, tone: float) -> tuple[str, CallAgent]:
        """A new user with one device."""
        user = await asyncio.to_thread(self.identity.create_user)
        user_id = str(user.properties["id"])
        return user_id, await self.device(user_id, tone)

    async def device(self, user_id: str, tone: float) -> CallAgent:
        """Another device of the user (its own registration)."""
        token = await asyncio.to_thread(
            self.identity.get_token, CommunicationUserIdentifier(user_id), ["voip"]
        )
        client = CallClient(self.endpoint, ssl=self.ca_path, tone_hz=tone)
        agent = await client.create_call_agent(token.token)
        self.agents.append(agent)
        return agent


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    raw = {
        "data_dir": tmp_path,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'node.db'}",
        "port": 0,
        "turn_port": closed_port(),  # no TURN: clients use host candidates at once
    }
    settings = node_config(load_settings(raw, environ={}))
    tls = prepare_tls(settings.server)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    node = await build_node(settings, port=port)
    config = uvicorn.Config(
        node.asgi,
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        lifespan="off",
        ws="websockets-sansio",
        log_config=None,
        timeout_graceful_shutdown=2,  # disposed agents' sockets may linger; do not wait 30 s
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # uvicorn has no "started" event
        assert not serving.done()
        await asyncio.sleep(0.02)
    endpoint = f"https://127.0.0.1:{port}"
    identity = CommunicationIdentityClient.from_connection_string(
        await node.connection_string(), connection_verify=str(tls.ca_cert)
    )
    found = Served(
        node,
        endpoint,
        str(tls.ca_cert),
        identity,
        ServerCalls(node.calling.server_calls, StandInLegs()),
    )
    try:
        yield found
    finally:
        await asyncio.gather(*(a.dispose() for a in found.agents), return_exceptions=True)
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        sock.close()
        await node.stop()


async def next_event(events: asyncio.Queue[ServerCallEvent], kind: type) -> ServerCallEvent:
    """The next event of that kind (ParticipantsChanged in between skipped)."""
    while True:
        event = await events.get()
        if isinstance(event, kind):
            return event


async def test_users_invited_to_a_server_call_hear_each_other_until_removed_and_terminated(
    served: Served,
) -> None:
    async with asyncio.timeout(60):
        alice_id, alice_laptop = await served.agent(TONES[0])
        alice_phone = await served.device(alice_id, TONES[0])  # her second device
        bob_id, bob = await served.agent(TONES[1])

        events: asyncio.Queue[ServerCallEvent] = asyncio.Queue()
        call_id = new_server_call_id()
        leg = await served.calls.create(call_id, events.put_nowait)
        assert leg.participant_id == "app"

        await served.calls.invite(
            call_id, alice_id, invitation_id="inv-a", timeout_seconds=30,
            caller=None, caller_display_name="Contoso",
        )  # fmt: skip
        ringing_laptop = await alice_laptop.next_incoming_call()
        ringing_phone = await alice_phone.next_incoming_call()
        assert ringing_laptop.is_conference and ringing_laptop.id == call_id
        assert ringing_laptop.remote is not None
        assert ringing_laptop.remote.display_name == "Contoso"
        await ringing_laptop.accept()
        await ringing_phone.wait_for_state(CallState.DISCONNECTED)
        assert ringing_phone.end_reason is not None
        ending = (ringing_phone.end_reason.code, ringing_phone.end_reason.sub_code)
        assert ending == (487, 10003)
        accepted = await next_event(events, InviteAccepted)
        assert isinstance(accepted, InviteAccepted) and accepted.invitation_id == "inv-a"

        await served.calls.invite(
            call_id, bob_id, invitation_id="inv-b", timeout_seconds=30,
            caller=None, caller_display_name="Contoso",
        )  # fmt: skip
        ringing_bob = await bob.next_incoming_call()
        await ringing_bob.accept()
        await next_event(events, InviteAccepted)
        calls: list[Call] = [ringing_laptop, ringing_bob]
        await all_hear_each_other(calls, [alice_laptop, bob], TONES[:2])
        names = [p.identifier.raw_id for p in await served.calls.participants(call_id)]
        assert sorted(names) == sorted([alice_id, bob_id])

        await served.calls.mute(call_id, bob_id)
        bob_in_alice = participant_of(ringing_laptop, bob)
        await ringing_laptop.wait_for(lambda c: c.remote_participants[bob_in_alice].is_muted)
        await ringing_bob.wait_for(lambda c: c.is_muted)

        await served.calls.remove(call_id, bob_id)
        await ringing_bob.wait_for_state(CallState.DISCONNECTED)
        assert ringing_bob.end_reason is not None
        assert (ringing_bob.end_reason.code, ringing_bob.end_reason.sub_code) == (0, 5300)
        await ringing_laptop.wait_for(lambda c: not present(c, bob))
        removed = await next_event(events, ParticipantRemoved)
        assert isinstance(removed, ParticipantRemoved)
        assert removed.participant.identifier.raw_id == bob_id

        await served.calls.terminate(call_id)
        await ringing_laptop.wait_for_state(CallState.DISCONNECTED)
        assert ringing_laptop.end_reason is not None
        assert (ringing_laptop.end_reason.code, ringing_laptop.end_reason.sub_code) == (0, 0)
        ended = await next_event(events, ServerCallEnded)
        assert isinstance(ended, ServerCallEnded)
        assert events.empty()  # nothing follows the end
