"""EventDispatcher (events/dispatcher.py) over an in-memory queue: what an attempt that raises
counts as. The sender is the real WebhookSender on an httpx transport that raises.

The retry schedule is scaled down (x0.001: 10 ms, 30 ms, …) so three attempts take well under
a second; each test waits for an outcome, never for a delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import pytest

from switchboard.bus.memory import MemoryBus
from switchboard.core.clock import SystemClock
from switchboard.events.dispatcher import EventDispatcher
from switchboard.events.models import (
    AttemptRecord,
    ClaimedDelivery,
    DeadLetterReason,
    DeliverySchema,
    EventSubscription,
    StoredEvent,
)
from switchboard.events.retry import RetryPolicy
from switchboard.events.sender import WebhookSender

pytestmark = pytest.mark.anyio


@dataclass
class Outcome:
    reason: DeadLetterReason
    attempts: int  # made before the one that ended it
    last: AttemptRecord | None


class OneDeliveryQueue:
    """A DeliveryQueue holding one delivery: claims honour its due time, outcomes are kept."""

    def __init__(self, delivery: ClaimedDelivery) -> None:
        self._delivery: ClaimedDelivery | None = delivery
        self._due_ms = 0
        self.retries: list[AttemptRecord] = []
        self.dead: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    async def fan_out(self, now_ms: int, limit: int) -> int:
        return 0

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[ClaimedDelivery]:
        delivery = self._delivery
        if delivery is None or limit < 1 or now_ms < self._due_ms:
            return []
        self._due_ms = now_ms + lease_ms  # as the SQL queue: due again when the lease ends
        return [delivery]

    async def complete(self, delivery: ClaimedDelivery) -> None:
        self._delivery = None

    async def retry_later(
        self, delivery: ClaimedDelivery, attempt: AttemptRecord, next_attempt_ms: int
    ) -> None:
        self.retries.append(attempt)
        self._delivery = replace(delivery, attempts=delivery.attempts + 1)
        self._due_ms = next_attempt_ms

    async def dead_letter(
        self,
        delivery: ClaimedDelivery,
        attempt: AttemptRecord | None,
        reason: DeadLetterReason,
        now_ms: int,
    ) -> None:
        self._delivery = None
        self.dead.set_result(Outcome(reason, delivery.attempts, attempt))

    async def next_due_ms(self) -> int | None:
        return None if self._delivery is None else self._due_ms

    async def purge(self, before_ms: int) -> int:
        return 0


def delivery(max_attempts: int) -> ClaimedDelivery:
    now_ms = int(SystemClock().now() * 1000)
    event = StoredEvent(1, "e-1", "Test.Happened", "things/1", b"{}", "1.0", now_ms, now_ms)
    subscription = EventSubscription(
        "raising",
        "https://receiver.invalid/hook",
        (),
        DeliverySchema.EVENT_GRID,
        "secret",
        max_attempts,
        60,
        now_ms,
        now_ms,
    )
    return ClaimedDelivery("d-1", "claim-1", 0, now_ms, event, subscription)


def raising_transport(request: httpx.Request) -> httpx.Response:
    raise ValueError("a receiver library surprise, not an httpx.HTTPError")


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    running = MemoryBus()
    await running.start()
    yield running
    await running.stop()


async def test_an_attempt_that_raises_counts_as_failed_and_is_dead_lettered_by_the_rule(
    bus: MemoryBus,
) -> None:
    clock = SystemClock()
    queue = OneDeliveryQueue(delivery(max_attempts=3))
    async with httpx.AsyncClient(transport=httpx.MockTransport(raising_transport)) as client:
        dispatcher = EventDispatcher(
            queue,
            WebhookSender(client, topic="/t", clock=clock, timeout_seconds=2.0),
            bus,
            policy=RetryPolicy(scale=0.001),
            clock=clock,
            concurrency=1,
            poll_seconds=0.2,
            lease_seconds=60.0,  # were a raise not counted, the next try would be after this
            retention_seconds=3600.0,
        )
        await dispatcher.start()
        try:
            async with asyncio.timeout(5):
                outcome = await queue.dead
        finally:
            await dispatcher.stop(grace_seconds=1.0)
    assert outcome.reason is DeadLetterReason.MAX_ATTEMPTS
    assert outcome.attempts == 2  # two retried, the third ended it
    assert outcome.last is not None and outcome.last.status is None
    assert outcome.last.error == "unexpected error (ValueError)"
    assert [r.error for r in queue.retries] == ["unexpected error (ValueError)"] * 2
