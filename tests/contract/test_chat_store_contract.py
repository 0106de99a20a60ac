"""Every ChatStore (chat/store.py) behaves the same: MemoryChatStore, SqlChatStore on SQLite and
on PostgreSQL.

The PostgreSQL database is shared by the session (and its one event stream with it), so every
test uses fresh thread and user ids and reads the stream relative to its own positions.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest

from switchboard.chat.domain_events import (
    ChatActor,
    ChatEvent,
    ChatEventData,
    ChatMessageFacts,
    MessageReceived,
    ThreadCreated,
)
from switchboard.chat.memory_store import MemoryChatStore
from switchboard.chat.models import (
    ChatEventName,
    Message,
    MessageType,
    NewParticipant,
    Thread,
)
from switchboard.chat.sql_store import SqlChatStore
from switchboard.chat.store import ChatStore, ThreadUnit
from switchboard.core.errors import ThreadNotFoundError
from switchboard.storage import Database
from tests.conftest import POSTGRES_ADMIN_URL

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000_000


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def private_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """Like backend_url, but PostgreSQL gets a database of its own: for what changes the whole
    stream (pruning), which other tests on the session's database replay from."""
    if request.param != "postgres":
        yield None if request.param == "memory" else f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
        return
    name = f"sb_chat_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def private_store(private_store_url: str | None) -> AsyncIterator[ChatStore]:
    async for made in _store(private_store_url):
        yield made


@pytest.fixture
async def store(backend_url: str | None) -> AsyncIterator[ChatStore]:
    async for made in _store(backend_url):
        yield made


async def _store(store_url: str | None) -> AsyncIterator[ChatStore]:
    if store_url is None:
        yield MemoryChatStore()
        return
    database = Database(store_url)
    await database.start()
    try:
        yield SqlChatStore(database)
    finally:
        await database.stop()


def user() -> str:
    return f"8:acs:{uuid.uuid4()}_{uuid.uuid4().hex[:8]}"


def new_thread(created_ms: int = NOW) -> Thread:
    return Thread(f"19:{secrets.token_hex(16)}@thread.v2", "topic", created_ms, user())


def event(seq: int, thread_id: str, *, created: bool = False) -> ChatEvent:
    data: ChatEventData = (
        ThreadCreated(thread_id, ChatActor(user()), NOW, "topic", ())
        if created
        else MessageReceived(
            thread_id, ChatMessageFacts(str(seq), "text", user(), None, NOW, NOW, f"n{seq}")
        )
    )
    return ChatEvent.made(seq, data, ())


async def message(unit: ThreadUnit, text: str, sender: str, at_ms: int) -> Message:
    thread = unit.thread
    id_ms = max(at_ms, thread.last_message_id_ms + 1)
    made = Message(
        thread.id, str(id_ms), thread.message_seq + 1, MessageType.TEXT, at_ms, id_ms, text, sender
    )
    await unit.add_message(made)
    return made


async def created(store: ChatStore, *members: str, created_ms: int = NOW) -> tuple[Thread, int]:
    """A thread with ``members`` added at one stream position (returned) and its event."""
    thread = new_thread(created_ms)
    async with store.new_thread_unit(thread) as unit:
        seq = await unit.allocate_seq()
        await unit.add_participants([NewParticipant(m) for m in members], created_ms, seq)
        await unit.append_events([event(seq, thread.id, created=True)], created_ms)
        assert unit.thread.id == thread.id
        return unit.thread, seq


async def test_a_created_thread_reads_back_with_its_roster(store: ChatStore) -> None:
    alice, bob = user(), user()
    thread, seq = await created(store, alice, bob)

    stored = await store.get_thread(thread.id)
    assert stored == thread
    assert stored is not None and (stored.topic, stored.created_ms) == ("topic", NOW)
    listed = await store.list_participants(thread.id, 0, 10)
    assert [p.user_id for p in listed] == sorted([alice, bob])
    assert all(p.added_seq == seq and p.is_active for p in listed)
    assert await store.get_participant(thread.id, user()) is None


async def test_a_unit_of_a_missing_or_deleted_thread_is_refused(store: ChatStore) -> None:
    with pytest.raises(ThreadNotFoundError):
        async with store.thread_unit("19:missing@thread.v2"):
            pass
    thread, _ = await created(store, user())
    async with store.thread_unit(thread.id) as unit:
        await unit.update_thread(deleted_ms=NOW + 1)
    with pytest.raises(ThreadNotFoundError):
        async with store.thread_unit(thread.id):
            pass
    deleted = await store.get_thread(thread.id)
    assert deleted is not None and deleted.deleted_ms == NOW + 1


async def test_a_unit_that_raises_leaves_nothing_behind(store: ChatStore) -> None:
    alice = user()
    thread, _ = await created(store, alice)
    _, last_before = await store.stream_bounds()
    with pytest.raises(RuntimeError):
        async with store.thread_unit(thread.id) as unit:
            sent = await message(unit, "lost", alice, NOW + 5)
            seq = await unit.allocate_seq()
            await unit.append_events([event(seq, thread.id)], NOW + 5)
            await unit.update_thread(topic="lost too")
            raise RuntimeError("the service changed its mind")

    assert await store.get_message(thread.id, sent.id) is None
    assert await store.get_thread(thread.id) == thread
    assert (await store.stream_bounds())[1] == last_before
    with pytest.raises(RuntimeError):
        async with store.new_thread_unit(new_thread()) as unit:
            raise RuntimeError("not even created")
    assert await store.get_thread(unit.thread.id) is None


async def test_messages_advance_the_thread_inside_the_unit_and_after_commit(
    store: ChatStore,
) -> None:
    alice = user()
    thread, _ = await created(store, alice)
    async with store.thread_unit(thread.id) as unit:
        first = await message(unit, "one", alice, NOW + 10)
        assert unit.thread.message_seq == 1
        assert unit.thread.last_message_id_ms == NOW + 10
    async with store.thread_unit(thread.id) as unit:
        second = await message(unit, "two", alice, NOW + 10)  # same millisecond
        assert (unit.thread.message_seq, unit.thread.last_message_id_ms) == (2, NOW + 11)

    assert await store.get_message(thread.id, first.id) == first
    stored = await store.get_thread(thread.id)
    assert stored is not None and stored.last_message_ms == NOW + 10
    assert stored.message_seq == second.sequence_id == 2


async def test_an_edited_and_a_deleted_message_read_back_as_replaced(store: ChatStore) -> None:
    alice = user()
    thread, _ = await created(store, alice)
    async with store.thread_unit(thread.id) as unit:
        sent = await message(unit, "draft", alice, NOW + 1)
    async with store.thread_unit(thread.id) as unit:
        locked = await unit.lock_message(sent.id)
        assert locked == sent
        edited = replace(sent, content="final", metadata={"k": "v"}, edited_ms=NOW + 2)
        await unit.replace_message(edited)
    assert await store.get_message(thread.id, sent.id) == edited
    async with store.thread_unit(thread.id) as unit:
        gone = replace(edited, deleted_ms=NOW + 3, version_ms=NOW + 3)
        await unit.replace_message(gone)
        assert await unit.lock_message("no-such-id") is None
    assert await store.get_message(thread.id, sent.id) == gone


async def test_a_removed_participant_keeps_history_until_removal(store: ChatStore) -> None:
    alice, bob = user(), user()
    thread, _ = await created(store, alice, bob)
    async with store.thread_unit(thread.id) as unit:
        before = await message(unit, "before", alice, NOW + 1)
    async with store.thread_unit(thread.id) as unit:
        seq = await unit.allocate_seq()
        await unit.remove_participant(bob, NOW + 2, seq)
        assert [p.removed_seq for p in unit.roster if p.user_id == bob] == [seq]
    async with store.thread_unit(thread.id) as unit:
        await message(unit, "after", alice, NOW + 3)

    viewer = await store.get_participant(thread.id, bob)
    assert viewer is not None and viewer.removed_ms == NOW + 2
    assert [m.id for m in await store.list_messages(viewer, None, None, 10)] == [before.id]
    assert [p.user_id for p in await store.list_participants(thread.id, 0, 10)] == [alice]


async def test_history_starts_at_share_history_time_and_pages_newest_first(
    store: ChatStore,
) -> None:
    alice, carol = user(), user()
    thread, _ = await created(store, alice)
    async with store.thread_unit(thread.id) as unit:
        for n in range(4):
            await message(unit, f"m{n}", alice, NOW + 10 * (n + 1))
    async with store.thread_unit(thread.id) as unit:
        seq = await unit.allocate_seq()
        await unit.add_participants([NewParticipant(carol, "Carol", NOW + 25)], NOW + 50, seq)

    viewer = await store.get_participant(thread.id, carol)
    assert viewer is not None and viewer.display_name == "Carol"
    page = await store.list_messages(viewer, None, None, 10)
    assert [m.content for m in page] == ["m3", "m2"]
    assert [m.content for m in await store.list_messages(viewer, None, 4, 10)] == ["m2"]
    owner = await store.get_participant(thread.id, alice)
    assert owner is not None
    assert [m.content for m in await store.list_messages(owner, NOW + 20, None, 2)] == [
        "m3",
        "m2",
    ]


async def test_a_participant_added_again_gets_a_new_membership_window(store: ChatStore) -> None:
    alice, bob = user(), user()
    thread, _ = await created(store, alice, bob)
    async with store.thread_unit(thread.id) as unit:
        removed_at = await unit.allocate_seq()
        await unit.remove_participant(bob, NOW + 1, removed_at)
        version = unit.thread.roster_version
    async with store.thread_unit(thread.id) as unit:
        assert unit.thread.roster_version == version
        added_at = await unit.allocate_seq()
        await unit.add_participants([NewParticipant(bob)], NOW + 2, added_at)
        assert unit.thread.roster_version > version
        back = [p for p in unit.roster if p.user_id == bob]
    assert len(back) == 1 and back[0].is_active and back[0].added_seq == added_at
    assert await store.get_participant(thread.id, bob) == back[0]


async def test_the_stream_replays_each_users_events_within_their_membership(
    store: ChatStore,
) -> None:
    alice, bob = user(), user()
    thread, first = await created(store, alice)
    seqs = [first]
    async with store.thread_unit(thread.id) as unit:
        seqs.append(await unit.allocate_seq())
        await unit.append_events([event(seqs[-1], thread.id)], NOW)
    async with store.thread_unit(thread.id) as unit:
        seqs.append(await unit.allocate_seq())
        await unit.add_participants([NewParticipant(bob)], NOW, seqs[-1])
        await unit.append_events([event(seqs[-1], thread.id)], NOW)
    async with store.thread_unit(thread.id) as unit:
        seqs.append(await unit.allocate_seq())
        await unit.remove_participant(bob, NOW, seqs[-1])
        await unit.append_events([event(seqs[-1], thread.id)], NOW)
    async with store.thread_unit(thread.id) as unit:
        seqs.append(await unit.allocate_seq())
        await unit.append_events([event(seqs[-1], thread.id)], NOW)

    assert seqs == list(range(first, first + 5))  # gap-free, in commit order
    for_bob = await store.events_since(bob, first - 1, 100)
    assert [e.seq for e in for_bob] == seqs[2:4]
    assert all(e.recipients == (bob,) for e in for_bob)
    for_alice = await store.events_since(alice, first, 2)
    assert [e.seq for e in for_alice] == seqs[1:3]
    first_data = for_alice[0].data
    assert isinstance(first_data, MessageReceived) and first_data.message.content == f"n{seqs[1]}"
    assert first_data.thread_id == thread.id
    between = await store.events_between(seqs[1], seqs[4])
    assert [e.seq for e in between] == seqs[1:]
    assert [set(e.recipients) for e in between] == [{alice}, {alice, bob}, {alice, bob}, {alice}]
    assert between[2].name is ChatEventName.MESSAGE_RECEIVED
    _, last = await store.stream_bounds()
    assert last >= seqs[-1]


async def test_threads_list_newest_first_for_their_active_members_only(
    store: ChatStore,
) -> None:
    alice, bob = user(), user()
    old, _ = await created(store, alice, bob, created_ms=NOW)
    mid, _ = await created(store, alice, created_ms=NOW + 1_000)
    new, _ = await created(store, alice, bob, created_ms=NOW + 2_000)
    async with store.thread_unit(new.id) as unit:
        seq = await unit.allocate_seq()
        await unit.remove_participant(bob, NOW + 3_000, seq)
    async with store.thread_unit(old.id) as unit:
        await message(unit, "late", alice, NOW + 5_000)
    gone, _ = await created(store, alice, created_ms=NOW + 4_000)
    async with store.thread_unit(gone.id) as unit:
        await unit.update_thread(deleted_ms=NOW + 4_001)

    listed = await store.list_threads(alice, None, None, 10)
    assert [t.id for t in listed] == [new.id, mid.id, old.id]
    assert [t.id for t in await store.list_threads(alice, None, (mid.created_ms, mid.id), 10)] == [
        old.id
    ]
    assert [t.id for t in await store.list_threads(alice, NOW + 4_500, None, 10)] == [old.id]
    assert [t.id for t in await store.list_threads(bob, None, None, 10)] == [old.id]
    assert len(await store.list_threads(alice, None, None, 2)) == 2


async def test_read_receipts_keep_the_latest_per_active_participant(store: ChatStore) -> None:
    alice, bob = user(), user()
    thread, _ = await created(store, alice, bob)
    async with store.thread_unit(thread.id) as unit:
        await unit.set_read_receipt(alice, "1", NOW + 1)
        await unit.set_read_receipt(bob, "1", NOW + 2)
    async with store.thread_unit(thread.id) as unit:
        await unit.set_read_receipt(alice, "2", NOW + 3)

    receipts = await store.list_read_receipts(thread.id, 0, 10)
    assert [(r.user_id, r.message_id) for r in receipts] == [(bob, "1"), (alice, "2")]
    async with store.thread_unit(thread.id) as unit:
        await unit.remove_participant(bob, NOW + 4, await unit.allocate_seq())
    assert [r.user_id for r in await store.list_read_receipts(thread.id, 0, 10)] == [alice]


async def test_pruning_drops_old_events_but_never_rewinds_the_stream(
    private_store: ChatStore,
) -> None:
    store = private_store
    member = user()
    _, first = await created(store, member, created_ms=1_000)
    _, kept = await created(store, member, created_ms=3_000)
    assert await store.prune_events(2_000) == 1
    assert await store.events_between(first, first) == []
    assert [e.seq for e in await store.events_since(member, 0, 10)] == [kept]
    assert await store.stream_bounds() == (kept - 1, kept)
    _, again = await created(store, member)
    assert again == kept + 1
