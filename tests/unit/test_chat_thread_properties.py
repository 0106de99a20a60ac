"""Chat 2025-03-15's thread properties in ChatService (MemoryChatStore, a fake clock): metadata
merged on PATCH, the retention policy's rules, and the sweeper that enforces it."""

from __future__ import annotations

import pytest

from switchboard.chat.domain_events import ThreadCreated, ThreadDeleted, ThreadPropertiesUpdated
from switchboard.chat.models import (
    ChatLimits,
    MessageType,
    NewParticipant,
    RetentionKind,
    RetentionPolicy,
)
from switchboard.chat.rules import ChatRules
from switchboard.core.errors import BadRequestError, ThreadNotFoundError
from tests.unit.chat_world import ChatWorld, uid, user

pytestmark = pytest.mark.anyio

DAY = 86_400.0


@pytest.fixture
async def world() -> ChatWorld:
    return await ChatWorld().start()


def policy(days: int) -> RetentionPolicy:
    return RetentionPolicy(RetentionKind.THREAD_CREATION_DATE, days)


async def test_metadata_is_merged_on_update_as_acs_records_it(world: ChatWorld) -> None:
    # azure-sdk-for-js recording "successfully updates the thread metadata": PATCH
    # {"metadata": {"threadType": "secondary"}} on a thread created with threadType and
    # secondaryThread reads back with both keys, threadType replaced.
    alice = user()
    thread, _ = await world.chat.create_thread(
        alice, "t", [], metadata={"threadType": "primary", "secondaryThread": "test-id"}
    )
    [created] = await world.published()
    assert isinstance(created.data, ThreadCreated)
    assert created.data.metadata == {"threadType": "primary", "secondaryThread": "test-id"}

    await world.chat.update_thread(alice, thread.id, metadata={"threadType": "secondary"})

    got = await world.chat.get_thread(alice, thread.id)
    assert got.metadata == {"threadType": "secondary", "secondaryThread": "test-id"}
    assert got.topic == "t"
    [updated] = await world.published()
    assert isinstance(updated.data, ThreadPropertiesUpdated)
    assert updated.data.metadata == {"threadType": "secondary", "secondaryThread": "test-id"}
    # a metadata-only update leaves no topicUpdated message
    kinds = [m.type for m in await world.chat.list_messages(alice, thread.id, None, None, 10)]
    assert kinds == [MessageType.TOPIC_UPDATED, MessageType.PARTICIPANT_ADDED]


async def test_merged_metadata_over_the_limit_is_refused_and_nothing_changes(
    world: ChatWorld,
) -> None:
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [], metadata={"a": "x" * 600})
    with pytest.raises(BadRequestError) as caught:
        await world.chat.update_thread(alice, thread.id, metadata={"b": "y" * 600})
    assert caught.value.error_code == "MetadataTooLarge"
    assert (await world.chat.get_thread(alice, thread.id)).metadata == {"a": "x" * 600}


async def test_participant_metadata_over_the_limit_is_refused(world: ChatWorld) -> None:
    with pytest.raises(BadRequestError):
        await world.chat.create_thread(
            user(), "t", [NewParticipant(uid(user()), metadata={"k": "v" * 2000})]
        )


@pytest.mark.parametrize(
    ("kind", "days", "target"),
    [
        ("threadCreationDate", 29, "retentionPolicy.deleteThreadAfterDays"),
        ("threadCreationDate", 91, "retentionPolicy.deleteThreadAfterDays"),
        ("threadCreationDate", None, "retentionPolicy.deleteThreadAfterDays"),
        ("messageDate", 30, "retentionPolicy.kind"),
    ],
)
def test_a_retention_policy_outside_acs_range_is_refused(
    kind: str, days: int | None, target: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        ChatRules(ChatLimits()).retention_policy(kind, days)
    assert (caught.value.error_code, caught.value.target) == ("InvalidRetentionPolicy", target)


def test_retention_policies_acs_accepts() -> None:
    rules = ChatRules(ChatLimits())
    assert rules.retention_policy("threadCreationDate", 30) == policy(30)
    assert rules.retention_policy("threadCreationDate", 90) == policy(90)
    assert rules.retention_policy("none", None) == RetentionPolicy(RetentionKind.NONE)


async def test_the_sweeper_deletes_a_thread_when_its_retention_runs_out(world: ChatWorld) -> None:
    alice, bob = user(), user()
    expiring, _ = await world.chat.create_thread(
        alice, "short", [NewParticipant(uid(bob))], retention=policy(30)
    )
    forever, _ = await world.chat.create_thread(alice, "forever", [])
    await world.published()

    world.clock.advance(30 * DAY - 1)
    assert await world.chat.delete_expired_threads() == 0
    world.clock.advance(1)
    assert await world.chat.delete_expired_threads() == 1

    with pytest.raises(ThreadNotFoundError):
        await world.chat.get_thread(bob, expiring.id)
    assert (await world.chat.get_thread(alice, forever.id)).topic == "forever"
    [gone] = await world.published()
    assert isinstance(gone.data, ThreadDeleted) and gone.data.thread_id == expiring.id
    assert gone.data.by.user_id == uid(alice)  # the creator, who chose the policy
    assert set(gone.recipients) == {uid(alice), uid(bob)}
    assert await world.chat.delete_expired_threads() == 0  # nothing left to do


async def test_a_policy_changed_to_none_keeps_the_thread(world: ChatWorld) -> None:
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [], retention=policy(30))
    await world.chat.update_thread(alice, thread.id, retention=RetentionPolicy(RetentionKind.NONE))
    world.clock.advance(365 * DAY)
    assert await world.chat.delete_expired_threads() == 0
    got = await world.chat.get_thread(alice, thread.id)
    assert got.retention == RetentionPolicy(RetentionKind.NONE)


async def test_a_longer_policy_set_later_counts_from_the_thread_creation(world: ChatWorld) -> None:
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [], retention=policy(30))
    world.clock.advance(20 * DAY)
    await world.chat.update_thread(alice, thread.id, retention=policy(40))
    world.clock.advance(19 * DAY)  # day 39
    assert await world.chat.delete_expired_threads() == 0
    world.clock.advance(1 * DAY)  # day 40 since creation
    assert await world.chat.delete_expired_threads() == 1


async def test_participant_metadata_over_the_limit_is_refused_when_adding(
    world: ChatWorld,
) -> None:
    alice = user()
    thread, _ = await world.chat.create_thread(alice, "t", [])
    with pytest.raises(BadRequestError) as caught:
        await world.roster.add_participants(
            alice, thread.id, [NewParticipant(uid(user()), metadata={"k": "v" * 2000})]
        )
    assert caught.value.error_code == "MetadataTooLarge"
    assert [p.user_id for p in await world.store.list_participants(thread.id, 0, 10)] == [
        uid(alice)
    ]
