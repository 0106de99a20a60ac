"""The event stores behave the same on SQLite and PostgreSQL.

The PostgreSQL database is shared by the whole session (and by server processes of other
tests), so every test uses its own subscription names and event types, only looks at its own
rows, and deletes its subscriptions at the end.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from switchboard.bus.memory import MemoryBus
from switchboard.core.clock import SystemClock
from switchboard.core.events import IntegrationEvent
from switchboard.events.deadletters import SqlDeadLetterStore
from switchboard.events.filter_documents import parse_event_filter
from switchboard.events.filters import NO_FILTER, EventFilter
from switchboard.events.models import (
    AttemptRecord,
    ClaimedDelivery,
    DeadLetterReason,
    DeliverySchema,
    SubscriptionSpec,
)
from switchboard.events.outbox import OutboxReader, SqlEventOutbox
from switchboard.events.queue import SqlDeliveryQueue
from switchboard.events.subscriptions import SqlSubscriptionStore
from switchboard.events.tables import event_outbox
from switchboard.storage import Database

pytestmark = pytest.mark.anyio

LEASE_MS = 60_000
TOPIC = "/subscriptions/contract"
MANY = 10_000  # claim limits: never let other tests' rows crowd ours out


@dataclass
class Stores:
    database: Database
    outbox: SqlEventOutbox
    subscriptions: SqlSubscriptionStore
    queue: SqlDeliveryQueue
    dead_letters: SqlDeadLetterStore
    tag: str

    def name(self, suffix: str) -> str:
        return f"t-{self.tag}-{suffix}"

    def type(self, suffix: str) -> str:
        return f"Test.{self.tag}.{suffix}"

    async def subscribe(
        self,
        suffix: str,
        *types: str,
        secret: str | None = None,
        event_filter: EventFilter = NO_FILTER,
    ) -> str:
        spec = SubscriptionSpec(
            self.name(suffix),
            "http://receiver.test/e",
            types,
            secret=secret,
            event_filter=event_filter,
        )
        await self.subscriptions.put(spec, new_secret="generated-secret", now_ms=now_ms())
        return spec.name

    async def publish(self, *types: str) -> list[IntegrationEvent]:
        events = [
            IntegrationEvent(t, f"subject/{i}", {"n": i, "tag": self.tag}, time.time())
            for i, t in enumerate(types)
        ]
        async with self.database.write() as conn:
            await self.outbox.add(conn, events)
        return events

    async def fan_out(self) -> None:
        while await self.queue.fan_out(now_ms(), 500) == 500:
            pass

    async def claim(self, at_ms: int | None = None) -> list[ClaimedDelivery]:
        claimed = await self.queue.claim(at_ms or now_ms(), MANY, LEASE_MS)
        return [d for d in claimed if self.tag in d.subscription.name]


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
async def stores(database: Database) -> AsyncIterator[Stores]:
    bus = MemoryBus()
    await bus.start()
    tag = uuid.uuid4().hex[:10]
    subscriptions = SqlSubscriptionStore(database)
    yield Stores(
        database,
        SqlEventOutbox(bus, SystemClock()),
        subscriptions,
        SqlDeliveryQueue(database, topic=TOPIC),
        SqlDeadLetterStore(database),
        tag,
    )
    page = await subscriptions.list(None, 1000)
    for subscription in page.items:
        if tag in subscription.name:
            await subscriptions.delete(subscription.name)
    async with database.write() as conn:
        await conn.execute(event_outbox.delete().where(event_outbox.c.type.contains(tag)))
    await bus.stop()


def event_ids(deliveries: Sequence[ClaimedDelivery]) -> list[str]:
    return sorted(d.event.id for d in deliveries)


async def test_added_events_commit_with_the_producers_transaction(stores: Stores) -> None:
    [event] = await stores.publish(stores.type("a"))
    async with stores.database.read() as conn:
        row = (
            await conn.execute(sa.select(event_outbox).where(event_outbox.c.id == event.id))
        ).one()
    assert row.type == event.type
    assert row.fanned_out is False


async def test_events_of_a_rolled_back_transaction_never_exist(stores: Stores) -> None:
    event = IntegrationEvent(stores.type("a"), "s", {}, time.time())
    with pytest.raises(RuntimeError):
        async with stores.database.write() as conn:
            await stores.outbox.add(conn, [event])
            raise RuntimeError("the producer's change failed")
    async with stores.database.read() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).where(event_outbox.c.id == event.id))
    assert count == 0


async def test_fan_out_gives_each_subscription_the_types_it_wants(stores: Stores) -> None:
    chat, sms = stores.type("Chat"), stores.type("Sms")
    everything = await stores.subscribe("all")
    chat_only = await stores.subscribe("chat", chat.upper())  # filters ignore case
    events = await stores.publish(chat, sms)
    await stores.fan_out()
    claimed = await stores.claim()
    pairs = sorted((d.subscription.name, d.event.type) for d in claimed)
    assert pairs == sorted([(everything, chat), (everything, sms), (chat_only, chat)])
    by_id = {e.id: e for e in events}
    for delivery in claimed:
        assert delivery.attempts == 0
        assert by_id[delivery.event.id].subject == delivery.event.subject


async def test_fan_out_applies_subject_and_advanced_filters(stores: Stores) -> None:
    kind = stores.type("Filtered")
    second = await stores.subscribe(
        "second",
        kind,
        event_filter=parse_event_filter(
            advanced_filters=[
                {"operatorType": "NumberIn", "key": "data.n", "values": [1]},
                {"operatorType": "StringIn", "key": "data.tag", "values": [stores.tag.upper()]},
                {"operatorType": "StringIn", "key": "topic", "values": [TOPIC]},
            ]
        ),
    )
    first = await stores.subscribe("first", event_filter=parse_event_filter(subject_ends_with="/0"))
    nobody = await stores.subscribe(
        "nobody",
        event_filter=parse_event_filter(
            advanced_filters=[{"operatorType": "IsNullOrUndefined", "key": "data.tag"}]
        ),
    )
    events = await stores.publish(kind, kind, kind)
    await stores.fan_out()
    pairs = sorted((d.subscription.name, d.event.id) for d in await stores.claim())
    assert pairs == sorted([(first, events[0].id), (second, events[1].id)])
    assert nobody not in {name for name, _ in pairs}


async def test_a_subscriptions_filters_are_stored_with_it(stores: Stores) -> None:
    event_filter = parse_event_filter(
        subject_begins_with="/caller/",
        subject_case_sensitive=True,
        advanced_filters=[
            {"operatorType": "StringIn", "key": "data.to.rawId", "values": ["8:acs:a"]},
            {"operatorType": "NumberInRange", "key": "data.n", "values": [[1, 2.5]]},
            {"operatorType": "BoolEquals", "key": "data.b", "value": False},
        ],
    )
    name = await stores.subscribe("a", "A", event_filter=event_filter)
    stored = await stores.subscriptions.get(name)
    assert stored is not None
    assert (stored.included_event_types, stored.event_filter) == (("A",), event_filter)
    unfiltered, _ = await stores.subscriptions.put(
        SubscriptionSpec(name, "http://receiver.test/e", ("A",)), new_secret="x", now_ms=1
    )
    assert unfiltered.event_filter == NO_FILTER


async def test_claimed_delivery_is_not_claimed_again_until_its_lease_ends(stores: Stores) -> None:
    await stores.subscribe("a")
    await stores.publish(stores.type("x"))
    await stores.fan_out()
    first = await stores.claim()
    assert len(first) == 1
    assert await stores.claim() == []
    again = await stores.claim(now_ms() + LEASE_MS + 1)
    assert event_ids(again) == event_ids(first)
    assert again[0].claim_token != first[0].claim_token


async def test_concurrent_claims_take_disjoint_deliveries(stores: Stores) -> None:
    await stores.subscribe("a")
    await stores.publish(*[stores.type("x")] * 40)
    await stores.fan_out()
    at = now_ms()
    batches = await asyncio.gather(*[stores.queue.claim(at, 10, LEASE_MS) for _ in range(6)])
    ours = [d.id for batch in batches for d in batch if stores.tag in d.subscription.name]
    assert len(ours) == len(set(ours))
    rest = await stores.claim()
    assert len(ours) + len(rest) == 40


async def test_completed_delivery_is_never_claimed_again(stores: Stores) -> None:
    await stores.subscribe("a")
    await stores.publish(stores.type("x"))
    await stores.fan_out()
    [delivery] = await stores.claim()
    await stores.queue.complete(delivery)
    assert await stores.claim(now_ms() + 10 * LEASE_MS) == []


async def test_failed_delivery_is_due_again_at_its_retry_time(stores: Stores) -> None:
    await stores.subscribe("a")
    await stores.publish(stores.type("x"))
    await stores.fan_out()
    [delivery] = await stores.claim()
    retry_at = now_ms() + 5_000
    await stores.queue.retry_later(delivery, AttemptRecord(now_ms(), 503, "busy"), retry_at)
    assert await stores.claim() == []
    [again] = await stores.claim(retry_at)
    assert again.attempts == 1
    assert again.event.id == delivery.event.id


async def test_outcome_reported_after_a_lost_lease_changes_nothing(stores: Stores) -> None:
    await stores.subscribe("a")
    await stores.publish(stores.type("x"))
    await stores.fan_out()
    [stale] = await stores.claim()
    [current] = await stores.claim(now_ms() + LEASE_MS + 1)  # the lease ran out; retaken
    await stores.queue.complete(stale)
    await stores.queue.dead_letter(stale, None, DeadLetterReason.TTL, now_ms())
    page = await stores.dead_letters.list(stores.name("a"), None, 10)
    assert page.items == []
    await stores.queue.complete(current)
    assert await stores.claim(now_ms() + 10 * LEASE_MS) == []


async def test_dead_letters_are_listed_in_pages_and_replay_makes_them_due(
    stores: Stores,
) -> None:
    name = await stores.subscribe("a", secret="the-secret-1")
    events = await stores.publish(*[stores.type("x")] * 3)
    await stores.fan_out()
    claimed = sorted(await stores.claim(), key=lambda d: d.event.id)
    for i, delivery in enumerate(claimed):
        attempt = AttemptRecord(now_ms(), 500, f"boom {i}")
        await stores.queue.dead_letter(delivery, attempt, DeadLetterReason.MAX_ATTEMPTS, 1000 + i)
    first = await stores.dead_letters.list(name, None, 2)
    assert len(first.items) == 2
    assert first.next_cursor is not None
    second = await stores.dead_letters.list(name, first.next_cursor, 2)
    assert second.next_cursor is None
    dead = [*first.items, *second.items]
    assert sorted(d.event.id for d in dead) == sorted(e.id for e in events)
    assert all(d.reason is DeadLetterReason.MAX_ATTEMPTS and d.attempts == 1 for d in dead)
    assert dead[0].last_attempt is not None and dead[0].last_attempt.status == 500
    assert dead[0].subscription.secret == "the-secret-1"
    assert await stores.claim(now_ms() + 10 * LEASE_MS) == []

    assert await stores.dead_letters.replay(dead[0].id, now_ms())
    assert not await stores.dead_letters.replay(dead[0].id, now_ms())  # no longer dead
    [replayed] = await stores.claim()
    assert replayed.event.id == dead[0].event.id
    assert replayed.attempts == 0
    assert (await stores.dead_letters.list(name, None, 10)).items == dead[1:]


async def test_replay_all_replays_only_the_named_subscription(stores: Stores) -> None:
    a, b = await stores.subscribe("a"), await stores.subscribe("b")
    await stores.publish(stores.type("x"))
    await stores.fan_out()
    for delivery in await stores.claim():
        await stores.queue.dead_letter(delivery, None, DeadLetterReason.TTL, now_ms())
    assert await stores.dead_letters.replay_all(a, now_ms()) == 1
    assert [d.subscription.name for d in await stores.claim()] == [a]
    assert len((await stores.dead_letters.list(b, None, 10)).items) == 1


async def test_subscription_is_created_then_replaced_keeping_its_secret(stores: Stores) -> None:
    name = stores.name("a")
    spec = SubscriptionSpec(name, "http://one.test/e", ("A",), DeliverySchema.CLOUD_EVENTS)
    created, was_new = await stores.subscriptions.put(spec, new_secret="first-secret", now_ms=1)
    assert was_new
    assert created.secret == "first-secret"
    assert created.schema is DeliverySchema.CLOUD_EVENTS
    replaced_spec = SubscriptionSpec(name, "http://two.test/e", (), max_delivery_attempts=3)
    replaced, was_new = await stores.subscriptions.put(
        replaced_spec, new_secret="ignored", now_ms=2
    )
    assert not was_new
    assert replaced.secret == "first-secret"
    assert (replaced.endpoint_url, replaced.included_event_types) == ("http://two.test/e", ())
    assert (replaced.max_delivery_attempts, replaced.created_ms, replaced.updated_ms) == (3, 1, 2)
    assert await stores.subscriptions.get(name) == replaced
    rotated, _ = await stores.subscriptions.put(
        SubscriptionSpec(name, "http://two.test/e", secret="second-secret"),
        new_secret="ignored",
        now_ms=3,
    )
    assert rotated.secret == "second-secret"


async def test_subscriptions_list_in_pages_by_name(stores: Stores) -> None:
    names = [await stores.subscribe(s) for s in ("c", "a", "b")]
    seen: list[str] = []
    after: str | None = None
    while True:
        page = await stores.subscriptions.list(after, 1)
        seen += [s.name for s in page.items if stores.tag in s.name]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == sorted(names)


async def test_deleting_a_subscription_drops_what_is_owed_to_it(stores: Stores) -> None:
    name = await stores.subscribe("a")
    await stores.publish(stores.type("x"), stores.type("y"))
    await stores.fan_out()
    [first, _] = await stores.claim()
    await stores.queue.dead_letter(first, None, DeadLetterReason.TTL, now_ms())
    assert await stores.subscriptions.delete(name)
    assert not await stores.subscriptions.delete(name)
    assert await stores.subscriptions.get(name) is None
    assert await stores.claim(now_ms() + 10 * LEASE_MS) == []
    assert (await stores.dead_letters.list(name, None, 10)).items == []


async def test_purge_keeps_events_still_owed_to_someone(stores: Stores) -> None:
    await stores.subscribe("a", stores.type("owed"))
    owed, settled = await stores.publish(stores.type("owed"), stores.type("settled"))
    await stores.fan_out()
    await stores.queue.purge(now_ms() + 1000)
    async with stores.database.read() as conn:
        left = await conn.scalars(
            sa.select(event_outbox.c.id).where(event_outbox.c.id.in_([owed.id, settled.id]))
        )
        assert left.all() == [owed.id]


async def test_reader_returns_events_created_since_in_order(stores: Stores) -> None:
    reader = OutboxReader(stores.database, page_size=2)
    before = now_ms()
    events = await stores.publish(*[stores.type("x")] * 5)
    read = [e async for e in reader.created_since(before) if stores.tag in e.type]
    assert [e.id for e in read] == [e.id for e in events]
    assert read[0].data_json == b'{"n":0,"tag":"%s"}' % stores.tag.encode()


async def test_next_due_is_the_earliest_pending_time(stores: Stores) -> None:
    await stores.subscribe("a")
    await stores.publish(stores.type("x"))
    await stores.fan_out()
    due = await stores.queue.next_due_ms()
    assert due is not None and due <= now_ms()
