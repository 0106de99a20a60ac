"""Group and Room calls against a running server: Event Grid events, display names, the end
of a room's validity window, roster removal, a refused join, and a two-party callee that
trickles candidates before its accept (docs/calling-protocol.md)."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.communication.rooms import ParticipantRole
from websockets.asyncio.client import ClientConnection, connect

from switchboard.calling.signaling.protocol import PROTOCOL
from switchboard.client.calling import CallAgent, CallClient, CallState, RequestFailed
from tests.event_receiver import EventReceiver
from tests.integration.admin_http import subscribe
from tests.integration.calling_clients import (
    CALL_TYPES,
    TONES,
    GroupUsers,
    loopback_candidates,
    make_room,
    room_member,
    start_without_turn,
)
from tests.integration.server import RunningServer

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_without_turn(tmp_path_factory.mktemp("group-lifecycle"))
    yield running
    assert running.stop() == 0, "\n".join(running.output)


class NamedUsers(GroupUsers):
    async def named(self, name: str, tone: float = TONES[0]) -> CallAgent:
        _, token = self.identity.create_user_and_token(scopes=["voip"])
        client = CallClient(self.server.endpoint, ssl=self.server.ca_path, tone_hz=tone)
        agent = await client.create_call_agent(token.token, display_name=name)
        self.agents.append(agent)
        return agent


@pytest.fixture
async def users(server: RunningServer) -> AsyncIterator[NamedUsers]:
    found = NamedUsers(server)
    try:
        yield found
    finally:
        await found.dispose()


@pytest.fixture
async def receiver(server: RunningServer) -> AsyncIterator[EventReceiver]:
    started = await EventReceiver().start()
    await subscribe(
        server,
        f"group-calls-{started.port}",
        {"endpointUrl": started.url("/calls"), "includedEventTypes": CALL_TYPES},
    )
    try:
        yield started
    finally:
        await started.stop()


def events_of(receiver: EventReceiver, call_id: str) -> list[dict[str, Any]]:
    return [
        e
        for n in receiver.notifications
        for e in n.events()
        if e.get("data", {}).get("serverCallId") == call_id
    ]


def by_type(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        found.setdefault(event["eventType"].rsplit(".", 1)[1], []).append(event)
    return found


# ── Event Grid and display names ────────────────────────────────────────────────────────


async def test_a_group_call_produces_group_events_with_display_names(
    users: NamedUsers, receiver: EventReceiver
) -> None:
    group_id = str(uuid.uuid4())
    async with asyncio.timeout(20):
        alice, bob = await users.named("Alice"), await users.named("Bob", TONES[1])
        first = await alice.join(group_id=group_id)
        second = await bob.join(group_id=group_id)
        await first.wait_for(lambda c: len(c.remote_participants) == 1)
        [seen] = first.remote_participants.values()
        assert seen.display_name == "Bob"
        await second.wait_for(lambda c: len(c.remote_participants) == 1)
        assert [p.display_name for p in second.remote_participants.values()] == ["Alice"]
        await second.hang_up()
        await first.hang_up()
    call_id = f"group:{group_id}"
    await receiver.wait_until(lambda: len(events_of(receiver, call_id)) >= 6, within=15)
    found = by_type(events_of(receiver, call_id))
    assert {k: len(v) for k, v in found.items()} == {
        "CallStarted": 1,
        "CallParticipantAdded": 2,
        "CallParticipantRemoved": 2,
        "CallEnded": 1,
    }
    [started] = found["CallStarted"]
    assert started["data"]["group"] == {"id": group_id}
    assert started["data"]["isTwoParty"] is False and started["data"]["isRoomsCall"] is False
    assert started["data"]["startedBy"]["communicationIdentifier"]["rawId"] == alice.user_id
    names = {e["data"]["displayName"] for e in found["CallParticipantAdded"]}
    assert names == {"Alice", "Bob"}
    [ended] = found["CallEnded"]
    assert ended["data"]["reason"]["code"] == 0
    assert ended["data"]["endedBy"]["communicationIdentifier"]["rawId"] == alice.user_id


async def test_a_room_call_produces_room_events_with_the_members_roles(
    users: NamedUsers, receiver: EventReceiver
) -> None:
    async with asyncio.timeout(20):
        presenter, attendee = await users.named("P"), await users.named("A", TONES[1])
        room_id = await make_room(
            users, {presenter: ParticipantRole.PRESENTER, attendee: ParticipantRole.ATTENDEE}
        )
        host = await presenter.join(room_id=room_id)
        guest = await attendee.join(room_id=room_id)
        await host.wait_for(lambda c: len(c.remote_participants) == 1)
        await guest.hang_up()
        await host.hang_up()
    call_id = f"room:{room_id}"
    await receiver.wait_until(lambda: len(events_of(receiver, call_id)) >= 6, within=15)
    found = by_type(events_of(receiver, call_id))
    [started] = found["CallStarted"]
    assert started["data"]["room"] == {"id": room_id} and started["data"]["group"] is None
    assert started["data"]["isRoomsCall"] is True and started["data"]["isTwoParty"] is False
    assert started["data"]["startedBy"]["role"] == "Presenter"
    roles = {
        e["data"]["user"]["communicationIdentifier"]["rawId"]: e["data"]["user"]["role"]
        for e in found["CallParticipantAdded"]
    }
    assert roles == {presenter.user_id: "Presenter", attendee.user_id: "Attendee"}


async def test_a_two_party_call_shows_each_sides_display_name(users: NamedUsers) -> None:
    async with asyncio.timeout(20):
        alice, bob = await users.named("Alice"), await users.named("Bob", TONES[1])
        outgoing = await alice.start_call(bob.user_id or "")
        incoming = await bob.next_incoming_call()
        assert incoming.remote is not None and incoming.remote.display_name == "Alice"
        await incoming.accept()
        await outgoing.wait_for(lambda c: c.remote is not None and c.remote.display_name == "Bob")
        await outgoing.hang_up()


# ── the room's window and roster ────────────────────────────────────────────────────────


async def test_the_call_ends_for_everyone_when_the_rooms_window_closes(users: NamedUsers) -> None:
    presenter, attendee = await users.named("P"), await users.named("A", TONES[1])
    room_id = await make_room(
        users,
        {presenter: ParticipantRole.PRESENTER, attendee: ParticipantRole.ATTENDEE},
        valid_until=datetime.now(UTC) + timedelta(seconds=4),
    )
    async with asyncio.timeout(20):
        calls = [await presenter.join(room_id=room_id), await attendee.join(room_id=room_id)]
        for call in calls:
            await call.wait_for_state(CallState.DISCONNECTED)
    for call in calls:
        assert call.end_reason is not None
        assert (call.end_reason.code, call.end_reason.sub_code) == (403, 5856)
    assert presenter.calls == {} and attendee.calls == {}


async def test_a_member_removed_from_the_roster_is_ended_and_the_others_go_on(
    users: NamedUsers,
) -> None:
    presenter, attendee = await users.named("P"), await users.named("A", TONES[1])
    room_id = await make_room(
        users, {presenter: ParticipantRole.PRESENTER, attendee: ParticipantRole.ATTENDEE}
    )
    async with asyncio.timeout(20):
        host = await presenter.join(room_id=room_id)
        removed = await attendee.join(room_id=room_id)
        await host.wait_for(lambda c: len(c.remote_participants) == 1)
        await asyncio.to_thread(
            users.rooms().remove_participants,
            room_id=room_id,
            participants=[room_member(attendee, ParticipantRole.ATTENDEE).communication_identifier],
        )
        await removed.wait_for_state(CallState.DISCONNECTED)
        await host.wait_for(lambda c: not c.remote_participants)
    assert removed.end_reason is not None
    assert (removed.end_reason.code, removed.end_reason.sub_code) == (403, 5855)
    assert host.state is CallState.CONNECTED


# ── the client after a refused join ─────────────────────────────────────────────────────


async def test_a_refused_join_raises_and_leaves_no_call_behind(users: NamedUsers) -> None:
    member = await users.named("M")
    start = datetime.now(UTC) + timedelta(days=1)
    room_id = await make_room(
        users,
        {member: ParticipantRole.PRESENTER},
        valid_from=start,
        valid_until=start + timedelta(days=1),
    )
    async with asyncio.timeout(10):
        with pytest.raises(RequestFailed) as refused:
            await member.join(room_id=room_id)
    assert refused.value.code == "CallNotAllowed"
    assert member.calls == {}
    # The device is free for the next call at once.
    async with asyncio.timeout(10):
        call = await member.join(group_id=str(uuid.uuid4()))
        await call.wait_for_state(CallState.CONNECTED)
        await call.hang_up()
    assert member.calls == {}


# ── two-party: the callee trickles before its accept (raw protocol) ─────────────────────


class Raw:
    """A bare signaling client, to send frames in an order the Python client never does."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._ids = iter(range(1, 10_000))

    @classmethod
    async def open(cls, server: RunningServer, token: str) -> Raw:
        url = server.endpoint.replace("https://", "wss://") + "/calling/signaling"
        connection = await connect(
            url,
            subprotocols=[PROTOCOL],  # type: ignore[list-item]  # a plain str is fine
            additional_headers={"Authorization": f"Bearer {token}"},
            ssl=ssl.create_default_context(cafile=server.ca_path),
        )
        raw = cls(connection)
        await raw.request("register")
        return raw

    async def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        request_id = f"r{next(self._ids)}"
        await self.connection.send(json.dumps({"v": 1, "type": kind, "id": request_id, **fields}))
        ack = await self.next(lambda f: f.get("type") == "ack" and f.get("id") == request_id)
        assert ack["ok"], ack
        return ack

    async def next(self, wanted: Any) -> dict[str, Any]:
        while True:
            frame = json.loads(await self.connection.recv())
            if frame.get("type") == "ping":
                await self.connection.send(json.dumps({"v": 1, "type": "pong"}))
            elif wanted(frame):
                return dict(frame)


async def test_a_callees_candidates_sent_before_its_accept_reach_the_caller_after_the_answer(
    server: RunningServer, users: NamedUsers
) -> None:
    _, alice_token = users.identity.create_user_and_token(scopes=["voip"])
    bob, bob_token = users.identity.create_user_and_token(scopes=["voip"])
    bob_id = str(bob.properties["id"])
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}
    answer = {"type": "answer", "sdp": offer["sdp"]}
    candidate = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"}
    async with asyncio.timeout(15):
        alice = await Raw.open(server, alice_token.token)
        callee = await Raw.open(server, bob_token.token)
        try:
            target = {"rawId": bob_id, "communicationUser": {"id": bob_id}}
            placed = await alice.request("startCall", targets=[target], description=offer)
            call_id = placed["callId"]
            await callee.next(lambda f: f.get("type") == "incomingCall")
            # As a browser does: candidates right after setLocalDescription, then accept.
            await callee.request("candidate", callId=call_id, candidate=candidate)
            await callee.request("candidate", callId=call_id, candidate={"candidate": ""})
            await callee.request("accept", callId=call_id, description=answer)
            got = await alice.next(lambda f: f.get("type") == "sdp")
            assert got["description"] == answer
            first = await alice.next(lambda f: f.get("type") == "candidate")
            last = await alice.next(lambda f: f.get("type") == "candidate")
            assert [first["candidate"], last["candidate"]] == [candidate, {"candidate": ""}]
            await alice.request("hangUp", callId=call_id)
        finally:
            await alice.connection.close()
            await callee.connection.close()


async def test_malformed_requests_are_refused_with_invalid_signal_acks(
    server: RunningServer, users: NamedUsers
) -> None:
    """An unknown type is refused with its id; a frame that cannot be read, or whose id is
    over 128 characters, without one."""
    _, token = users.identity.create_user_and_token(scopes=["voip"])
    async with asyncio.timeout(10):
        raw = await Raw.open(server, token.token)
        try:

            async def refusal(text: str) -> dict[str, Any]:
                await raw.connection.send(text)
                return await raw.next(lambda f: f.get("type") == "ack" and not f["ok"])

            unknown = await refusal('{"v":1,"type":"teleport","id":"x1"}')
            assert (unknown["id"], unknown["error"]["code"]) == ("x1", "InvalidSignal")
            assert unknown["error"]["message"] == "Unknown type 'teleport'."
            for unreadable in ("{not json", '{"v":1,"type":"mediaState","id":"x2","muted":1}'):
                refused = await refusal(unreadable)
                assert (refused["id"], refused["error"]["code"]) == (None, "InvalidSignal")
            missing = await refusal('{"v":1,"type":"hangUp","id":"x3"}')  # no callId
            assert (missing["id"], missing["error"]["code"]) == ("x3", "CallNotFound")
            longest, too_long = "i" * 128, "j" * 129  # ids are echoed up to 128 characters
            echoed = await refusal(f'{{"v":1,"type":"teleport","id":"{longest}"}}')
            assert echoed["id"] == longest
            for kind in ("teleport", "hangUp"):
                refused = await refusal(f'{{"v":1,"type":"{kind}","id":"{too_long}"}}')
                assert (refused["id"], refused["error"]["code"]) == (None, "InvalidSignal")
                assert too_long not in refused["error"]["message"]
        finally:
            await raw.connection.close()
