"""The roster cache (chat/sql_unit.py) never lets a stale participant list decide a send,
on SQLite and PostgreSQL, including when another node changed the roster."""

from __future__ import annotations

import uuid

import pytest

from switchboard.bus.memory import MemoryBus
from switchboard.chat.changes import ChatChanges
from switchboard.chat.models import ChatLimits, NewParticipant, Participant
from switchboard.chat.roster import ChatRosterService
from switchboard.chat.rules import ChatRules
from switchboard.chat.service import ChatService
from switchboard.chat.sql_store import SqlChatStore
from switchboard.chat.sql_unit import RosterCache
from switchboard.core.clock import SystemClock
from switchboard.core.errors import PermissionDeniedError
from switchboard.core.principal import Principal, PrincipalKind
from switchboard.events.outbox import PostCommitPublisher
from switchboard.storage import Database

pytestmark = pytest.mark.anyio


class Everyone:
    async def is_live(self, user_id: str) -> bool:
        return True


class Node:
    """One node's chat services (its own store, hence its own roster cache)."""

    def __init__(self, database: Database) -> None:
        store = SqlChatStore(database)
        changes = ChatChanges(store, PostCommitPublisher(MemoryBus()), clock=SystemClock())
        rules = ChatRules(ChatLimits())
        self.chat = ChatService(store, changes, Everyone(), rules)
        self.roster = ChatRosterService(store, changes, Everyone(), rules)


def user() -> Principal:
    raw = f"8:acs:{uuid.uuid4()}_{uuid.uuid4().hex[:8]}"
    return Principal(PrincipalKind.USER, raw, frozenset({"chat"}))


def uid(principal: Principal) -> str:
    assert principal.user_id is not None
    return principal.user_id


async def test_a_participant_removed_on_another_node_cannot_send_there_next(
    database: Database,
) -> None:
    one, two = Node(database), Node(database)
    alice, bob = user(), user()
    thread, _ = await one.chat.create_thread(alice, "cache", [NewParticipant(uid(bob))])
    await one.chat.send_message(bob, thread.id, "cached roster", "text", None, None)

    await two.roster.remove_participant(alice, thread.id, uid(bob))

    with pytest.raises(PermissionDeniedError):
        await one.chat.send_message(bob, thread.id, "after removal", "text", None, None)


async def test_a_participant_added_after_the_roster_was_cached_can_send_at_once(
    database: Database,
) -> None:
    node = Node(database)
    alice, carol = user(), user()
    thread, _ = await node.chat.create_thread(alice, "cache", [])
    await node.chat.send_message(alice, thread.id, "roster of one", "text", None, None)

    await node.roster.add_participants(alice, thread.id, [NewParticipant(uid(carol))])

    sent = await node.chat.send_message(carol, thread.id, "hello", "text", None, None)
    assert sent.sender_id == uid(carol)


async def test_a_send_rejected_for_a_non_participant_leaves_the_roster_usable(
    database: Database,
) -> None:
    node = Node(database)
    alice, mallory = user(), user()
    thread, _ = await node.chat.create_thread(alice, "cache", [])
    with pytest.raises(PermissionDeniedError):
        await node.chat.send_message(mallory, thread.id, "let me in", "text", None, None)
    sent = await node.chat.send_message(alice, thread.id, "still fine", "text", None, None)
    assert sent.sequence_id >= 1


def roster(thread_id: str, *users: str) -> tuple[Participant, ...]:
    return tuple(Participant(thread_id, u, None, 0, 0, 1) for u in users)


def test_the_cache_answers_only_for_the_version_it_learned() -> None:
    cache = RosterCache()
    cache.learn({"t": (3, roster("t", "a"))})
    assert cache.get("t", 3) == roster("t", "a")
    assert cache.get("t", 4) is None


def test_the_cache_keeps_the_newer_of_two_learned_versions() -> None:
    cache = RosterCache()
    cache.learn({"t": (5, roster("t", "a", "b"))})
    cache.learn({"t": (4, roster("t", "a"))})  # a slower transaction that read an older one
    assert cache.get("t", 5) == roster("t", "a", "b")


def test_the_cache_forgets_the_least_recently_learned_thread_beyond_its_capacity() -> None:
    cache = RosterCache(capacity=2)
    cache.learn({"t1": (0, roster("t1", "a"))})
    cache.learn({"t2": (0, roster("t2", "a"))})
    cache.learn({"t3": (0, roster("t3", "a"))})
    assert cache.get("t1", 0) is None
    assert cache.get("t3", 0) == roster("t3", "a")
