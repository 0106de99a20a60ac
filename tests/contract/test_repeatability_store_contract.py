"""SqlRepeatabilityStore behaves the same on SQLite and PostgreSQL.

The PostgreSQL database is shared by the whole session, so every test uses fresh keys.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from switchboard.storage import Database
from switchboard.storage.repeatability import SqlRepeatabilityStore, StoredResponse

pytestmark = pytest.mark.anyio


def fresh_key() -> str:
    return f"test.scope:{uuid.uuid4()}"


async def test_unknown_key_has_no_response(database: Database) -> None:
    assert await SqlRepeatabilityStore(database).get(fresh_key()) is None


async def test_put_then_get_returns_status_headers_and_body(database: Database) -> None:
    store = SqlRepeatabilityStore(database)
    key = fresh_key()
    response = StoredResponse(
        201, {"content-type": "application/json", "location": "/rooms/1"}, b'{"id":"1"}\x00\xff'
    )
    assert await store.put(key, response, now_ms=1_700_000_000_000) == response
    assert await store.get(key) == response


async def test_second_put_of_a_key_returns_the_first_response(database: Database) -> None:
    store = SqlRepeatabilityStore(database)
    key = fresh_key()
    first = StoredResponse(201, {"x-n": "1"}, b"first")
    second = StoredResponse(201, {"x-n": "2"}, b"second")
    assert await store.put(key, first, now_ms=1_700_000_000_000) == first
    assert await store.put(key, second, now_ms=1_700_000_000_001) == first
    assert await store.get(key) == first


async def test_concurrent_puts_agree_on_one_response(database: Database) -> None:
    store = SqlRepeatabilityStore(database)
    key = fresh_key()
    candidates = [StoredResponse(200, {}, f"twin {i}".encode()) for i in range(5)]
    results = await asyncio.gather(
        *(store.put(key, c, now_ms=1_700_000_000_000) for c in candidates)
    )
    assert all(result == results[0] for result in results)
    assert results[0] in candidates
    assert await store.get(key) == results[0]


async def test_empty_body_and_headers_round_trip(database: Database) -> None:
    store = SqlRepeatabilityStore(database)
    key = fresh_key()
    await store.put(key, StoredResponse(204), now_ms=1_700_000_000_000)
    assert await store.get(key) == StoredResponse(204, {}, b"")


async def test_prune_forgets_only_responses_older_than_the_cutoff(database: Database) -> None:
    store = SqlRepeatabilityStore(database)
    old_a, old_b, recent = fresh_key(), fresh_key(), fresh_key()
    # Tiny timestamps, far below anything other tests store, keep the count exact.
    await store.put(old_a, StoredResponse(200), now_ms=10)
    await store.put(old_b, StoredResponse(200), now_ms=20)
    await store.put(recent, StoredResponse(200), now_ms=30)
    assert await store.prune(older_than_ms=30) == 2
    assert await store.get(old_a) is None
    assert await store.get(old_b) is None
    assert await store.get(recent) == StoredResponse(200)
    assert await store.prune(older_than_ms=30) == 0
    await store.prune(older_than_ms=31)  # leave nothing tiny behind for the next run


async def test_an_overlong_key_is_a_programming_error(database: Database) -> None:
    with pytest.raises(ValueError):
        await SqlRepeatabilityStore(database).put("k" * 301, StoredResponse(200), now_ms=1)
