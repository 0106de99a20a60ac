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
from switchboard.sms.encoding import segment_count
from switchboard.sms.events import DeliveryOutcome, SmsDeliveryReportReceived, SmsReceived
from switchboard.sms.models import RecipientRequest, SendOptions
from switchboard.sms.ratelimit import SendRateLimiter
from switchboard.sms.sender import SmsSender
from switchboard.sms.service import SmsService
from switchboard.sms.simstore import HandsetBehaviour, HandsetReport
from switchboard.sms.simstore_memory import MemorySimulatorStore
from switchboard.sms.simulator import SimulatorNetwork
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
        clock = FakeClock()
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
