"""Calling signaling against a real server (docs/calling-protocol.md): reject, cancel, busy,
ring timeout, two devices, no device, scope and revocation, media state, a network blip,
and the Event Grid events of a call.

The server rings for 3 s (``calling_ring_timeout_seconds``) so the timeout test is quick;
every other call is answered well within it. No coturn: nothing here is about TURN.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from azure.communication.identity import CommunicationIdentityClient, CommunicationUserIdentifier
from websockets.asyncio.client import connect as connect_websocket
from websockets.typing import Subprotocol

from switchboard.calling.signaling.protocol import PROTOCOL
from switchboard.client.calling import (
    Call,
    CallAgent,
    CallClient,
    CallState,
    ParticipantState,
    SignalingClosed,
)
from tests.event_receiver import EventReceiver
from tests.integration.admin_http import subscribe
from tests.integration.calling_clients import (
    CALL_TYPES,
    heard,
    loopback_candidates,
    start_without_turn,
)
from tests.integration.server import RunningServer

pytestmark = pytest.mark.anyio

RING_SECONDS = 3.0
GRACE_SECONDS = 3.0  # a device away longer is forgotten (the blip test is back in < 1 s)
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        "SWITCHBOARD_CALLING_RING_TIMEOUT_SECONDS": str(RING_SECONDS),
        "SWITCHBOARD_CALLING_RECONNECT_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    running = start_without_turn(tmp_path_factory.mktemp("calling"), env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


class Users:
    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.identity = CommunicationIdentityClient.from_connection_string(
            server.connection_string, connection_verify=server.ca_path
        )
        self._agents: list[CallAgent] = []

    def new(self, scopes: list[str] | None = None) -> tuple[CommunicationUserIdentifier, str]:
        user, token = self.identity.create_user_and_token(scopes=scopes or ["voip"])
        return user, token.token

    async def agent(self, token: str, endpoint: str | None = None) -> CallAgent:
        client = CallClient(endpoint or self.server.endpoint, ssl=self.server.ca_path)
        agent = await client.create_call_agent(token)
        self._agents.append(agent)
        return agent

    async def user_with_agent(self) -> tuple[str, CallAgent]:
        user, token = self.new()
        return str(user.properties["id"]), await self.agent(token)

    async def close(self) -> None:
        for agent in self._agents:
            await agent.dispose()


@pytest.fixture
async def users(server: RunningServer) -> AsyncIterator[Users]:
    made = Users(server)
    try:
        yield made
    finally:
        await made.close()


async def ended(call: Call) -> tuple[int, int]:
    await call.wait_for_state(CallState.DISCONNECTED)
    assert call.end_reason is not None
    return call.end_reason.code, call.end_reason.sub_code


async def connect(caller: CallAgent, callee: CallAgent, callee_id: str) -> tuple[Call, Call]:
    outgoing = await caller.start_call(callee_id)
    incoming = await callee.next_incoming_call()
    await incoming.accept()
    await outgoing.wait_for_state(CallState.CONNECTED)
    await incoming.wait_for_state(CallState.CONNECTED)
    return outgoing, incoming


# ── registration ──────────────────────────────────────────────────────────────────────


async def test_a_token_without_voip_scope_cannot_register(users: Users) -> None:
    _, chat_only = users.new(["chat"])
    with pytest.raises(SignalingClosed) as refused:
        await users.agent(chat_only)
    assert refused.value.code == 4006


async def test_a_revoked_tokens_socket_is_closed_and_its_call_ends(users: Users) -> None:
    _, alice = await users.user_with_agent()
    bob_user, bob_token = users.new()
    bob = await users.agent(bob_token)
    async with asyncio.timeout(15):
        outgoing, incoming = await connect(alice, bob, str(bob_user.properties["id"]))
        await asyncio.to_thread(users.identity.revoke_tokens, bob_user)
        closed = await bob.wait_closed()
        assert isinstance(closed, SignalingClosed) and closed.code == 4003
        assert await ended(outgoing) == (0, 4521)  # the other side dropped out
        assert incoming.state is CallState.DISCONNECTED


async def test_a_ringing_callee_whose_page_goes_away_ends_the_callers_ringing_at_once(
    server: RunningServer, users: Users
) -> None:
    """What a browser does: the token in a subprotocol (never the URL), and a closed tab
    closes the socket with 1001; the server drops the device then, not after the grace."""
    _, alice = await users.user_with_agent()
    bob_user, bob_token = users.new()
    url = server.endpoint.replace("https://", "wss://") + "/calling/signaling"
    async with (
        connect_websocket(
            url,
            subprotocols=[Subprotocol(PROTOCOL), Subprotocol(f"access_token.{bob_token}")],
            ssl=ssl.create_default_context(cafile=server.ca_path),
        ) as bob,
        asyncio.timeout(20),
    ):
        assert bob.subprotocol == PROTOCOL
        await bob.send(json.dumps({"v": 1, "type": "register", "id": "r1"}))
        while json.loads(await bob.recv()).get("type") != "ack":  # registered: it can ring
            pass
        outgoing = await alice.start_call(str(bob_user.properties["id"]))
        while json.loads(await bob.recv()).get("type") != "incomingCall":
            pass
        await bob.close(code=1001, reason="the page went away")
        # Not 487/10004, the ring timeout (3 s here): the callee's every device is gone.
        assert await ended(outgoing) == (480, 10078)


# ── call outcomes ─────────────────────────────────────────────────────────────────────


async def test_a_rejected_call_ends_as_declined_for_the_caller(users: Users) -> None:
    _, alice = await users.user_with_agent()
    bob_id, bob = await users.user_with_agent()
    async with asyncio.timeout(10):
        outgoing = await alice.start_call(bob_id)
        incoming = await bob.next_incoming_call()
        await incoming.reject()
        assert await ended(outgoing) == (603, 0)
        assert await ended(incoming) == (603, 0)


async def test_a_caller_hanging_up_while_ringing_cancels_on_every_callee_device(
    users: Users,
) -> None:
    _, alice = await users.user_with_agent()
    bob_user, bob_token = users.new()
    bob_phone, bob_laptop = await users.agent(bob_token), await users.agent(bob_token)
    async with asyncio.timeout(10):
        outgoing = await alice.start_call(str(bob_user.properties["id"]))
        ringing = [await bob_phone.next_incoming_call(), await bob_laptop.next_incoming_call()]
        await outgoing.wait_for_state(CallState.RINGING)
        await outgoing.hang_up()
        assert await ended(outgoing) == (0, 0)
        assert [await ended(call) for call in ringing] == [(487, 0), (487, 0)]
        # in words, from the table the browser SDK shares (client/calling/end_reasons.py)
        assert outgoing.end_message == "You left the call."
        assert {call.end_message for call in ringing} == {"The call was cancelled."}


async def test_answering_on_one_device_stops_the_others_ringing(users: Users) -> None:
    _, alice = await users.user_with_agent()
    bob_user, bob_token = users.new()
    bob_phone, bob_laptop = await users.agent(bob_token), await users.agent(bob_token)
    async with asyncio.timeout(15):
        outgoing = await alice.start_call(str(bob_user.properties["id"]))
        on_phone = await bob_phone.next_incoming_call()
        on_laptop = await bob_laptop.next_incoming_call()
        await on_laptop.accept()
        assert await ended(on_phone) == (487, 10003)  # accepted elsewhere
        await outgoing.wait_for_state(CallState.CONNECTED)
        await heard(outgoing, bob_laptop.tone_hz)
        assert outgoing.remote is not None and outgoing.remote.state is ParticipantState.CONNECTED


async def test_calling_a_user_who_is_in_a_call_is_busy(users: Users) -> None:
    _, alice = await users.user_with_agent()
    bob_id, bob = await users.user_with_agent()
    _, carol = await users.user_with_agent()
    async with asyncio.timeout(15):
        await connect(alice, bob, bob_id)
        second = await carol.start_call(bob_id)
        assert await ended(second) == (486, 0)
        assert second.end_message == "The person you called is busy."


async def test_an_unanswered_call_times_out_on_both_sides(users: Users) -> None:
    _, alice = await users.user_with_agent()
    bob_id, bob = await users.user_with_agent()
    async with asyncio.timeout(RING_SECONDS + 10):
        outgoing = await alice.start_call(bob_id)
        incoming = await bob.next_incoming_call()
        assert await ended(outgoing) == (487, 10004)
        assert await ended(incoming) == (487, 10004)


async def test_calling_a_user_with_no_device_ends_with_480(users: Users) -> None:
    _, alice = await users.user_with_agent()
    nobody, _ = users.new()
    async with asyncio.timeout(10):
        outgoing = await alice.start_call(str(nobody.properties["id"]))
        assert await ended(outgoing) == (480, 10037)


# ── in the call ───────────────────────────────────────────────────────────────────────


async def test_mute_video_and_hold_are_visible_to_the_other_side(users: Users) -> None:
    _, alice = await users.user_with_agent()
    bob_id, bob = await users.user_with_agent()
    async with asyncio.timeout(15):
        outgoing, incoming = await connect(alice, bob, bob_id)
        await incoming.mute()
        await outgoing.wait_for(lambda c: c.remote is not None and c.remote.is_muted)
        await incoming.unmute()
        await incoming.start_video()
        await outgoing.wait_for(
            lambda c: c.remote is not None and not c.remote.is_muted and c.remote.video_on
        )
        await outgoing.hold()
        assert outgoing.state is CallState.LOCAL_HOLD
        await incoming.wait_for(
            lambda c: c.remote is not None and c.remote.state is ParticipantState.HOLD
        )
        await outgoing.resume()
        await incoming.wait_for(
            lambda c: c.remote is not None and c.remote.state is ParticipantState.CONNECTED
        )


class Relay:
    """A TCP relay between a client and the server that a test can cut (TLS passes)."""

    def __init__(self, upstream: RunningServer) -> None:
        self._host, port = upstream.endpoint.removeprefix("https://").rsplit(":", 1)
        self._port = int(port)
        self._server: asyncio.Server | None = None
        self._open: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self.endpoint = ""
        self.refusing = False  # the network is down: new connections are reset

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._accept, self._host, 0)
        self.endpoint = f"https://{self._host}:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        self.sever()
        await self._server.wait_closed()

    def sever(self) -> None:
        for client, upstream in self._open:
            client.transport.abort()
            upstream.transport.abort()
        self._open.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        self._open.append((writer, up_writer))

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
            sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


async def test_a_network_blip_on_the_signaling_socket_does_not_drop_the_call(
    server: RunningServer, users: Users
) -> None:
    _, alice_token = users.new()
    bob_id, bob = await users.user_with_agent()
    async with Relay(server) as relay, asyncio.timeout(20):
        alice = await users.agent(alice_token, relay.endpoint)
        device_id = alice.device_id
        outgoing, incoming = await connect(alice, bob, bob_id)
        relay.sever()  # the caller's socket drops: the call's owner loses its device
        await alice.wait_registered(2)
        assert alice.device_id == device_id  # resumed the same device
        assert outgoing.state is incoming.state is CallState.CONNECTED
        assert incoming.media is not None
        before = incoming.media.audio.loud_frames
        await incoming.mute()  # signaling still reaches the reconnected caller
        await outgoing.wait_for(lambda c: c.remote is not None and c.remote.is_muted)
        await incoming.unmute()
        probe = incoming.media.audio
        while probe.loud_frames < before + 25:  # the caller's audio still flows
            probe.changed.clear()
            await probe.changed.wait()
        await outgoing.hang_up()
        assert await ended(incoming) == (0, 0)


async def test_a_device_away_longer_than_the_grace_finds_its_call_ended_when_back(
    server: RunningServer, users: Users
) -> None:
    """Past the reconnect grace the call ends for the other side (0/4521); the device that
    comes back is a new one, and the agent ends the call the server no longer has (496/7)
    instead of leaving it Connected forever."""
    _, alice_token = users.new()
    bob_id, bob = await users.user_with_agent()
    async with Relay(server) as relay, asyncio.timeout(30):
        alice = await users.agent(alice_token, relay.endpoint)
        outgoing, incoming = await connect(alice, bob, bob_id)
        relay.refusing = True
        relay.sever()
        assert await ended(incoming) == (0, 4521)  # after the grace
        relay.refusing = False
        await alice.wait_registered(2)
        assert await ended(outgoing) == (496, 7)
        assert alice.closed is None  # the agent goes on: it can call again


# ── Event Grid ────────────────────────────────────────────────────────────────────────


async def test_a_call_produces_started_participants_and_ended_events(
    server: RunningServer, users: Users
) -> None:
    receiver = await EventReceiver().start()
    try:
        await subscribe(
            server,
            f"calls-{receiver.port}",
            {"endpointUrl": receiver.url("/calls"), "includedEventTypes": CALL_TYPES},
        )
        alice_id, alice = await users.user_with_agent()
        bob_id, bob = await users.user_with_agent()
        async with asyncio.timeout(10):
            outgoing, _ = await connect(alice, bob, bob_id)
            await outgoing.hang_up()
            await ended(outgoing)
        call_id = outgoing.id

        def of_call() -> list[dict[str, Any]]:
            return [
                e
                for n in receiver.notifications
                for e in n.events()
                if e.get("data", {}).get("serverCallId") == call_id
            ]

        await receiver.wait_until(lambda: len(of_call()) >= 6, within=15)
        by_type: dict[str, list[dict[str, Any]]] = {}
        for event in of_call():
            by_type.setdefault(event["eventType"].rsplit(".", 1)[1], []).append(event)
        assert {k: len(v) for k, v in by_type.items()} == {
            "CallStarted": 1,
            "CallParticipantAdded": 2,
            "CallParticipantRemoved": 2,
            "CallEnded": 1,
        }
        [started], [ended_event] = by_type["CallStarted"], by_type["CallEnded"]
        assert started["data"]["startedBy"]["communicationIdentifier"]["rawId"] == alice_id
        assert started["subject"] == f"call/{call_id}/startedBy/{alice_id}"
        assert ended_event["data"]["reason"] == {
            "code": 0,
            "subCode": 0,
            "phrase": "Call ended by the remote participant.",
        }
        assert ended_event["data"]["endedBy"]["communicationIdentifier"]["rawId"] == alice_id
        added = {
            e["data"]["user"]["communicationIdentifier"]["rawId"]
            for e in by_type["CallParticipantAdded"]
        }
        assert added == {alice_id, bob_id}
    finally:
        await receiver.stop()
