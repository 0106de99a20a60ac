"""One SimulatorStore contract for MemorySimulatorStore and SqlSimulatorStore (SQLite,
PostgreSQL): handsets' behaviour and inboxes, and the owed items' leases.

The PostgreSQL database is shared by the session, so pending items of other tests may be due
as well: every test claims with a time before ``NOW`` of other tests (its own base) and looks
only at its own items.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest

from switchboard.sms.simstore import (
    HandsetBehaviour,
    HandsetReport,
    InboxMessage,
    OwedReceipt,
    PendingItem,
    PendingKind,
    SimulatorStore,
)
from switchboard.sms.simstore_memory import MemorySimulatorStore
from switchboard.sms.simstore_sql import SqlSimulatorStore
from switchboard.storage.database import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(backend_url: str | None) -> AsyncIterator[SimulatorStore]:
    if backend_url is None:
        yield MemorySimulatorStore()
        return
    database = Database(backend_url)
    await database.start()
    try:
        yield SqlSimulatorStore(database)
    finally:
        await database.stop()


def handset() -> str:
    return f"+1206{secrets.randbelow(10**7):07d}"


def base_ms() -> int:
    """A due time no other test's items share (the shared PostgreSQL database)."""
    return 1_000_000_000_000 + secrets.randbelow(10**9) * 1000


async def test_a_handset_delivers_by_default_until_told_otherwise(store: SimulatorStore) -> None:
    number = handset()
    assert await store.behaviour(number) == HandsetBehaviour(number)
    changed = HandsetBehaviour(number, HandsetReport.FAILED, 2_500)
    await store.set_behaviour(changed)
    await store.set_behaviour(HandsetBehaviour(handset(), HandsetReport.REJECT))
    assert await store.behaviour(number) == changed
    await store.set_behaviour(HandsetBehaviour(number, HandsetReport.NONE))
    assert (await store.behaviour(number)).report is HandsetReport.NONE


async def test_inbox_is_the_newest_messages_oldest_first(store: SimulatorStore) -> None:
    number, other, now = handset(), handset(), base_ms()
    for i in range(3):
        message = InboxMessage(f"c{i}", "+18005550100", number, f"m{i}", 1, now + i)
        await store.deliver_to_handset(message, [])
    await store.deliver_to_handset(InboxMessage("x", "+18005550100", other, "x", 1, now), [])
    assert [m.text for m in await store.inbox(number, 2)] == ["m1", "m2"]
    assert [m.text for m in await store.inbox(number)] == ["m0", "m1", "m2"]
    everyone = await store.inbox(None, 1000)
    assert {m.carrier_message_id for m in everyone} >= {"c0", "x"}


async def test_a_message_the_handset_already_has_is_not_delivered_again(
    store: SimulatorStore,
) -> None:
    number, now, carrier_id = handset(), base_ms(), uuid.uuid4().hex
    message = InboxMessage(carrier_id, "+18005550100", number, "once", 1, now)
    await store.deliver_to_handset(message, [OwedReceipt(carrier_id, "Delivered", now)])
    # Submitted again (a crash came before the sender recorded the first submit).
    await store.deliver_to_handset(message, [OwedReceipt(carrier_id, "Delivered", now)])
    assert [m.text for m in await store.inbox(number)] == ["once"]
    assert len(mine(await store.claim_due(now, 1000, lease_ms=1_000), [carrier_id])) == 1


def mine(items: Sequence[PendingItem], ids: Sequence[str]) -> list[PendingItem]:
    return [i for i in items if i.payload.get("carrierMessageId") in ids]


async def test_owed_receipts_fall_due_at_their_time_and_are_leased(store: SimulatorStore) -> None:
    number, now = handset(), base_ms()
    ids = [uuid.uuid4().hex, uuid.uuid4().hex]
    message = InboxMessage(ids[0], "+18005550100", number, "hi", 2, now)
    owed = [OwedReceipt(ids[0], "Delivered", now + 10), OwedReceipt(ids[1], "Failed", now)]
    await store.deliver_to_handset(message, owed)
    [first] = mine(await store.claim_due(now, 1000, lease_ms=1_000), ids)
    assert first.kind is PendingKind.REPORT
    assert first.payload == {"carrierMessageId": ids[1], "status": "Failed"}
    [second] = mine(await store.claim_due(now + 10, 1000, lease_ms=1_000), ids)
    assert second.payload["carrierMessageId"] == ids[0]
    assert mine(await store.claim_due(now + 10, 1000, lease_ms=1_000), ids) == []  # leased
    again = mine(await store.claim_due(now + 1_010, 1000, lease_ms=1_000), ids)
    assert [i.payload["carrierMessageId"] for i in again] == ids  # both leases ran out; in order


async def test_done_removes_an_item_only_for_the_current_claim(store: SimulatorStore) -> None:
    now = base_ms()
    carrier_id = await store.inject_inbound("+14255550123", "+18005550100", "STOP", now)
    ids = [carrier_id]
    [stale] = mine(await store.claim_due(now, 1000, lease_ms=1), ids)
    assert stale.kind is PendingKind.INBOUND
    assert stale.payload == {
        "from": "+14255550123",
        "to": "+18005550100",
        "text": "STOP",
        "carrierMessageId": carrier_id,
    }
    [current] = mine(await store.claim_due(now + 1, 1000, lease_ms=60_000), ids)
    await store.done(stale)  # a late hand-over after the lease was lost: nothing happens
    assert mine(await store.claim_due(now + 60_001, 1000, lease_ms=60_000), ids) != []
    [latest] = mine(await store.claim_due(now + 120_001, 1000, lease_ms=60_000), ids)
    await store.done(latest)
    assert mine(await store.claim_due(now + 10**9, 1000, lease_ms=1), ids) == []
    assert current.claim != latest.claim


async def test_next_due_is_the_earliest_pending_item(store: SimulatorStore) -> None:
    if isinstance(store, MemorySimulatorStore):  # a fresh store owes nothing
        assert await store.next_due_ms() is None
    now = base_ms()
    await store.inject_inbound("+14255550123", "+18005550100", "hi", now)
    due = await store.next_due_ms()
    assert due is not None and due <= now
