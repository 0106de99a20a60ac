"""Chat 2025-03-15's fields in every ChatStore (MemoryChatStore, SqlChatStore on SQLite and
PostgreSQL): thread metadata and retention policy, participant metadata, and the retention
sweeper's query. The rest of the store's contract: test_chat_store_contract.py.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from switchboard.chat.memory_store import MemoryChatStore
from switchboard.chat.models import (
    NewParticipant,
    RetentionKind,
    RetentionPolicy,
    Thread,
)
from switchboard.chat.sql_store import SqlChatStore
from switchboard.chat.store import ChatStore
from switchboard.storage import Database

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000_000
DAY_MS = 86_400_000
THIRTY_DAYS = RetentionPolicy(RetentionKind.THREAD_CREATION_DATE, 30)


@pytest.fixture
async def store(backend_url: str | None) -> AsyncIterator[ChatStore]:
    if backend_url is None:
        yield MemoryChatStore()
        return
    database = Database(backend_url)
    await database.start()
    try:
        yield SqlChatStore(database)
    finally:
        await database.stop()


def user() -> str:
    return f"8:acs:{uuid.uuid4()}_{uuid.uuid4().hex[:8]}"


def new_thread(**properties: object) -> Thread:
    thread = Thread(f"19:{secrets.token_hex(16)}@thread.v2", "topic", NOW, user())
    return thread.updated(**properties)  # type: ignore[arg-type]  # keyword names checked by updated()


async def create(store: ChatStore, thread: Thread, *members: NewParticipant) -> Thread:
    async with store.new_thread_unit(thread) as unit:
        seq = await unit.allocate_seq()
        await unit.add_participants(members, NOW, seq)
    stored = await store.get_thread(thread.id)
    assert stored is not None
    return stored


async def test_thread_metadata_and_retention_read_back_as_created(store: ChatStore) -> None:
    thread = new_thread(metadata={"team": "blue", "ünï": "çødé"}, retention=THIRTY_DAYS)
    stored = await create(store, thread, NewParticipant(thread.created_by))

    assert stored == replace(thread, roster_version=stored.roster_version)
    assert stored.metadata == {"team": "blue", "ünï": "çødé"}
    assert stored.retention == THIRTY_DAYS
    assert stored.expires_ms == NOW + 30 * DAY_MS
    [listed] = await store.list_threads(thread.created_by, None, None, 10)
    assert (listed.metadata, listed.retention) == (stored.metadata, stored.retention)


async def test_a_thread_without_the_new_fields_reads_back_without_them(store: ChatStore) -> None:
    stored = await create(store, new_thread())
    assert (stored.metadata, stored.retention, stored.expires_ms) == (None, None, None)


async def test_a_unit_replaces_metadata_and_retention_and_sees_its_own_change(
    store: ChatStore,
) -> None:
    thread = await create(store, new_thread(metadata={"a": "1"}, retention=THIRTY_DAYS))
    never = RetentionPolicy(RetentionKind.NONE)
    async with store.thread_unit(thread.id) as unit:
        await unit.update_thread(metadata={"a": "1", "b": "2"}, retention=never)
        assert unit.thread.metadata == {"a": "1", "b": "2"}
        assert (unit.thread.retention, unit.thread.expires_ms) == (never, None)
    stored = await store.get_thread(thread.id)
    assert stored is not None
    assert (stored.metadata, stored.retention, stored.expires_ms) == (
        {"a": "1", "b": "2"},
        never,
        None,
    )
    async with store.thread_unit(thread.id) as unit:
        await unit.update_thread(topic="new")  # leaves what it is not given
    again = await store.get_thread(thread.id)
    assert again is not None and (again.topic, again.metadata) == ("new", {"a": "1", "b": "2"})


async def test_participant_metadata_reads_back_everywhere_a_participant_is_read(
    store: ChatStore,
) -> None:
    alice, bob = user(), user()
    thread = await create(
        store,
        new_thread(),
        NewParticipant(alice, "Alice", metadata={"seat": "1"}),
        NewParticipant(bob),
    )
    got = await store.get_participant(thread.id, alice)
    assert got is not None and got.metadata == {"seat": "1"}
    listed = {p.user_id: p.metadata for p in await store.list_participants(thread.id, 0, 10)}
    assert listed == {alice: {"seat": "1"}, bob: None}
    async with store.thread_unit(thread.id) as unit:  # the roster a change works on
        assert {p.user_id: p.metadata for p in unit.roster} == listed


async def test_expired_threads_are_the_live_ones_past_their_retention(store: ChatStore) -> None:
    expiring = await create(store, new_thread(retention=THIRTY_DAYS))
    kept = await create(store, new_thread(retention=RetentionPolicy(RetentionKind.NONE)))
    plain = await create(store, new_thread())
    deleted = await create(store, new_thread(retention=THIRTY_DAYS))
    async with store.thread_unit(deleted.id) as unit:
        await unit.update_thread(deleted_ms=NOW + 1)
    mine = {expiring.id, kept.id, plain.id, deleted.id}

    due = NOW + 30 * DAY_MS
    before = set(await store.expired_threads(due - 1, 10_000)) & mine
    at = set(await store.expired_threads(due, 10_000)) & mine
    assert (before, at) == (set(), {expiring.id})
