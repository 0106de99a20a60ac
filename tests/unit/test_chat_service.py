"""ChatService's rules (threads and messages) on MemoryChatStore: no database, no sockets."""

from __future__ import annotations

import pytest

from switchboard.chat.domain_events import (
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ThreadCreated,
    ThreadPropertiesUpdated,
)
from switchboard.chat.models import ChatLimits, MessageType, NewParticipant
from switchboard.core.errors import (
    BadRequestError,
    MessageNotFoundError,
    PermissionDeniedError,
    ThreadNotFoundError,
)
from tests.unit.chat_world import ChatWorld, uid, user

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world() -> ChatWorld:
    return await ChatWorld().start()


async def test_the_creator_is_a_participant_and_the_thread_is_announced_to_everyone(
    world: ChatWorld,
) -> None:
    alice, bob = user(), user()
    thread, invalid = await world.chat.create_thread(alice, "plans", [NewParticipant(uid(bob))])

    assert invalid == []
    members = await world.store.list_participants(thread.id, 0, 10)
    assert {p.user_id for p in members} == {uid(alice), uid(bob)}
    [announced] = await world.published()
    assert set(announced.recipients) == {uid(alice), uid(bob)}
    assert isinstance(announced.data, ThreadCreated) and announced.data.topic == "plans"
    # Newest first, as ACS records a thread created with a topic: participantAdded is
    # sequence 1, topicUpdated (the first topic) 2.
    topic, system = await world.chat.list_messages(alice, thread.id, None, None, 10)
    assert (system.type, system.sequence_id) == (MessageType.PARTICIPANT_ADDED, 1)
    assert system.system is not None and system.system["initiator"] == uid(alice)
    assert (topic.type, topic.sequence_id) == (MessageType.TOPIC_UPDATED, 2)
    assert topic.system == {"initiator": uid(alice), "topic": "plans"}


async def test_unknown_and_foreign_participants_are_reported_not_added(world: ChatWorld) -> None:
    alice, gone = user(), user()
    world.identities.deleted.add(uid(gone))
    thread, invalid = await world.chat.create_thread(
        alice, "t", [NewParticipant(uid(gone)), NewParticipant("4:+15551234567")]
    )
    assert [(i.raw_id, i.code) for i in invalid] == [
        (uid(gone), "IdentityNotFound"),
        ("4:+15551234567", "InvalidParticipant"),
    ]
    members = await world.store.list_participants(thread.id, 0, 10)
    assert [p.user_id for p in members] == [uid(alice)]


async def test_a_thread_too_large_or_without_topic_is_refused_and_nothing_is_stored() -> None:
    world = await ChatWorld(ChatLimits(max_participants=2)).start()
    alice = user()
    others = [NewParticipant(uid(user())) for _ in range(2)]
    with pytest.raises(BadRequestError) as too_many:
        await world.chat.create_thread(alice, "t", others)
    assert too_many.value.error_code == "TooManyParticipants"
    with pytest.raises(BadRequestError) as no_topic:
        await world.chat.create_thread(alice, "  ", [])
    assert no_topic.value.error_code == "InvalidTopic"
    assert await world.chat.list_threads(alice, None, None, 10) == []
    assert await world.published() == []


async def test_only_the_full_chat_scope_creates_threads(world: ChatWorld) -> None:
    with pytest.raises(PermissionDeniedError):
        await world.chat.create_thread(user("chat.join"), "t", [])


async def test_a_non_participant_can_neither_send_nor_read(world: ChatWorld) -> None:
    alice, mallory = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    with pytest.raises(PermissionDeniedError):
        await world.chat.send_message(mallory, thread.id, "hi", "text", None, None)
    with pytest.raises(PermissionDeniedError):
        await world.chat.list_messages(mallory, thread.id, None, None, 10)


async def test_message_ids_increase_within_one_millisecond(world: ChatWorld) -> None:
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    first = await world.chat.send_message(alice, thread.id, "a", "text", None, None)
    second = await world.chat.send_message(alice, thread.id, "b", "html", "Alice", {"k": "v"})
    assert int(second.id) == int(first.id) + 1
    assert second.sequence_id == first.sequence_id + 1
    assert (second.type, second.metadata) == (MessageType.HTML, {"k": "v"})


async def test_sent_messages_are_checked_against_the_limits() -> None:
    world = await ChatWorld(ChatLimits(max_message_bytes=4, max_metadata_bytes=10)).start()
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    await world.published()
    with pytest.raises(BadRequestError) as large:
        await world.chat.send_message(alice, thread.id, "héllo", "text", None, None)
    assert large.value.error_code == "MessageTooLarge"
    with pytest.raises(BadRequestError) as meta:
        await world.chat.send_message(alice, thread.id, "ok", "text", None, {"key": "value"})
    assert meta.value.error_code == "MetadataTooLarge"
    with pytest.raises(BadRequestError) as system:
        await world.chat.send_message(alice, thread.id, "ok", "topicUpdated", None, None)
    assert system.value.error_code == "InvalidMessageType"
    assert await world.published() == []


async def test_a_message_goes_to_the_members_and_event_grid_skips_its_sender(
    world: ChatWorld,
) -> None:
    alice, bob = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [NewParticipant(uid(bob))])
    await world.published()
    before = len(world.store.integration_events)
    wakeups = world.wakeups.count

    await world.chat.send_message(alice, thread.id, "hi", "text", None, None)

    [received] = await world.published()
    assert isinstance(received.data, MessageReceived) and received.data.message.content == "hi"
    assert set(received.recipients) == {uid(alice), uid(bob)}
    new = world.store.integration_events[before:]
    per_user = [e for e in new if e.type.endswith(".ChatMessageReceived")]
    assert [e.data["recipientCommunicationIdentifier"]["rawId"] for e in per_user] == [uid(bob)]
    assert world.wakeups.count == wakeups + 1


async def test_only_the_sender_edits_and_metadata_merges(world: ChatWorld) -> None:
    alice, bob = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [NewParticipant(uid(bob))])
    sent = await world.chat.send_message(alice, thread.id, "v1", "text", None, {"a": "1"})
    with pytest.raises(PermissionDeniedError) as not_sender:
        await world.chat.update_message(bob, thread.id, sent.id, "hijack", None)
    assert not_sender.value.error_code == "NotMessageSender"
    await world.published()
    world.clock.advance(1)

    await world.chat.update_message(alice, thread.id, sent.id, None, {"b": "2"})

    edited = await world.chat.get_message(bob, thread.id, sent.id)
    assert edited.content == "v1" and edited.metadata == {"a": "1", "b": "2"}
    assert edited.edited_ms == edited.version_ms == sent.created_ms + 1000
    [event] = await world.published()
    assert isinstance(event.data, MessageEdited) and event.data.message.edited_ms is not None


async def test_a_deleted_message_stays_as_a_tombstone_and_deleting_again_announces_nothing(
    world: ChatWorld,
) -> None:
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    sent = await world.chat.send_message(alice, thread.id, "oops", "text", None, None)
    await world.published()

    await world.chat.delete_message(alice, thread.id, sent.id)
    await world.chat.delete_message(alice, thread.id, sent.id)

    [event] = await world.published()
    assert isinstance(event.data, MessageDeleted) and event.data.message.deleted_ms is not None
    tombstone = await world.chat.get_message(alice, thread.id, sent.id)
    assert tombstone.deleted_ms is not None
    with pytest.raises(MessageNotFoundError):
        await world.chat.delete_message(alice, thread.id, "12345")


async def test_a_topic_change_is_a_system_message_and_an_event(world: ChatWorld) -> None:
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "old", [])
    await world.published()
    await world.chat.update_topic(alice, thread.id, "new")

    assert (await world.chat.get_thread(alice, thread.id)).topic == "new"
    latest = (await world.chat.list_messages(alice, thread.id, None, None, 1))[0]
    assert latest.type is MessageType.TOPIC_UPDATED
    assert latest.system is not None and latest.system["topic"] == "new"
    [event] = await world.published()
    assert isinstance(event.data, ThreadPropertiesUpdated)
    assert (event.data.actor, event.data.topic) == (uid(alice), "new")


async def test_a_deleted_thread_is_gone_for_everyone(world: ChatWorld) -> None:
    alice, bob = user(), user()
    thread, _ = await world.chat.create_thread(alice, "t", [NewParticipant(uid(bob))])
    await world.chat.delete_thread(alice, thread.id)
    with pytest.raises(ThreadNotFoundError):
        await world.chat.get_thread(bob, thread.id)
    with pytest.raises(ThreadNotFoundError):
        await world.chat.send_message(bob, thread.id, "anyone?", "text", None, None)
    assert await world.chat.list_threads(bob, None, None, 10) == []
