"""One CallbackQueue contract, held against MemoryCallbackQueue and SqlCallbackQueue on SQLite
and PostgreSQL: gap-free sequences per call, head of line per call, leases and their fences,
retries, idle streams.

The PostgreSQL database is shared by the session, and claims look at every call: the fixture
empties the queue's tables first (nothing else writes them).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from switchboard.automation.callbacks_sql import SqlCallbackQueue
from switchboard.automation.callbacks_store import (
    CallbackAttempt,
    CallbackBatch,
    CallbackQueue,
    MemoryCallbackQueue,
)
from switchboard.automation.callbacks_tables import (
    automation_callback_streams,
    automation_callbacks,
)
from switchboard.storage.database import Database

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000
LEASE = 30_000


@pytest.fixture
async def sql_database(backend_url: str | None) -> AsyncIterator[Database | None]:
    if backend_url is None:
        yield None
        return
    database = Database(backend_url)
    await database.start()
    try:
        async with database.write() as conn:
            await conn.execute(automation_callbacks.delete())
            await conn.execute(automation_callback_streams.delete())
        yield database
    finally:
        await database.stop()


@pytest.fixture
def queue(sql_database: Database | None) -> CallbackQueue:
    return MemoryCallbackQueue() if sql_database is None else SqlCallbackQueue(sql_database)


def call_id() -> str:
    return f"call-{uuid.uuid4().hex[:12]}"


def batch(call: str, n: int = 0, at: int = NOW) -> CallbackBatch:
    return CallbackBatch(call, f"https://app.example/cb/{n}", f"[{n}]".encode(), 1, at)


async def test_each_call_numbers_its_batches_from_one_without_gaps(queue: CallbackQueue) -> None:
    first, second = call_id(), call_id()
    assert [await queue.enqueue(batch(first, n)) for n in range(3)] == [1, 2, 3]
    assert await queue.enqueue(batch(second)) == 1
    assert await queue.backlog(first) == 3


async def test_concurrent_enqueues_for_one_call_take_distinct_consecutive_numbers(
    queue: CallbackQueue,
) -> None:
    call = call_id()
    seqs = await asyncio.gather(*(queue.enqueue(batch(call, n)) for n in range(12)))
    assert sorted(seqs) == list(range(1, 13))


async def test_a_claim_hands_out_only_the_head_of_each_due_call(queue: CallbackQueue) -> None:
    first, second = call_id(), call_id()
    for n in range(3):
        await queue.enqueue(batch(first, n))
    await queue.enqueue(batch(second, 7))
    claimed = await queue.claim(NOW, 10, LEASE)
    heads = {(c.call_connection_id, c.seq, c.body) for c in claimed}
    assert heads == {(first, 1, b"[0]"), (second, 1, b"[7]")}
    assert await queue.claim(NOW, 10, LEASE) == []  # both leased


async def test_settling_the_head_makes_the_next_batch_due_in_order(queue: CallbackQueue) -> None:
    call = call_id()
    for n in range(3):
        await queue.enqueue(batch(call, n))
    delivered = []
    for _ in range(3):
        [head] = await queue.claim(NOW + 1, 10, LEASE)
        delivered.append(head.body)
        assert (await queue.settle(head, NOW + 1)).held
    assert delivered == [b"[0]", b"[1]", b"[2]"]
    assert await queue.claim(NOW + 1, 10, LEASE) == []
    assert await queue.next_due_ms() is None
    assert await queue.backlog(call) == 0


async def test_a_retry_keeps_the_call_waiting_behind_its_head(queue: CallbackQueue) -> None:
    call = call_id()
    await queue.enqueue(batch(call, 0))
    await queue.enqueue(batch(call, 1))
    [head] = await queue.claim(NOW, 10, LEASE)
    failed = CallbackAttempt(NOW, 503, "HTTP 503: busy")
    assert await queue.retry_later(head, failed, NOW + 3000)
    assert await queue.next_due_ms() == NOW + 3000
    assert await queue.claim(NOW + 2999, 10, LEASE) == []
    [again] = await queue.claim(NOW + 3000, 10, LEASE)
    assert (again.seq, again.attempts, again.body) == (1, 1, b"[0]")


async def test_a_lapsed_lease_passes_the_call_on_and_fences_the_old_holder(
    queue: CallbackQueue,
) -> None:
    call = call_id()
    await queue.enqueue(batch(call, 0))
    await queue.enqueue(batch(call, 1))
    [stale] = await queue.claim(NOW, 10, LEASE)
    assert await queue.claim(NOW + LEASE - 1, 10, LEASE) == []
    [fresh] = await queue.claim(NOW + LEASE, 10, LEASE)
    assert fresh.seq == stale.seq == 1
    assert not (await queue.settle(stale, NOW + LEASE)).held
    assert not await queue.retry_later(stale, CallbackAttempt(NOW, None, "late"), NOW)
    assert await queue.backlog(call) == 2  # the stale holder changed nothing
    assert (await queue.settle(fresh, NOW + LEASE)).held
    [following] = await queue.claim(NOW + LEASE, 10, LEASE)
    assert following.seq == 2


async def test_a_batch_queued_during_a_claim_waits_for_the_holder(queue: CallbackQueue) -> None:
    call = call_id()
    await queue.enqueue(batch(call, 0))
    [head] = await queue.claim(NOW, 10, LEASE)
    await queue.enqueue(batch(call, 1, at=NOW + 5))
    assert await queue.claim(NOW + 5, 10, LEASE) == []
    assert (await queue.settle(head, NOW + 6)).held
    [following] = await queue.claim(NOW + 6, 10, LEASE)
    assert (following.seq, following.body) == (2, b"[1]")


async def test_claims_respect_the_limit_earliest_first(queue: CallbackQueue) -> None:
    calls = [call_id() for _ in range(3)]
    for offset, call in enumerate(calls):
        await queue.enqueue(batch(call, at=NOW + offset))
    claimed = await queue.claim(NOW + 10, 2, LEASE)
    assert {c.call_connection_id for c in claimed} == set(calls[:2])
    assert await queue.claim(NOW + 10, 0, LEASE) == []


async def test_idle_streams_are_purged_and_busy_ones_kept(queue: CallbackQueue) -> None:
    idle, busy = call_id(), call_id()
    await queue.enqueue(batch(idle))
    await queue.enqueue(batch(busy))
    [head] = [c for c in await queue.claim(NOW, 10, LEASE) if c.call_connection_id == idle]
    assert (await queue.settle(head, NOW)).held
    assert await queue.purge_idle(NOW + 1) == 1
    assert await queue.backlog(busy) == 1
    assert await queue.enqueue(batch(idle)) == 1  # a purged stream starts again


async def test_sql_add_rolls_back_with_its_transaction_leaving_no_gap(
    sql_database: Database | None,
) -> None:
    if sql_database is None:
        return  # the memory queue has no transactions to join
    queue = SqlCallbackQueue(sql_database)
    call = call_id()
    assert await queue.enqueue(batch(call, 0)) == 1
    with pytest.raises(RuntimeError):
        async with sql_database.write() as conn:
            assert await queue.add(conn, batch(call, 1)) == 2
            raise RuntimeError("the state change failed")
    assert await queue.backlog(call) == 1
    assert await queue.enqueue(batch(call, 2)) == 2


async def test_a_holder_may_keep_the_lease_and_take_the_next_batch_at_once(
    queue: CallbackQueue,
) -> None:
    call = call_id()
    for n in range(2):
        await queue.enqueue(batch(call, n))
    [head] = await queue.claim(NOW, 10, LEASE)
    settled = await queue.settle(head, NOW + 1, lease_ms=LEASE)
    assert settled.held and settled.next is not None
    following = settled.next
    assert (following.seq, following.body, following.claim_token) == (2, b"[1]", head.claim_token)
    assert await queue.claim(NOW + LEASE, 10, LEASE) == []  # still leased to us
    last = await queue.settle(following, NOW + 2, lease_ms=LEASE)
    assert last.held and last.next is None
    assert await queue.next_due_ms() is None
