"""SubscriptionInterest: which types producers should build, followed across nodes."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.bus.memory import MemoryBus
from switchboard.events.filter_documents import parse_event_filter
from switchboard.events.filters import NO_FILTER, EventFilter, FilterTarget
from switchboard.events.interest import SubscriptionInterest
from switchboard.events.models import (
    DeliverySchema,
    EventSubscription,
    Page,
    SubscriptionSpec,
)

pytestmark = pytest.mark.anyio


class MemorySubscriptionStore:
    """Just enough of SubscriptionStore: the listing SubscriptionInterest reads."""

    def __init__(self) -> None:
        self.items: dict[str, EventSubscription] = {}

    def add(self, name: str, *types: str, event_filter: EventFilter = NO_FILTER) -> None:
        self.items[name] = EventSubscription(
            name,
            "http://x/e",
            types,
            DeliverySchema.EVENT_GRID,
            "secret-1",
            30,
            1440,
            0,
            0,
            event_filter,
        )

    async def put(
        self, spec: SubscriptionSpec, *, new_secret: str, now_ms: int
    ) -> tuple[EventSubscription, bool]:
        raise NotImplementedError

    async def get(self, name: str) -> EventSubscription | None:
        return self.items.get(name)

    async def list(self, after: str | None, limit: int) -> Page[EventSubscription, str]:
        names = sorted(n for n in self.items if after is None or n > after)
        page = [self.items[n] for n in names[:limit]]
        return Page(page, page[-1].name if len(names) > limit else None)

    async def delete(self, name: str) -> bool:
        return self.items.pop(name, None) is not None


@pytest.fixture
async def bus() -> MemoryBus:
    running = MemoryBus()
    await running.start()
    return running


async def test_everything_is_wanted_until_the_first_load(bus: MemoryBus) -> None:
    interest = SubscriptionInterest(MemorySubscriptionStore(), bus, refresh_seconds=60)
    assert interest.wants("Any.Type")
    await interest.reload()
    assert not interest.wants("Any.Type")


async def test_only_subscribed_types_are_wanted_ignoring_case(bus: MemoryBus) -> None:
    store = MemorySubscriptionStore()
    for i in range(700):  # more than one page
        store.add(f"s{i:03}", f"Type.{i}")
    interest = SubscriptionInterest(store, bus, refresh_seconds=60)
    await interest.reload()
    assert interest.wants("type.0") and interest.wants("Type.699")
    assert not interest.wants("Type.700")
    store.add("catch-all")
    await interest.reload()
    assert interest.wants("Type.700")


async def test_a_change_elsewhere_is_followed_over_the_bus(bus: MemoryBus) -> None:
    store = MemorySubscriptionStore()
    here = SubscriptionInterest(store, bus, refresh_seconds=60)
    there = SubscriptionInterest(store, bus, refresh_seconds=60)
    await there.start()
    try:
        assert not there.wants("A")
        store.add("new", "A")
        await here.changed()  # what SubscriptionService does after a PUT on this node
        assert here.wants("A")
        for _ in range(100):
            if there.wants("A"):
                break
            await asyncio.sleep(0.01)
        assert there.wants("A")
    finally:
        await there.stop()


async def test_a_lost_message_heals_within_the_refresh_interval(bus: MemoryBus) -> None:
    store = MemorySubscriptionStore()
    interest = SubscriptionInterest(store, bus, refresh_seconds=0.05)
    await interest.start()
    try:
        store.add("quiet", "B")  # nobody announces it
        for _ in range(100):
            if interest.wants("B"):
                break
            await asyncio.sleep(0.01)
        assert interest.wants("B")
    finally:
        await interest.stop()


async def test_stopping_the_bus_first_ends_the_follower_quietly(bus: MemoryBus) -> None:
    interest = SubscriptionInterest(MemorySubscriptionStore(), bus, refresh_seconds=60)
    await interest.start()
    await bus.stop()
    await asyncio.sleep(0.01)
    await interest.stop()


INCOMING_CALL = "Microsoft.Communication.IncomingCall"


def call_to(raw_id: str, event_type: str = INCOMING_CALL) -> FilterTarget:
    return FilterTarget(event_type, f"/caller/x/recipient/{raw_id}", data={"to": {"rawId": raw_id}})


async def test_would_deliver_asks_every_filter_of_every_subscription(bus: MemoryBus) -> None:
    store = MemorySubscriptionStore()
    for_alice = parse_event_filter(
        advanced_filters=[{"operatorType": "StringIn", "key": "data.to.rawId", "values": ["8:a"]}]
    )
    store.add("alice-app", INCOMING_CALL, event_filter=for_alice)
    store.add("chat-app", "Microsoft.Communication.ChatMessageReceived")
    interest = SubscriptionInterest(store, bus, refresh_seconds=60)
    assert interest.would_deliver(call_to("8:b"))  # before the first load: everything
    await interest.reload()
    assert interest.would_deliver(call_to("8:A"))
    assert not interest.would_deliver(call_to("8:b"))
    assert not interest.would_deliver(call_to("8:a", "Microsoft.Communication.CallStarted"))
    store.add("every-call", INCOMING_CALL)
    await interest.reload()
    assert interest.would_deliver(call_to("8:b"))
