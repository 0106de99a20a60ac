"""Issue 8's proof for group calls: Python clients (aiortc) in group and Room calls through a
running server, media through Switchboard's own SFU (ICE-lite, DTLS-SRTP, forwarding).

Every client sends its own tone; "hears X" means decoded frames from X's m-line carry X's
frequency (±5%), so audio really crossed the SFU from that participant.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.communication.rooms import ParticipantRole

from switchboard.client.calling import CallState, RequestFailed
from tests.integration.calling_clients import (
    TONES,
    GroupUsers,
    all_hear_each_other,
    hears,
    loopback_candidates,
    make_room,
    participant_of,
    present,
    room_member,
    start_without_turn,
)
from tests.integration.server import RunningServer

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """No coturn: the SFU is ICE-lite on a host candidate, and clients gather host ones."""
    running = start_without_turn(tmp_path_factory.mktemp("group-calls"))
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
async def users(server: RunningServer) -> AsyncIterator[GroupUsers]:
    found = GroupUsers(server)
    try:
        yield found
    finally:
        await found.dispose()


async def test_six_python_clients_each_hear_the_other_five_tones(users: GroupUsers) -> None:
    group_id = str(uuid.uuid4())
    async with asyncio.timeout(40):
        agents = [await users.agent(tone) for tone in TONES]
        calls = [await agent.join(group_id=group_id) for agent in agents]
        for call in calls:
            await call.wait_for_state(CallState.CONNECTED)
        await all_hear_each_other(calls, agents, TONES)

        # One leaves; the other five still hear each other and no longer list it.
        await calls[0].hang_up()
        for call in calls[1:]:
            await call.wait_for(lambda c: not present(c, agents[0]))
        await all_hear_each_other(calls[1:], agents[1:], TONES[1:])


# ── Rooms: roster, roles, lobby, validity ────────────────────────────────────────────────


async def test_off_roster_user_waits_in_the_lobby_until_a_presenter_admits_it(
    users: GroupUsers,
) -> None:
    async with asyncio.timeout(30):
        presenter, guest, refused = [await users.agent(t) for t in TONES[:3]]
        room_id = await make_room(users, {presenter: ParticipantRole.PRESENTER})
        host = await presenter.join(room_id=room_id)
        await host.wait_for_state(CallState.CONNECTED)
        assert host.role == "Presenter"

        waiting = await guest.join(room_id=room_id)
        assert waiting.state is CallState.IN_LOBBY
        await host.wait_for(lambda c: [p.user_id for p in c.lobby] == [guest.user_id])
        await host.admit(host.lobby[0].id)
        await waiting.wait_for_state(CallState.CONNECTED)
        await hears(waiting.audio_of(participant_of(waiting, presenter)), TONES[0])
        await host.wait_for(lambda c: present(c, guest))
        await hears(host.audio_of(participant_of(host, guest)), TONES[1])

        turned_away = await refused.join(room_id=room_id)
        await host.wait_for(lambda c: [p.user_id for p in c.lobby] == [refused.user_id])
        await host.reject_lobby(host.lobby[0].id)
        await turned_away.wait_for_state(CallState.DISCONNECTED)
    assert turned_away.end_reason is not None and turned_away.end_reason.code == 403


async def test_attendee_cannot_admit_from_the_lobby(users: GroupUsers) -> None:
    async with asyncio.timeout(20):
        attendee, guest = [await users.agent(t) for t in TONES[:2]]
        room_id = await make_room(users, {attendee: ParticipantRole.ATTENDEE})
        call = await attendee.join(room_id=room_id)
        await call.wait_for_state(CallState.CONNECTED)
        waiting = await guest.join(room_id=room_id)
        assert waiting.state is CallState.IN_LOBBY
        with pytest.raises(RequestFailed) as refused:
            await call.admit(waiting.participant_id or "")
    assert refused.value.code == "Forbidden"


async def test_consumer_is_never_heard_until_its_role_changes_live(users: GroupUsers) -> None:
    async with asyncio.timeout(30):
        presenter, consumer = [await users.agent(t) for t in TONES[:2]]
        room_id = await make_room(
            users, {presenter: ParticipantRole.PRESENTER, consumer: ParticipantRole.CONSUMER}
        )
        host = await presenter.join(room_id=room_id)
        listener = await consumer.join(room_id=room_id)
        await listener.wait_for_state(CallState.CONNECTED)
        assert listener.role == "Consumer"
        await host.wait_for(lambda c: present(c, consumer))
        # The consumer receives: its decoded audio is the presenter's tone...
        await hears(listener.audio_of(participant_of(listener, presenter)), TONES[0])
        # ...while the presenter was never offered a stream of the consumer's.
        consumer_id = participant_of(host, consumer)
        assert host.media is not None
        assert consumer_id not in host.media.stream_owners.values()
        assert host.audio_of(consumer_id).frames == 0

        await asyncio.to_thread(
            users.rooms().add_or_update_participants,
            room_id=room_id,
            participants=[room_member(consumer, ParticipantRole.ATTENDEE)],
        )
        await host.wait_for(lambda c: c.remote_participants[consumer_id].role == "Attendee")
        await hears(host.audio_of(consumer_id), TONES[1])


async def test_room_call_refused_outside_its_validity_window(users: GroupUsers) -> None:
    member = await users.agent(TONES[0])
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


# ── tokens, data channel, mute, dominant speaker ─────────────────────────────────────────


async def test_voip_join_token_joins_a_running_call_but_starts_none(users: GroupUsers) -> None:
    async with asyncio.timeout(40):
        full = await users.agent(TONES[0])
        limited = await users.agent(TONES[1], scopes=("voip.join",))
        group_id = str(uuid.uuid4())
        running = await full.join(group_id=group_id)
        await running.wait_for_state(CallState.CONNECTED)
        joined = await limited.join(group_id=group_id)
        await joined.wait_for_state(CallState.CONNECTED)
        await hears(joined.audio_of(participant_of(joined, full)), TONES[0])

        another = await users.agent(TONES[2], scopes=("voip.join",))
        with pytest.raises(RequestFailed) as not_started:
            await another.join(group_id=str(uuid.uuid4()))
        assert not_started.value.code == "CallNotAllowed"
        with pytest.raises(RequestFailed) as no_one_to_one:
            await another.start_call(full.user_id or "")
        assert no_one_to_one.value.code == "CallNotAllowed"


async def test_data_channel_messages_reach_everyone_or_only_those_named(users: GroupUsers) -> None:
    async with asyncio.timeout(20):
        agents = [await users.agent(t) for t in TONES[:3]]
        group_id = str(uuid.uuid4())
        calls = [await agent.join(group_id=group_id) for agent in agents]
        for call in calls:
            await call.wait_for(lambda c: len(c.remote_participants) == 2)
        sender, second, third = calls
        await sender.send_data("hello all")
        assert await second.messages.get() == (sender.participant_id, "hello all")
        assert await third.messages.get() == (sender.participant_id, "hello all")
        await sender.send_data("just you", to=[third.participant_id or ""])
        await sender.send_data("and now all again")
        assert await third.messages.get() == (sender.participant_id, "just you")
        # The second participant's next message is the broadcast: the private one skipped it.
        assert await second.messages.get() == (sender.participant_id, "and now all again")


async def test_mute_is_visible_to_the_others(users: GroupUsers) -> None:
    async with asyncio.timeout(20):
        talker, listener_agent = [await users.agent(t) for t in TONES[:2]]
        group_id = str(uuid.uuid4())
        speaking = await talker.join(group_id=group_id)
        listening = await listener_agent.join(group_id=group_id)
        await listening.wait_for(lambda c: present(c, talker))
        talker_id = participant_of(listening, talker)
        await hears(listening.audio_of(talker_id), TONES[0])
        await speaking.mute()
        await listening.wait_for(lambda c: c.remote_participants[talker_id].is_muted)
        await speaking.unmute()
        await listening.wait_for(lambda c: not c.remote_participants[talker_id].is_muted)
        await hears(listening.audio_of(talker_id), TONES[0])


async def test_dominant_speaker_follows_the_loudest_tone(users: GroupUsers) -> None:
    async with asyncio.timeout(30):
        agents = [await users.agent(t) for t in TONES[:3]]
        group_id = str(uuid.uuid4())
        calls = [await agent.join(group_id=group_id) for agent in agents]
        for call in calls:
            assert call.media is not None
            call.media.tone.amplitude = 200
        observer = calls[2]
        await observer.wait_for(lambda c: len(c.remote_participants) == 2)
        first, second = (participant_of(observer, agents[i]) for i in (0, 1))
        loud_first = calls[0].media
        assert loud_first is not None
        loud_first.tone.amplitude = 12000
        await observer.wait_for(lambda c: c.dominant_speakers[:1] == [first])
        loud_first.tone.amplitude = 200
        assert calls[1].media is not None
        calls[1].media.tone.amplitude = 12000
        await observer.wait_for(lambda c: c.dominant_speakers[:1] == [second])
