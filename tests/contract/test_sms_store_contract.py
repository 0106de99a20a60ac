"""SqlSmsStore on SQLite and PostgreSQL: the queue's leases and fences, receipts per segment."""

from __future__ import annotations

import uuid

import pytest

from switchboard.sms.carrier import ReportStatus
from switchboard.sms.models import MessageState
from switchboard.sms.store import SqlSmsStore
from switchboard.storage.database import Database

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000


def carrier_name() -> str:
    return f"carrier-{uuid.uuid4().hex[:8]}"  # PostgreSQL is shared: a carrier per test


def outbound(carrier: str, number: int, created_ms: int = NOW) -> dict[str, object]:
    return {
        "id": f"Outgoing_{uuid.uuid4()}",
        "direction": "outbound",
        "origin": "api",
        "state": "queued",
        "carrier": carrier,
        "sender": "+18005550100",
        "recipient": f"+1425555{number:04d}",
        "text": f"message {number}",
        "want_report": True,
        "created_ms": created_ms,
    }


async def queue(store: SqlSmsStore, *rows: dict[str, object]) -> None:
    async with store.transaction() as tx:
        await tx.insert_messages(list(rows))


async def test_claim_takes_due_messages_oldest_first_and_leases_them(database: Database) -> None:
    store, carrier = SqlSmsStore(database), carrier_name()
    first, second = outbound(carrier, 1), outbound(carrier, 2)
    await queue(store, first, second, outbound(carrier_name(), 3))
    claimed = await store.claim(carrier, NOW, 10, lease_ms=60_000)
    assert [m.id for m in claimed] == [first["id"], second["id"]]
    assert await store.claim(carrier, NOW + 59_000, 10, lease_ms=60_000) == []
    again = await store.claim(carrier, NOW + 60_000, 10, lease_ms=60_000)  # lease ran out
    assert [m.id for m in again] == [first["id"], second["id"]]
    assert again[0].claim != claimed[0].claim


async def test_outcome_after_a_lost_lease_changes_nothing(database: Database) -> None:
    store, carrier = SqlSmsStore(database), carrier_name()
    await queue(store, outbound(carrier, 1))
    [stale] = await store.claim(carrier, NOW, 10, lease_ms=1)
    [current] = await store.claim(carrier, NOW + 1, 10, lease_ms=60_000)
    async with store.transaction() as tx:
        assert not await tx.mark_submitted(stale, ["late"], NOW + 2)
        assert await tx.mark_submitted(current, ["c1"], NOW + 2)
    message = await store.get(current.id)
    assert message is not None
    assert message.state is MessageState.SUBMITTED
    assert message.segments == 1


async def test_deferred_message_is_due_again_at_its_time(database: Database) -> None:
    store, carrier = SqlSmsStore(database), carrier_name()
    await queue(store, outbound(carrier, 1))
    [claimed] = await store.claim(carrier, NOW, 10, lease_ms=60_000)
    await store.defer(claimed, NOW + 5_000, NOW)
    assert await store.next_due_ms(carrier) == NOW + 5_000
    assert await store.claim(carrier, NOW + 4_999, 10, lease_ms=60_000) == []
    assert len(await store.claim(carrier, NOW + 5_000, 10, lease_ms=60_000)) == 1


async def test_message_is_final_when_every_segment_is_reported(database: Database) -> None:
    store, carrier = SqlSmsStore(database), carrier_name()
    await queue(store, outbound(carrier, 1))
    [claimed] = await store.claim(carrier, NOW, 10, lease_ms=60_000)
    ids = [f"{claimed.id}-a", f"{claimed.id}-b"]
    async with store.transaction() as tx:
        await tx.mark_submitted(claimed, ids, NOW)
        first = await tx.apply_segment_report(carrier, ids[0], ReportStatus.DELIVERED, "ok", NOW)
        repeated = await tx.apply_segment_report(carrier, ids[0], ReportStatus.DELIVERED, "ok", NOW)
        final = await tx.apply_segment_report(carrier, ids[1], ReportStatus.FAILED, "bad", NOW)
    assert first is None and repeated is None
    assert final is not None
    assert final.state is MessageState.FAILED  # one failed segment fails the message
    assert (final.segments_delivered, final.segments_failed) == (1, 1)


async def test_receipt_ahead_of_its_submit_is_kept_until_the_submit_is_recorded(
    database: Database,
) -> None:
    store, carrier = SqlSmsStore(database), carrier_name()
    await queue(store, outbound(carrier, 1))
    [claimed] = await store.claim(carrier, NOW, 10, lease_ms=60_000)
    early_id = f"{claimed.id}-early"
    async with store.transaction() as tx:
        assert (
            await tx.apply_segment_report(carrier, early_id, ReportStatus.DELIVERED, "DELIVRD", NOW)
            is None
        )
    async with store.transaction() as tx:
        await tx.mark_submitted(claimed, [early_id], NOW)
        early = await tx.take_early_reports(carrier, [early_id])
        assert [(cid, status) for cid, status, _, _ in early] == [
            (early_id, ReportStatus.DELIVERED)
        ]
        final = await tx.apply_segment_report(carrier, early_id, early[0][1], early[0][2], NOW)
    assert final is not None and final.state is MessageState.DELIVERED


async def test_opt_out_is_per_sender_and_can_be_undone(database: Database) -> None:
    store = SqlSmsStore(database)
    sender, other, phone = "+18005550100", "+18005550101", f"+1206555{uuid.uuid4().int % 10000:04d}"
    async with store.transaction() as tx:
        await tx.set_opt_out(sender, phone, True, NOW)
    assert await store.opted_out(sender, [phone]) == {phone}
    assert await store.opted_out(other, [phone]) == set()
    async with store.transaction() as tx:
        await tx.set_opt_out(sender, phone, False, NOW)
    assert await store.opted_out(sender, [phone]) == set()
