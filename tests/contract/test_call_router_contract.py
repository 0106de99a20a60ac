"""The CallRouter contract, proved against every router: LocalCallRouter, and BusCallRouter
on the in-memory bus and on Redis. Across-node behaviours (bus routers only) at the end.

Own-node messages are the objects themselves, handed over before the call returns (no
encoding, no task hop): that is what keeps a single node's signaling fast.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from switchboard.bus.base import Bus
from switchboard.bus.memory import MemoryBus
from switchboard.bus.redis import RedisBus
from switchboard.calling.models import Deliver, DeviceAddress
from switchboard.calling.routing.bus import BusCallRouter
from switchboard.calling.routing.local import LocalCallRouter
from switchboard.calling.routing.messages import Command, ForOwner, Invite, Lost, Present
from switchboard.calling.routing.router import CallRouter
from switchboard.calling.signaling.frames import CallEnded, ServerFrame
from switchboard.calling.signaling.protocol import EndReasonInfo
from switchboard.calling.signaling.requests import HangUp
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.anyio

WAIT = 5.0


class Inbox:
    """Records what a router hands over; ``arrived`` wakes a waiting test."""

    def __init__(self) -> None:
        self.received: list[ForOwner | Invite] = []
        self.delivered: list[tuple[str, ServerFrame]] = []
        self.arrived = asyncio.Event()

    def receive(self, message: ForOwner | Invite) -> None:
        self.received.append(message)
        self.arrived.set()

    def deliver_here(self, device_id: str, frame: ServerFrame) -> None:
        self.delivered.append((device_id, frame))
        self.arrived.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()


RouterFactory = Callable[[str], CallRouter]


def new_bus(kind: str) -> Bus:
    return MemoryBus() if kind == "memory" else RedisBus(REDIS_URL, f"test-{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["local", "memory", pytest.param("redis", marks=pytest.mark.redis)])
async def new_router(request: pytest.FixtureRequest) -> AsyncIterator[RouterFactory]:
    """A node's router: local, or on a bus (a missing Redis fails in start())."""
    if request.param == "local":
        yield LocalCallRouter
        return
    bus = new_bus(request.param)
    await bus.start()
    try:
        yield lambda node_id: BusCallRouter(bus, node_id)
    finally:
        await bus.stop()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def shared_bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """One bus for several nodes' routers (the across-node tests)."""
    bus = new_bus(request.param)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


def command(call: str = "c1", node: str = "a") -> Command:
    return Command(call=call, user="8:acs:u", node=node, device="d1", req=HangUp(call_id=call))


async def test_a_message_for_this_node_is_handed_over_as_it_is_at_once(
    new_router: RouterFactory,
) -> None:
    router, inbox = new_router("a"), Inbox()
    await router.start(inbox)
    try:
        sent = command()
        router.to_owner("a", sent)
        assert len(inbox.received) == 1 and inbox.received[0] is sent
    finally:
        await router.stop()


async def test_a_frame_for_a_device_on_this_node_is_handed_over_at_once(
    new_router: RouterFactory,
) -> None:
    router, inbox = new_router("a"), Inbox()
    await router.start(inbox)
    try:
        frame = CallEnded(EndReasonInfo(0, 0, "bye"), call_id="c1")
        router.deliver(Deliver(DeviceAddress("a", "d1"), frame))
        assert inbox.delivered == [("d1", frame)] and inbox.delivered[0][1] is frame
    finally:
        await router.stop()


async def test_a_stopped_router_hands_nothing_over(new_router: RouterFactory) -> None:
    router, inbox = new_router("a"), Inbox()
    await router.start(inbox)
    await router.stop()
    router.to_owner("a", command())
    router.deliver(Deliver(DeviceAddress("a", "d1"), CallEnded(EndReasonInfo(0), call_id="c1")))
    assert inbox.received == [] and inbox.delivered == []


async def test_a_node_is_never_asked_to_ring_for_its_own_invite(
    new_router: RouterFactory,
) -> None:
    router, inbox = new_router("a"), Inbox()
    await router.start(inbox)
    try:
        router.invite(Invite(call="c1", owner="a", user="8:acs:b"))
        if isinstance(router, BusCallRouter):
            # Same publisher, same topic: once this one is in, the first one has been seen.
            router.invite(Invite(call="sentinel", owner="elsewhere", user="8:acs:b"))
            await inbox.until(lambda: bool(inbox.received))
        assert [m.call for m in inbox.received if isinstance(m, Invite)] in ([], ["sentinel"])
    finally:
        await router.stop()


# ── across nodes (bus routers) ──────────────────────────────────────────────────────────


async def test_messages_for_another_node_arrive_there_in_order_and_typed(
    shared_bus: Bus,
) -> None:
    a, b = BusCallRouter(shared_bus, "a"), BusCallRouter(shared_bus, "b")
    on_a, on_b = Inbox(), Inbox()
    await a.start(on_a)
    await b.start(on_b)
    try:
        sent: list[ForOwner] = [
            command(node="a"),
            Present(call="c1", user="8:acs:u", node="a", device="d2", busy=True),
            Lost(call="c1", node="a", device="d1", reason=EndReasonInfo(496, 7, "gone")),
        ]
        for message in sent:
            a.to_owner("b", message)
        await on_b.until(lambda: len(on_b.received) == len(sent))
        assert on_b.received == sent
        assert on_a.received == []
    finally:
        await a.stop()
        await b.stop()


async def test_frames_and_invites_reach_the_other_node(shared_bus: Bus) -> None:
    a, b = BusCallRouter(shared_bus, "a"), BusCallRouter(shared_bus, "b")
    on_a, on_b = Inbox(), Inbox()
    await a.start(on_a)
    await b.start(on_b)
    try:
        frame = CallEnded(EndReasonInfo(487, 10003, "elsewhere"), call_id="c1")
        a.deliver(Deliver(DeviceAddress("b", "d9"), frame))
        a.invite(Invite(call="c2", owner="a", user="8:acs:b"))
        await on_b.until(lambda: bool(on_b.delivered) and bool(on_b.received))
        assert on_b.delivered == [("d9", frame)]
        assert on_b.received == [Invite(call="c2", owner="a", user="8:acs:b")]
    finally:
        await a.stop()
        await b.stop()
