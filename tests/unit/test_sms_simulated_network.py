"""SmsService, SmsSender and the simulator carrier together, on the in-memory stores: what a
node does with a message, end to end, without a database or a socket.

Every wait is on a barrier: the store signals each commit, and a test waits (with a deadline)
until the commit it expects has happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from switchboard.core.clock import FakeClock
from switchboard.numbers.models import Capability, OwnedNumber
from switchboard.sms.carrier import CarrierSink, OutboundSms, SubmitResult
from switchboard.sms.encoding import segment_count
from switchboard.sms.events import DeliveryOutcome, SmsDeliveryReportReceived, SmsReceived
from switchboard.sms.models import (
    Direction,
    MessageOrigin,
    MessageState,
    RecipientRequest,
    SendOptions,
)
from switchboard.sms.ratelimit import SendRateLimiter
from switchboard.sms.sender import SmsSender
from switchboard.sms.service import SmsService
from switchboard.sms.simstore import HandsetBehaviour, HandsetReport
from switchboard.sms.simstore_memory import MemorySimulatorStore
from switchboard.sms.simulator import SimulatorCarrier, SimulatorNetwork
from switchboard.sms.store import NewMessage
from switchboard.sms.store_memory import MemorySmsStore, MemorySmsTransaction

pytestmark = pytest.mark.anyio

OURS = "+18005550100"
HANDSET = "+14255550123"


class WatchedSmsStore(MemorySmsStore):
    """Signals every commit, so a test can wait for the one it expects."""

    def __init__(self) -> None:
        super().__init__()
        self._committed = asyncio.Event()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemorySmsTransaction]:
        async with super().transaction() as tx:
            yield tx
        self._committed.set()

    async def until(self, done: Callable[[], Awaitable[bool]]) -> None:
        """Return once ``done()`` holds, checking it again after every commit."""
        async with asyncio.timeout(10):
            while True:
                self._committed.clear()  # before the check: a commit during it is not missed
                if await done():
                    return
                await self._committed.wait()


class Numbers:
    async def owned_number(self, phone_number: str) -> OwnedNumber | None:
        if phone_number != OURS:
            return None
        sms = Capability.INBOUND_OUTBOUND
        return OwnedNumber(OURS, "simulator", "US", "tollFree", sms, Capability.NONE)


class Node:
    def __init__(self) -> None:
        self.clock = clock = FakeClock()
        self.store = WatchedSmsStore()
        self.network = SimulatorNetwork(MemorySimulatorStore(), clock=clock)
        self.carrier = self.network.carrier("simulator")
        self.service = SmsService(
            self.store, Numbers(), clock=clock, on_queued=self._wake, segments=segment_count
        )
        self.sender = SmsSender(
            self.carrier,
            self.store,
            self.service,
            SendRateLimiter(6000, burst=100),
            clock=clock,
        )

    async def _wake(self, _carrier: str) -> None:
        self.sender.wake()

    def events_of(self, kind: type) -> list[object]:
        return [e for e in self.store.events if isinstance(e, kind)]

    async def has_event(self, kind: type) -> bool:
        return bool(self.events_of(kind))

    async def until_event(self, kind: type) -> None:
        await self.store.until(lambda: self.has_event(kind))


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    made = Node()
    await made.carrier.start(made.service)
    await made.sender.start()
    try:
        yield made
    finally:
        await made.sender.stop()
        await made.carrier.stop()


async def send(node: Node, text: str) -> str:
    [result] = await node.service.send(
        OURS, [RecipientRequest(HANDSET)], text, SendOptions(enable_delivery_report=True)
    )
    assert result.message_id is not None
    return result.message_id


async def test_a_sent_message_reaches_the_handset_and_reports_delivery(node: Node) -> None:
    text = "long " * 40  # two segments: the report waits for both receipts
    message_id = await send(node, text)
    await node.until_event(SmsDeliveryReportReceived)
    [report] = node.events_of(SmsDeliveryReportReceived)
    assert isinstance(report, SmsDeliveryReportReceived)
    assert (report.message_id, report.outcome) == (message_id, DeliveryOutcome.DELIVERED)
    assert (report.segments_delivered, report.segments_failed) == (2, 0)
    [received] = await node.network.store.inbox(HANDSET)
    assert (received.sender, received.text, received.segments) == (OURS, text, 2)


async def test_a_message_submitted_again_after_a_crash_reaches_the_handset_once() -> None:
    network = SimulatorNetwork(MemorySimulatorStore(), clock=FakeClock())
    carrier = network.carrier("simulator")
    message = OutboundSms("Outgoing_1", OURS, HANDSET, "long " * 40, want_report=True)
    first = await carrier.submit(message)
    # The sender's record of the first submit was lost to a crash; its lease ran out.
    again = await carrier.submit(message)
    assert again == first and len(set(first.carrier_message_ids)) == 2
    assert len(await network.store.inbox(HANDSET)) == 1
    owed = await network.store.claim_due(2**62, 100, lease_ms=1)
    assert sorted(i.payload["carrierMessageId"] for i in owed) == sorted(first.carrier_message_ids)
    other = await carrier.submit(OutboundSms("Outgoing_2", OURS, HANDSET, "hi", want_report=True))
    assert set(other.carrier_message_ids).isdisjoint(first.carrier_message_ids)
    assert len(await network.store.inbox(HANDSET)) == 2


@pytest.mark.parametrize(
    ("behaviour", "detail"),
    [(HandsetReport.FAILED, "UNDELIV err:001"), (HandsetReport.REJECT, "refuses messages")],
)
async def test_a_handset_that_fails_or_refuses_makes_a_failed_report(
    node: Node, behaviour: HandsetReport, detail: str
) -> None:
    await node.network.store.set_behaviour(HandsetBehaviour(HANDSET, behaviour))
    await send(node, "hi")
    await node.until_event(SmsDeliveryReportReceived)
    [report] = node.events_of(SmsDeliveryReportReceived)
    assert isinstance(report, SmsDeliveryReportReceived)
    assert report.outcome is DeliveryOutcome.FAILED
    assert detail in report.detail


async def test_a_handset_that_texts_stop_is_answered_and_announced(node: Node) -> None:
    await node.network.store.inject_inbound(HANDSET, OURS, "STOP", 0)
    node.network.wake()
    await node.until_event(SmsReceived)
    [received] = node.events_of(SmsReceived)
    assert isinstance(received, SmsReceived)
    assert (received.sender, received.text) == (HANDSET, "STOP")
    assert await node.store.opted_out(OURS, [HANDSET]) == {HANDSET}

    async def answered() -> bool:
        return bool(await node.network.store.inbox(HANDSET))

    # The automatic reply goes out through the sender like any message; its submit commits.
    await node.store.until(answered)
    [reply] = await node.network.store.inbox(HANDSET)
    assert reply.text.startswith("You have been unsubscribed")


TOO_LONG = "x" * 40_000  # 262 segments: more than any carrier can concatenate


async def queue_raw(node: Node, message_id: str, text: str) -> None:
    """A queued row as an older node (one that did not check lengths) could have left it."""
    row = NewMessage(
        id=message_id,
        direction=Direction.OUTBOUND,
        origin=MessageOrigin.API,
        state=MessageState.QUEUED,
        carrier="simulator",
        sender=OURS,
        recipient=HANDSET,
        text=text,
        want_report=True,
        created_ms=int(node.clock.now() * 1000),
    )
    async with node.store.transaction() as tx:
        await tx.insert_messages([row])


async def test_an_unsendable_queued_message_fails_once_and_its_followers_still_go_out(
    node: Node,
) -> None:
    await queue_raw(node, "Outgoing_poison", TOO_LONG)
    after = await send(node, "after the poison")  # same handset: queued behind it, in order

    async def settled() -> bool:
        poison, follower = await node.store.get("Outgoing_poison"), await node.store.get(after)
        assert poison is not None and follower is not None
        return poison.state is MessageState.FAILED and follower.state is MessageState.DELIVERED

    await node.store.until(settled)
    poison = await node.store.get("Outgoing_poison")
    assert poison is not None and poison.detail is not None and "segments" in poison.detail
    assert [m.text for m in await node.network.store.inbox(HANDSET)] == ["after the poison"]


async def test_a_handed_over_item_that_cannot_be_taken_is_dropped_and_the_rest_arrive(
    node: Node,
) -> None:
    store = node.network.store
    for text in ("first", TOO_LONG, "last"):  # the middle one fails in the sink every time
        await store.inject_inbound(HANDSET, OURS, text, 0)
    node.network.wake()

    async def both_received() -> bool:
        return len(node.events_of(SmsReceived)) == 2

    await node.store.until(both_received)
    texts = [e.text for e in node.events_of(SmsReceived) if isinstance(e, SmsReceived)]
    assert texts == ["first", "last"]
    # Items go in order, so the poison one was settled before "last" was handed over.
    assert await store.next_due_ms() is None


class GatedCarrier:
    """The simulator carrier behind a gate: a submit waits there, like one whose submit_sm
    went out and whose resp has not come back yet."""

    def __init__(self, inner: SimulatorCarrier) -> None:
        self.name = inner.name
        self._inner = inner
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.cancelled = False

    @property
    def is_up(self) -> bool:
        return True

    async def wait_up(self) -> None:
        return None

    async def start(self, sink: CarrierSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def submit(self, message: OutboundSms) -> SubmitResult:
        self.entered.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled = True  # the submit_sm went out; nobody will record its resp
            raise
        return await self._inner.submit(message)


async def test_a_stop_lets_the_submit_under_way_be_recorded_instead_of_sent_again(
    node: Node,
) -> None:
    await node.sender.stop()  # this test's sender is one in front of a slow carrier
    carrier = GatedCarrier(node.carrier)
    sender = SmsSender(
        carrier, node.store, node.service, SendRateLimiter(6000, burst=100), clock=node.clock
    )
    await sender.start()
    message_id = await send(node, "in flight at the stop")
    sender.wake()
    async with asyncio.timeout(10):
        await carrier.entered.wait()
    stopping = asyncio.create_task(sender.stop())
    # Let the stop run as far as it goes without the resp (a cancel takes a few loop steps;
    # no time passes on the fake clock): it must not have cancelled the submit.
    for _ in range(20):
        await asyncio.sleep(0)
    assert not carrier.cancelled and not stopping.done()
    carrier.gate.set()  # the resp comes back after the stop began
    async with asyncio.timeout(10):
        await stopping
    stored = await node.store.get(message_id)
    assert stored is not None and stored.state is not MessageState.QUEUED
    assert [m.text for m in await node.network.store.inbox(HANDSET)] == ["in flight at the stop"]
