"""EventDispatcher: delivers the outbox's events to their subscribers, on every node.

    wake-up: bus "events.outbox" (a producer committed), a delivery finished,
             the next retry fell due, or events_poll_seconds passed
        │
        ▼
    round ─┬─ fan_out ─ new events ─▶ one pending delivery per interested subscription
           ├─ claim ─── due deliveries, as many as there are free slots, leased to this node
           │              │
           │              └─▶ TaskGroup: _deliver ─▶ WebhookSender.send ─┬─ 2xx ─▶ complete
           │                                                             └─ else ─▶ RetryPolicy
           │                                                                  ├─ retry_later
           │                                                                  └─ dead_letter
           │              (an exception out of send is a failed attempt like any other)
           └─ purge ─── settled events older than the retention (every few minutes)

At least once: a delivery leaves the queue only after its 2xx, so a crash anywhere means a
retry (after the lease), never a loss. Once per subscription across nodes: claims lock rows
(``queue.py``), and a lease outlasts the attempt's deadline. Every task lives in the TaskGroup
of ``_run``; ``stop()`` lets in-flight attempts finish (up to a grace period) and then cancels
them, and their leases simply run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import CollectorRegistry, Counter

from switchboard.bus.base import Bus, Subscription
from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.events.models import AttemptRecord, ClaimedDelivery, DeadLetterReason
from switchboard.events.outbox import OUTBOX_TOPIC
from switchboard.events.queue import DeliveryQueue
from switchboard.events.retry import RetryPolicy
from switchboard.events.sender import SendResult, WebhookSender
from switchboard.http.context import request_id_var

log = logging.getLogger(__name__)

FAN_OUT_BATCH = 500
MAX_FAN_OUT_BATCHES_PER_ROUND = 10  # then claim, so a flood of new events cannot starve retries
PURGE_INTERVAL_SECONDS = 300.0
BUSY_RETRY_SECONDS = 0.05  # due rows another node is claiming right now: look again shortly


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._outcomes = Counter(
            "switchboard_event_deliveries_total",
            "Webhook delivery attempts by outcome (delivered, retried, dead_lettered).",
            ("outcome",),
            registry=registry,
        )

    def count(self, outcome: str) -> None:
        self._outcomes.labels(outcome).inc()


class EventDispatcher:
    def __init__(
        self,
        queue: DeliveryQueue,
        sender: WebhookSender,
        bus: Bus,
        *,
        policy: RetryPolicy,
        clock: Clock,
        concurrency: int,
        poll_seconds: float,
        lease_seconds: float,
        retention_seconds: float,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("the dispatcher needs at least one delivery slot")
        self._queue = queue
        self._sender = sender
        self._bus = bus
        self._policy = policy
        self._clock = clock
        self._concurrency = concurrency
        self._poll_seconds = poll_seconds
        self._lease_ms = int(lease_seconds * 1000)
        self._retention_ms = int(retention_seconds * 1000)
        self._metrics = metrics or DeliveryMetrics(None)
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()
        self._stopping = False
        self._wakeups: Subscription | None = None
        self._tasks = TaskScope("EventDispatcher")
        self._runner: asyncio.Task[None] | None = None
        self._last_purge = float("-inf")

    async def start(self) -> None:
        self._wakeups = await self._bus.subscribe(OUTBOX_TOPIC)
        await self._tasks.start()
        self._runner = self._tasks.spawn(self._run(self._wakeups), name="EventDispatcher")

    async def stop(self, grace_seconds: float) -> None:
        self._stopping = True
        self._wake.set()
        if self._wakeups is not None:
            await self._wakeups.close()  # ends the listener task
        runner = self._runner
        if runner is None:
            return
        done, _ = await asyncio.wait({runner}, timeout=grace_seconds)
        if not done:
            log.warning("stopping with %d deliveries in flight; they retry later", len(self))
        await self._tasks.stop()

    def wake(self) -> None:
        """Look at the queue now (this node only; other nodes hear the bus)."""
        self._wake.set()

    def __len__(self) -> int:
        return len(self._in_flight)

    async def _run(self, wakeups: Subscription) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._listen(wakeups), name="EventDispatcher wake-ups")
            while not self._stopping:
                self._wake.clear()  # before the round: a wake-up during it is not lost
                delay = await self._round(group)
                if delay > 0 and not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), delay)

    async def _listen(self, wakeups: Subscription) -> None:
        async for _ in wakeups:
            self._wake.set()

    async def _round(self, group: asyncio.TaskGroup) -> float:
        """Fan out, claim and start deliveries; how long to sleep before the next round."""
        try:
            now_ms = self._now_ms()
            for _ in range(MAX_FAN_OUT_BATCHES_PER_ROUND):
                if await self._queue.fan_out(now_ms, FAN_OUT_BATCH) < FAN_OUT_BATCH:
                    break
            free = self._concurrency - len(self._in_flight)
            claimed = await self._queue.claim(now_ms, free, self._lease_ms) if free > 0 else []
            for delivery in claimed:
                self._in_flight.add(delivery.id)
                group.create_task(self._deliver(delivery), name=f"deliver {delivery.id}")
            if now_ms - self._last_purge >= PURGE_INTERVAL_SECONDS * 1000:
                self._last_purge = now_ms
                purged = await self._queue.purge(now_ms - self._retention_ms)
                if purged:
                    log.info("purged %d settled events from the outbox", purged)
            if len(self._in_flight) >= self._concurrency:
                return self._poll_seconds  # a finishing delivery wakes us
            next_due = await self._queue.next_due_ms()
        except Exception:  # a database blip must not end delivery; the next round retries
            log.exception("event dispatch round failed; next try in %g s", self._poll_seconds)
            return self._poll_seconds
        if next_due is None:
            return self._poll_seconds
        wait = (next_due - self._now_ms()) / 1000
        if wait <= 0:
            return 0.0 if claimed else BUSY_RETRY_SECONDS
        return min(wait, self._poll_seconds)

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        request_id_var.set(f"event {delivery.event.id} to {delivery.subscription.name}")
        try:
            await self._attempt(delivery)
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("delivery %s failed unexpectedly", delivery.id)
        finally:
            self._in_flight.discard(delivery.id)
            self._wake.set()

    async def _attempt(self, delivery: ClaimedDelivery) -> None:
        subscription = delivery.subscription
        now_ms = self._now_ms()
        if self._policy.expired(now_ms, delivery.enqueued_ms, subscription.event_ttl_minutes):
            await self._queue.dead_letter(delivery, None, DeadLetterReason.TTL, now_ms)
            self._metrics.count("dead_lettered")
            log.warning("event expired before it could be delivered; dead-lettered")
            return
        try:
            result = await self._sender.send(delivery)
        except Exception as exc:
            # Not a transport failure the sender knows (a bug, a library surprise): still a
            # failed attempt, so it backs off and is counted towards dead-lettering instead
            # of being tried again each time its lease runs out until the TTL.
            log.exception("delivery attempt raised")
            result = SendResult(False, None, f"unexpected error ({type(exc).__name__})")
        now_ms = self._now_ms()
        if result.delivered:
            await self._queue.complete(delivery)
            self._metrics.count("delivered")
            log.debug("delivered (HTTP %s)", result.status)
            return
        attempt = AttemptRecord(now_ms, result.status, result.error)
        decision = self._policy.after_failure(
            attempts_made=delivery.attempts + 1,
            status=result.status,
            now_ms=now_ms,
            enqueued_ms=delivery.enqueued_ms,
            max_attempts=subscription.max_delivery_attempts,
            ttl_minutes=subscription.event_ttl_minutes,
        )
        if decision.next_attempt_ms is None:
            reason = decision.reason or DeadLetterReason.MAX_ATTEMPTS
            await self._queue.dead_letter(delivery, attempt, reason, now_ms)
            self._metrics.count("dead_lettered")
            log.warning("dead-lettered (%s) after: %s", reason, result.error)
            return
        await self._queue.retry_later(delivery, attempt, decision.next_attempt_ms)
        self._metrics.count("retried")
        log.info(
            "attempt %d failed (%s); next in %.3g s",
            delivery.attempts + 1,
            result.error,
            (decision.next_attempt_ms - now_ms) / 1000,
        )

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)
