"""Issue 22: ACS's data channel over real WebRTC data channels, with Python clients (aiortc)
on a node served in this process (so the test reaches the media node's loss hook).

Group calls go through the media node, which terminates each participant's SCTP association
and forwards to the chosen participants; 1:1 calls go peer to peer. Each test reads its
messages off the receivers the feature created: what a participant was not sent never
appears there (a later message on another channel shows the queue was live).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import cast

import pytest
from azure.communication.identity import CommunicationIdentityClient
from azure.communication.rooms import (
    CommunicationUserIdentifier,
    ParticipantRole,
    RoomParticipant,
    RoomsClient,
)

from switchboard.client.calling import Call, CallAgent, CallClient, CallState
from switchboard.client.calling.data_channel import (
    DataChannelMessage,
    DataChannelReceiver,
    MessageTooLargeError,
    SenderClosedError,
    SendingNotAllowedError,
    SendingTooFastError,
)
from switchboard.media.data_frames import MAX_MESSAGE_BYTES
from switchboard.media.node import LocalMediaNode
from tests.integration.calling_clients import loopback_candidates
from tests.integration.inprocess_node import InProcessNode, serving

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback


@pytest.fixture
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    async with serving(tmp_path_factory.mktemp("data-channels")) as served:
        yield served


class Users:
    def __init__(self, node: InProcessNode) -> None:
        self.node = node
        self.identity = CommunicationIdentityClient.from_connection_string(
            node.connection_string, connection_verify=node.ca_path
        )
        self.agents: list[CallAgent] = []

    async def agent(self) -> CallAgent:
        _, token = await asyncio.to_thread(self.identity.create_user_and_token, scopes=["voip"])
        client = CallClient(self.node.endpoint, ssl=self.node.ca_path)
        agent = await client.create_call_agent(token.token)
        self.agents.append(agent)
        return agent

    def media_node(self) -> LocalMediaNode:
        return cast(LocalMediaNode, self.node.node.calling.conferences.media)

    async def dispose(self) -> None:
        await asyncio.gather(*(a.dispose() for a in self.agents), return_exceptions=True)


@pytest.fixture
async def users(node: InProcessNode) -> AsyncIterator[Users]:
    users = Users(node)
    yield users
    await users.dispose()


async def data_ready(call: Call) -> None:
    """Until both of the call's data channels are open (SCTP associated)."""
    while True:
        media = call.media
        if media is not None and all(
            c.readyState == "open" for c in (media.data.lossy, media.data.durable)
        ):
            return
        await asyncio.sleep(0.02)


async def group_of(users: Users, size: int) -> tuple[str, list[Call]]:
    group_id = str(uuid.uuid4())
    calls = [await (await users.agent()).join(group_id=group_id) for _ in range(size)]
    for call in calls:
        await call.wait_for(lambda c: len(c.remote_participants) == size - 1)
        await data_ready(call)
    return f"group:{group_id}", calls


async def receiver_of(call: Call, sender: Call, channel_id: int) -> DataChannelReceiver:
    receiver = await call.data_channel.receivers.get()
    assert (receiver.sender_participant_id, receiver.channel_id) == (
        sender.participant_id,
        channel_id,
    )
    return receiver


async def read_until(receiver: DataChannelReceiver, sequence: int) -> list[int]:
    """Sequence numbers read until one at least ``sequence`` (a message sent near the end)."""
    seen: list[int] = []
    while not seen or seen[-1] < sequence:
        seen.append((await receiver.read()).sequence_number)
    return seen


async def test_four_party_call_durable_and_lossy_reach_chosen_participants_only_in_order(
    users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with asyncio.timeout(120):  # ~25 s alone; a loaded machine takes longer
        call_id, calls = await group_of(users, 4)
        a, b, c, d = calls
        durable = a.data_channel.create_sender(
            7, reliability="durable", participants=[b.participant_id or "", c.participant_id or ""]
        )
        for n in range(200):
            await durable.send_message(f"durable {n}".encode())
        for call in (b, c):
            receiver = await receiver_of(call, a, 7)
            got = [await receiver.read() for _ in range(200)]
            assert [m.sequence_number for m in got] == list(range(1, 201))
            assert [m.data for m in got] == [f"durable {n}".encode() for n in range(200)]

        # Lossy to everyone, while C's link drops 30% of its SCTP packets both ways: C keeps
        # getting new messages (no head-of-line wait for lost ones), and loses some for good.
        c_link = users.media_node().calls[call_id].data.links[c.participant_id or ""]
        c_link.loss = 0.3
        lossy = a.data_channel.create_sender(8, reliability="lossy", priority="high")
        for n in range(300):
            await lossy.send_message(n.to_bytes(2, "big") * 32)  # 64 bytes
            await asyncio.sleep(0.002)
        # B and D (clean links) and C (lossy link) all get messages from near the end; C lost
        # some for good on the way. D's first receiver is channel 8's: the durable messages
        # for B and C never reached it.
        lossy_receivers = [await receiver_of(call, a, 8) for call in (b, c, d)]
        for call, receiver in zip((b, c, d), lossy_receivers, strict=True):
            seen = await read_until(receiver, 280)
            assert len(set(seen)) == len(seen) and set(seen) <= set(range(1, 301))
            if call is c:
                assert len(seen) < 280
        c_link.loss = 0.0
        with pytest.raises(MessageTooLargeError):
            await durable.send_message(bytes(MAX_MESSAGE_BYTES + 1))
        await durable.send_message(bytes(MAX_MESSAGE_BYTES))  # the limit itself is fine
        slow = a.data_channel.create_sender(  # 125 bytes per second
            10, bitrate_in_kbps=1, participants=[c.participant_id or ""]
        )
        await slow.send_message(bytes(100))
        with pytest.raises(SendingTooFastError):
            await slow.send_message(bytes(100))
        await lossy.close()
        with pytest.raises(SenderClosedError):
            await lossy.send_message(b"after close")
        for receiver in lossy_receivers:  # the close mark, reliable even on C's lossy link
            await receiver.closed.wait()
        assert (a.participant_id or "", 8) not in users.media_node().calls[call_id].data.routes

        # Without SCTP (as if it never came up) the signaling relay carries the message.
        assert a.media is not None
        monkeypatch.setattr(a.media.data, "channel", lambda reliability: None)
        fallback = a.data_channel.create_sender(
            11, reliability="durable", participants=[b.participant_id or ""]
        )
        await fallback.send_message(b"by signaling")
        relayed = await receiver_of(b, a, 11)
        assert await relayed.read() == DataChannelMessage(1, b"by signaling")


async def test_a_room_consumer_receives_but_may_not_send(users: Users) -> None:
    async with asyncio.timeout(40):
        presenter, consumer = await users.agent(), await users.agent()
        rooms = RoomsClient.from_connection_string(
            users.node.connection_string, connection_verify=users.node.ca_path
        )
        roster = [
            RoomParticipant(
                communication_identifier=CommunicationUserIdentifier(agent.user_id or ""),
                role=role,
            )
            for agent, role in (
                (presenter, ParticipantRole.PRESENTER),
                (consumer, ParticipantRole.CONSUMER),
            )
        ]
        room = await asyncio.to_thread(rooms.create_room, participants=roster)
        speaking = await presenter.join(room_id=str(room.id))
        watching = await consumer.join(room_id=str(room.id))
        for call in (speaking, watching):
            await call.wait_for(lambda c: len(c.remote_participants) == 1)
            await data_ready(call)
        sender = speaking.data_channel.create_sender(3, reliability="durable")
        await sender.send_message(b"to the audience")
        receiver = await receiver_of(watching, speaking, 3)
        assert (await receiver.read()).data == b"to the audience"
        refused = watching.data_channel.create_sender(3)
        with pytest.raises(SendingNotAllowedError):
            await refused.send_message(b"from a consumer")


async def test_one_to_one_call_data_goes_peer_to_peer(users: Users) -> None:
    async with asyncio.timeout(40):
        alice, bob = await users.agent(), await users.agent()
        outgoing = await alice.start_call(bob.user_id or "")
        incoming = await bob.next_incoming_call()
        await incoming.accept(audio=True)
        for call in (outgoing, incoming):
            await call.wait_for_state(CallState.CONNECTED)
            await data_ready(call)
        sender = outgoing.data_channel.create_sender(1, reliability="durable")
        for n in range(50):
            await sender.send_message(bytes([n]))
        receiver = await incoming.data_channel.receivers.get()
        assert receiver.sender_participant_id == (incoming.remote or outgoing).id
        got = [await receiver.read() for _ in range(50)]
        assert [m.data for m in got] == [bytes([n]) for n in range(50)]
        await sender.close()
        await receiver.closed.wait()
        assert users.media_node().calls == {}  # no SFU in between
