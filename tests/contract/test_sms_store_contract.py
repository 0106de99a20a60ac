"""One SmsStore contract, held against MemorySmsStore, and SqlSmsStore on SQLite and PostgreSQL:
the queue's leases and fences, receipts per segment, opt-outs, held inbound segments, and a
unit of work that commits its writes and its events together or not at all.

The PostgreSQL database is shared by the session: every test uses its own carrier and ids.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from switchboard.bus.memory import MemoryBus
from switchboard.core.clock import FakeClock
from switchboard.core.events import IntegrationEvent
from switchboard.events.outbox import OutboxReader, SqlEventOutbox
from switchboard.sms.carrier import InboundSegment, ReportStatus, SegmentKey
from switchboard.sms.events import SmsEvent, SmsReceived
from switchboard.sms.models import Direction, MessageOrigin, MessageState
from switchboard.sms.store import DuplicateMessageError, NewMessage, SmsStore
from switchboard.sms.store_memory import MemorySmsStore
from switchboard.sms.store_sql import SqlSmsStore
from switchboard.storage.database import Database

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000


@dataclass
class StoreUnderTest:
    store: SmsStore
    database: Database | None = None
    rendered: dict[str, SmsEvent] = field(default_factory=dict)  # SQL: outbox id ─▶ event

    def render(self, event: SmsEvent) -> IntegrationEvent:
        rendered = IntegrationEvent(type=type(event).__name__, subject="/test", data={}, time=0)
        self.rendered[rendered.id] = event
        return rendered

    async def published(self) -> list[SmsEvent]:
        """The events that were committed (this test's own, on a shared database)."""
        if isinstance(self.store, MemorySmsStore):
            return list(self.store.events)
        assert self.database is not None
        stored = [e.id async for e in OutboxReader(self.database).created_since(0)]
        return [self.rendered[i] for i in stored if i in self.rendered]


@pytest.fixture
async def subject(backend_url: str | None) -> AsyncIterator[StoreUnderTest]:
    if backend_url is None:
        yield StoreUnderTest(MemorySmsStore())
        return
    url = backend_url
    database = Database(url)
    await database.start()
    try:
        under_test = StoreUnderTest(MemorySmsStore(), database)
        outbox = SqlEventOutbox(MemoryBus(), clock=FakeClock(NOW / 1000))
        under_test.store = SqlSmsStore(database, outbox, render=under_test.render)
        yield under_test
    finally:
        await database.stop()


@pytest.fixture
def store(subject: StoreUnderTest) -> SmsStore:
    return subject.store


def carrier_name() -> str:
    return f"carrier-{uuid.uuid4().hex[:8]}"


def outbound(
    carrier: str, number: int, created_ms: int = NOW, *, dedupe_key: str | None = None
) -> NewMessage:
    return NewMessage(
        id=f"Outgoing_{uuid.uuid4()}",
        direction=Direction.OUTBOUND,
        origin=MessageOrigin.API,
        state=MessageState.QUEUED,
        carrier=carrier,
        sender="+18005550100",
        recipient=f"+1425555{number:04d}",
        text=f"message {number}",
        want_report=True,
        created_ms=created_ms,
        dedupe_key=dedupe_key,
    )


async def queue(store: SmsStore, *messages: NewMessage) -> None:
    async with store.transaction() as tx:
        await tx.insert_messages(list(messages))


async def test_claim_takes_due_messages_oldest_first_and_leases_them(store: SmsStore) -> None:
    carrier = carrier_name()
    first, second = outbound(carrier, 1), outbound(carrier, 2)
    await queue(store, first, second, outbound(carrier_name(), 3))
    claimed = await store.claim(carrier, NOW, 10, lease_ms=60_000)
    assert [m.id for m in claimed] == [first.id, second.id]
    assert await store.claim(carrier, NOW + 59_000, 10, lease_ms=60_000) == []
    again = await store.claim(carrier, NOW + 60_000, 10, lease_ms=60_000)  # lease ran out
    assert [m.id for m in again] == [first.id, second.id]
    assert again[0].claim != claimed[0].claim


async def test_claim_takes_at_most_the_limit(store: SmsStore) -> None:
    carrier = carrier_name()
    await queue(store, *(outbound(carrier, n) for n in range(3)))
    assert len(await store.claim(carrier, NOW, 2, lease_ms=60_000)) == 2
    assert len(await store.claim(carrier, NOW, 2, lease_ms=60_000)) == 1


async def test_outcome_after_a_lost_lease_changes_nothing(store: SmsStore) -> None:
    carrier = carrier_name()
    await queue(store, outbound(carrier, 1))
    [stale] = await store.claim(carrier, NOW, 10, lease_ms=1)
    [current] = await store.claim(carrier, NOW + 1, 10, lease_ms=60_000)
    async with store.transaction() as tx:
        assert not await tx.mark_submitted(stale, ["late"], NOW + 2)
        assert await tx.fail(stale, "late", NOW + 2) is None
        assert await tx.mark_submitted(current, ["c1"], NOW + 2)
    message = await store.get(current.id)
    assert message is not None
    assert message.state is MessageState.SUBMITTED
    assert message.segments == 1


async def test_deferred_message_is_due_again_at_its_time(store: SmsStore) -> None:
    carrier = carrier_name()
    assert await store.next_due_ms(carrier) is None
    await queue(store, outbound(carrier, 1))
    assert await store.next_due_ms(carrier) == NOW
    [claimed] = await store.claim(carrier, NOW, 10, lease_ms=60_000)
    await store.defer(claimed, NOW + 5_000, NOW)
    assert await store.next_due_ms(carrier) == NOW + 5_000
    assert await store.claim(carrier, NOW + 4_999, 10, lease_ms=60_000) == []
    assert len(await store.claim(carrier, NOW + 5_000, 10, lease_ms=60_000)) == 1


async def test_queue_depth_counts_queued_messages_per_carrier_with_the_oldest(
    store: SmsStore,
) -> None:
    carrier, other = carrier_name(), carrier_name()
    assert carrier not in await store.queue_depths()
    await queue(store, outbound(carrier, 1, NOW - 5_000), outbound(carrier, 2), outbound(other, 3))
    [claimed, _] = await store.claim(carrier, NOW, 10, lease_ms=60_000)  # still queued
    depths = await store.queue_depths()
    assert (depths[carrier].messages, depths[carrier].oldest_created_ms) == (2, NOW - 5_000)
    assert (depths[other].messages, depths[other].oldest_created_ms) == (1, NOW)
    async with store.transaction() as tx:
        await tx.fail(claimed, "barred", NOW + 1)  # final: no longer waiting
    depths = await store.queue_depths()
    assert (depths[carrier].messages, depths[carrier].oldest_created_ms) == (1, NOW)


async def test_a_refused_message_is_final_and_leaves_the_queue(store: SmsStore) -> None:
    carrier = carrier_name()
    await queue(store, outbound(carrier, 1))
    [claimed] = await store.claim(carrier, NOW, 10, lease_ms=60_000)
    async with store.transaction() as tx:
        failed = await tx.fail(claimed, "barred", NOW + 1)
    assert failed is not None
    assert (failed.state, failed.detail, failed.done_ms) == (MessageState.FAILED, "barred", NOW + 1)
    assert await store.get(claimed.id) == failed
    assert await store.next_due_ms(carrier) is None


async def test_message_is_final_when_every_segment_is_reported(store: SmsStore) -> None:
    carrier = carrier_name()
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
    assert await store.get(claimed.id) == final


async def test_receipt_ahead_of_its_submit_is_kept_until_the_submit_is_recorded(
    store: SmsStore,
) -> None:
    carrier = carrier_name()
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
        [early] = await tx.take_early_reports(carrier, [early_id])
        assert (early.carrier_message_id, early.status) == (early_id, ReportStatus.DELIVERED)
        assert early.received_ms == NOW
        assert await tx.take_early_reports(carrier, [early_id]) == []  # taken once
        final = await tx.apply_segment_report(carrier, early_id, early.status, early.detail, NOW)
    assert final is not None and final.state is MessageState.DELIVERED


async def test_opt_out_is_per_sender_and_can_be_undone(store: SmsStore) -> None:
    sender, other, phone = "+18005550100", "+18005550101", f"+1206555{uuid.uuid4().int % 10000:04d}"
    async with store.transaction() as tx:
        await tx.set_opt_out(sender, phone, True, NOW)
        assert await tx.opted_out(sender, [phone, other]) == {phone}
    assert await store.opted_out(sender, [phone]) == {phone}
    assert await store.opted_out(other, [phone]) == set()
    async with store.transaction() as tx:
        await tx.set_opt_out(sender, phone, False, NOW)
    assert await store.opted_out(sender, [phone]) == set()


async def test_dedupe_keys_find_their_messages_and_are_never_reused(store: SmsStore) -> None:
    carrier, key = carrier_name(), f"send:{uuid.uuid4()}"
    first = outbound(carrier, 1, dedupe_key=key)
    await queue(store, first, outbound(carrier, 2))
    async with store.transaction() as tx:
        assert await tx.message_ids_by_dedupe_keys([key, "send:unknown"]) == {key: first.id}
        found = await tx.message_by_dedupe_key(key)
        assert found is not None and found.id == first.id
        assert await tx.message_ids_by_dedupe_keys([]) == {}
    with pytest.raises(DuplicateMessageError):
        await queue(store, outbound(carrier, 3), outbound(carrier, 4, dedupe_key=key))
    assert len(await store.claim(carrier, NOW, 10, lease_ms=60_000)) == 2  # 3 rolled back too


async def test_inbound_message_reads_back_as_received(store: SmsStore) -> None:
    message = NewMessage(
        id=f"Incoming_{uuid.uuid4()}",
        direction=Direction.INBOUND,
        origin=MessageOrigin.NETWORK,
        state=MessageState.RECEIVED,
        carrier=carrier_name(),
        sender="+14255550123",
        recipient="+18005550100",
        text="héllo",
        want_report=False,
        created_ms=NOW,
        segments=1,
        done_ms=NOW,
    )
    await queue(store, message)
    stored = await store.get(message.id)
    assert stored is not None
    assert (stored.direction, stored.state, stored.text) == (
        Direction.INBOUND,
        MessageState.RECEIVED,
        "héllo",
    )
    assert (stored.segments, stored.done_ms, stored.tag) == (1, NOW, None)
    assert await store.next_due_ms(message.carrier) is None  # never queued
    assert await store.get("Incoming_unknown") is None


def received(message_id: str) -> SmsReceived:
    return SmsReceived(message_id, "+14255550123", "+18005550100", "hi", 1, NOW)


async def test_events_are_published_with_the_commit(subject: StoreUnderTest) -> None:
    event = received(str(uuid.uuid4()))
    async with subject.store.transaction() as tx:
        tx.emit(event)
    assert event in await subject.published()


async def test_a_failed_unit_of_work_leaves_neither_writes_nor_events(
    subject: StoreUnderTest,
) -> None:
    carrier, event = carrier_name(), received(str(uuid.uuid4()))
    with pytest.raises(RuntimeError):
        async with subject.store.transaction() as tx:
            await tx.insert_messages([outbound(carrier, 1)])
            tx.emit(event)
            raise RuntimeError("the service gave up")
    assert await subject.store.next_due_ms(carrier) is None
    assert event not in await subject.published()


# ── held segments of concatenated inbound messages ──────────────────────────


def segment(key: SegmentKey, index: int, payload: bytes, at_ms: int = NOW) -> InboundSegment:
    return InboundSegment(key, index, 8, payload, at_ms)


def a_key(total: int = 3) -> SegmentKey:
    return SegmentKey(f"+1425{uuid.uuid4().int % 10**7:07d}", "+18005550100", 0x42, total)


async def test_held_segments_of_a_message_come_back_together_in_index_order(
    store: SmsStore,
) -> None:
    carrier, key, other = carrier_name(), a_key(), a_key()
    await store.hold_segment(carrier, segment(other, 1, b"not mine"), 0)
    assert [s.index for s in await store.hold_segment(carrier, segment(key, 3, b"c"), 0)] == [3]
    assert [s.index for s in await store.hold_segment(carrier, segment(key, 1, b"a"), 0)] == [1, 3]
    whole = await store.hold_segment(carrier, segment(key, 2, b"b", NOW + 7), 0)
    assert [(s.index, s.payload, s.received_ms) for s in whole] == [
        (1, b"a", NOW),
        (2, b"b", NOW + 7),
        (3, b"c", NOW),
    ]
    assert all(s.key == key and s.data_coding == 8 for s in whole)
    # The same key at another carrier is another message.
    assert len(await store.hold_segment(carrier_name(), segment(key, 2, b"b"), 0)) == 1


async def test_a_redelivered_segment_changes_nothing_and_a_reused_reference_starts_over(
    store: SmsStore,
) -> None:
    carrier, key = carrier_name(), a_key()
    await store.hold_segment(carrier, segment(key, 1, b"old 1"), 0)
    await store.hold_segment(carrier, segment(key, 2, b"old 2"), 0)
    again = await store.hold_segment(carrier, segment(key, 2, b"old 2", NOW + 9), 0)
    assert [(s.index, s.received_ms) for s in again] == [(1, NOW), (2, NOW)]
    # Index 1 with other text: the handset reused the reference for a new message.
    fresh = await store.hold_segment(carrier, segment(key, 1, b"new 1", NOW + 60), 0)
    assert [(s.index, s.payload) for s in fresh] == [(1, b"new 1")]


async def test_releasing_segments_commits_with_the_unit_of_work(store: SmsStore) -> None:
    carrier, key = carrier_name(), a_key(total=2)
    await store.hold_segment(carrier, segment(key, 1, b"a"), 0)
    await store.hold_segment(carrier, segment(key, 2, b"b"), 0)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.release_segments(carrier, key)
            raise RuntimeError("the message did not commit")
    assert len(await store.hold_segment(carrier, segment(key, 2, b"b"), 0)) == 2
    async with store.transaction() as tx:
        await tx.release_segments(carrier, key)
    # A late redelivery after the release is held alone: it never completes the message.
    assert [s.index for s in await store.hold_segment(carrier, segment(key, 2, b"b"), 0)] == [2]


async def test_segments_older_than_the_age_limit_are_dropped(store: SmsStore) -> None:
    carrier, key = carrier_name(), a_key(total=2)
    await store.hold_segment(carrier, segment(key, 1, b"a", NOW - 10_000), 0)
    late = await store.hold_segment(carrier, segment(key, 2, b"b"), expire_before_ms=NOW - 5_000)
    assert [s.index for s in late] == [2]
