"""ChatRosterService's rules (membership, typing, receipts) on MemoryChatStore."""

from __future__ import annotations

import pytest

from switchboard.chat.domain_events import (
    ParticipantsAdded,
    ParticipantsRemoved,
    ReadReceiptReceived,
    TypingIndicatorReceived,
)
from switchboard.chat.models import ChatLimits, MessageType, NewParticipant
from switchboard.core.errors import BadRequestError, MessageNotFoundError, PermissionDeniedError
from tests.unit.chat_world import ChatWorld, uid, user

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world() -> ChatWorld:
    return await ChatWorld().start()


async def test_adding_active_participants_again_changes_and_announces_nothing(
    world: ChatWorld,
) -> None:
    alice, bob = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [NewParticipant(uid(bob))])
    history = await world.chat.list_messages(alice, thread.id, None, None, 10)
    await world.published()

    invalid = await world.roster.add_participants(alice, thread.id, [NewParticipant(uid(bob))])

    assert invalid == []
    assert await world.published() == []
    assert await world.chat.list_messages(alice, thread.id, None, None, 10) == history


async def test_added_participants_are_announced_with_a_system_message(world: ChatWorld) -> None:
    alice, carol = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    await world.published()

    await world.roster.add_participants(alice, thread.id, [NewParticipant(uid(carol), "Carol")])

    [event] = await world.published()
    assert isinstance(event.data, ParticipantsAdded)
    assert set(event.recipients) == {uid(alice), uid(carol)}
    assert [p.display_name for p in event.data.participants] == ["Carol"]
    latest = (await world.chat.list_messages(carol, thread.id, None, None, 1))[0]
    assert latest.type is MessageType.PARTICIPANT_ADDED


async def test_a_new_participant_sees_history_from_its_share_history_time(
    world: ChatWorld,
) -> None:
    alice, carol = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    early = await world.chat.send_message(alice, thread.id, "early", "text", None, None)
    world.clock.advance(10)
    late = await world.chat.send_message(alice, thread.id, "late", "text", None, None)

    await world.roster.add_participants(
        alice, thread.id, [NewParticipant(uid(carol), None, late.created_ms)]
    )

    visible = await world.chat.list_messages(carol, thread.id, None, None, 10)
    assert late.id in [m.id for m in visible] and early.id not in [m.id for m in visible]
    with pytest.raises(MessageNotFoundError):
        await world.chat.get_message(carol, thread.id, early.id)


async def test_a_removed_participant_keeps_history_until_removal(world: ChatWorld) -> None:
    alice, bob = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [NewParticipant(uid(bob))])
    before = await world.chat.send_message(alice, thread.id, "before", "text", None, None)
    await world.published()
    world.clock.advance(1)

    await world.roster.remove_participant(alice, thread.id, uid(bob))
    world.clock.advance(1)
    after = await world.chat.send_message(alice, thread.id, "after", "text", None, None)

    [removed, message] = await world.published()
    assert isinstance(removed.data, ParticipantsRemoved) and uid(bob) in removed.recipients
    assert uid(bob) not in message.recipients
    seen = [m.id for m in await world.chat.list_messages(bob, thread.id, None, None, 10)]
    assert before.id in seen and after.id not in seen
    with pytest.raises(PermissionDeniedError):
        await world.chat.send_message(bob, thread.id, "still here?", "text", None, None)
    members = await world.roster.list_participants(alice, thread.id, 0, 10)
    assert [p.user_id for p in members] == [uid(alice)]


async def test_removing_a_non_participant_changes_nothing(world: ChatWorld) -> None:
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    await world.published()
    await world.roster.remove_participant(alice, thread.id, uid(user()))
    assert await world.published() == []


async def test_limited_tokens_cannot_change_the_roster_and_adds_are_capped() -> None:
    world = await ChatWorld(ChatLimits(max_participants_per_add=1)).start()
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    with pytest.raises(PermissionDeniedError):
        await world.roster.add_participants(
            user("chat.join.limited"), thread.id, [NewParticipant(uid(user()))]
        )
    with pytest.raises(BadRequestError) as capped:
        await world.roster.add_participants(
            alice, thread.id, [NewParticipant(uid(user())), NewParticipant(uid(user()))]
        )
    assert capped.value.error_code == "TooManyParticipants"


async def test_typing_reaches_the_others_live_and_is_never_stored(world: ChatWorld) -> None:
    alice, bob = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [NewParticipant(uid(bob))])
    await world.published()
    _, last = await world.store.stream_bounds()

    await world.roster.send_typing(alice, thread.id, "Alice")

    [typing] = await world.published()
    assert isinstance(typing.data, TypingIndicatorReceived) and typing.seq is None
    assert typing.recipients == (uid(bob),)
    assert (await world.store.stream_bounds())[1] == last


async def test_typing_and_receipts_are_off_in_large_threads() -> None:
    world = await ChatWorld(ChatLimits(max_participants_for_receipts_and_typing=1)).start()
    alice, bob = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [NewParticipant(uid(bob))])
    with pytest.raises(BadRequestError) as off:
        await world.roster.send_typing(alice, thread.id, None)
    assert off.value.error_code == "FeatureDisabledForLargeThread"


async def test_a_read_receipt_is_kept_and_announced_only_for_a_visible_message(
    world: ChatWorld,
) -> None:
    alice, bob = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [NewParticipant(uid(bob))])
    sent = await world.chat.send_message(alice, thread.id, "read me", "text", None, None)
    await world.published()
    with pytest.raises(MessageNotFoundError):
        await world.roster.send_read_receipt(bob, thread.id, "404")

    await world.roster.send_read_receipt(bob, thread.id, sent.id)

    [receipt] = await world.published()
    assert isinstance(receipt.data, ReadReceiptReceived) and receipt.data.message_id == sent.id
    listed = await world.roster.list_read_receipts(alice, thread.id, 0, 10)
    assert [(r.user_id, r.message_id) for r in listed] == [(uid(bob), sent.id)]
