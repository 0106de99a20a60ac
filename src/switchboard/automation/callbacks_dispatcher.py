"""CallbackDispatcher: delivers each call's callbacks in order, calls in parallel.

    wake-up: a batch was queued on this node, a POST finished, a retry fell due,
             or callback_poll_seconds passed
        │
        ▼
    round ─ claim: due call streams (as many as free slots), leased to this node, each with
            │      its head batch
            └─▶ TaskGroup: _deliver ─▶ CallbackSender.post ─▶ CallbackRetryPolicy.after
                     ├─ delivered / dropped ─▶ queue.settle, which hands back the call's next
                     │   batch under the same lease (one commit per batch) ─▶ POST it …
                     └─ retried ─▶ queue.retry_later (the call waits: head of line)

A wake-up is local: the node that queued a batch claims it itself; other nodes find what a
dead node left within a poll once its lease runs out. A lease outlasts one POST's deadline,
so a live node never loses a call mid-attempt. ``stop()`` lets POSTs in flight finish (up to
a grace) and then cancels them; their leases simply run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

from switchboard.automation.callbacks_sender import CallbackRetryPolicy, PostResult, Verdict
from switchboard.automation.callbacks_store import CallbackAttempt, CallbackQueue, ClaimedBatch
from switchboard.core.clock import Clock
from switchboard.core.logs import call_id_var, request_id_var
from switchboard.core.tasks import TaskScope

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 300.0
IDLE_RETENTION_SECONDS = 24 * 3600.0  # an idle stream's sequence number is kept this long
BUSY_RETRY_SECONDS = 0.05  # due streams another node is claiming right now: look again soon


class CallbackPoster(Protocol):
    """One POST of a batch (callbacks_sender.CallbackSender)."""

    async def post(self, batch: ClaimedBatch) -> PostResult: ...


class CallbackMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._outcomes = Counter(
            "switchboard_automation_callbacks_total",
            "Call Automation callback POSTs by outcome (delivered, retried, dropped).",
            ("outcome",),
            registry=registry,
        )

    def count(self, verdict: Verdict) -> None:
        self._outcomes.labels(verdict.value).inc()


class CallbackDispatcher:
    def __init__(
        self,
        queue: CallbackQueue,
        sender: CallbackPoster,
        *,
        policy: CallbackRetryPolicy,
        clock: Clock,
        concurrency: int,
        poll_seconds: float,
        lease_seconds: float,
        metrics: CallbackMetrics | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("the callback dispatcher needs at least one slot")
        self._queue = queue
        self._sender = sender
        self._policy = policy
        self._clock = clock
        self._concurrency = concurrency
        self._poll_seconds = poll_seconds
        self._lease_ms = int(lease_seconds * 1000)
        self._metrics = metrics or CallbackMetrics(None)
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()  # call connection ids
        self._stopping = False
        self._tasks = TaskScope("CallbackDispatcher")
        self._runner: asyncio.Task[None] | None = None
        self._last_purge = float("-inf")

    async def start(self) -> None:
        await self._tasks.start()
        self._runner = self._tasks.spawn(self._run(), name="CallbackDispatcher")

    async def stop(self, grace_seconds: float) -> None:
        self._stopping = True
        self._wake.set()
        runner = self._runner
        if runner is None:
            return
        done, _ = await asyncio.wait({runner}, timeout=grace_seconds)
        if not done:
            log.warning("stopping with %d callback POSTs in flight; they retry later", len(self))
        await self._tasks.stop()

    def wake(self) -> None:
        self._wake.set()

    def __len__(self) -> int:
        return len(self._in_flight)

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            while not self._stopping:
                self._wake.clear()  # before the round: a wake-up during it is not lost
                delay = await self._round(group)
                if delay > 0 and not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), delay)

    async def _round(self, group: asyncio.TaskGroup) -> float:
        """Claim and start POSTs; how long to sleep before the next round."""
        try:
            now_ms = self._now_ms()
            free = self._concurrency - len(self._in_flight)
            claimed = await self._queue.claim(now_ms, free, self._lease_ms) if free > 0 else []
            for batch in claimed:
                self._in_flight.add(batch.call_connection_id)
                group.create_task(self._deliver(batch), name=f"callback {batch.call_connection_id}")
            if now_ms - self._last_purge >= PURGE_INTERVAL_SECONDS * 1000:
                self._last_purge = now_ms
                await self._queue.purge_idle(now_ms - int(IDLE_RETENTION_SECONDS * 1000))
            if len(self._in_flight) >= self._concurrency:
                return self._poll_seconds  # a finishing POST wakes us
            next_due = await self._queue.next_due_ms()
        except Exception:  # a database blip must not end delivery; the next round retries
            log.exception("callback round failed; next try in %g s", self._poll_seconds)
            return self._poll_seconds
        if next_due is None:
            return self._poll_seconds
        wait = (next_due - self._now_ms()) / 1000
        if wait <= 0:
            return 0.0 if claimed else BUSY_RETRY_SECONDS
        return min(wait, self._poll_seconds)

    async def _deliver(self, batch: ClaimedBatch) -> None:
        request_id_var.set(f"callbacks of {batch.call_connection_id} #{batch.seq}")
        call_id_var.set(batch.call_connection_id)
        try:
            await self._attempt(batch)
        except Exception:  # the lease runs out and the batch is tried again
            log.exception("callback batch %d failed unexpectedly", batch.seq)
        finally:
            self._in_flight.discard(batch.call_connection_id)
            self._wake.set()

    async def _attempt(self, batch: ClaimedBatch) -> None:
        """POST the call's head, and while answered, its next batches under the same lease."""
        current: ClaimedBatch | None = batch
        while current is not None:
            current = await self._attempt_one(current)

    async def _attempt_one(self, batch: ClaimedBatch) -> ClaimedBatch | None:
        result = await self._sender.post(batch)
        now_ms = self._now_ms()
        decision = self._policy.after(
            result, attempts_made=batch.attempts + 1, now_ms=now_ms, enqueued_ms=batch.enqueued_ms
        )
        self._metrics.count(decision.verdict)
        if decision.verdict is Verdict.RETRIED and decision.next_attempt_ms is not None:
            attempt = CallbackAttempt(now_ms, result.status, result.error)
            await self._queue.retry_later(batch, attempt, decision.next_attempt_ms)
            log.info(
                "callback attempt %d to %s failed (%s); next in %.3g s",
                batch.attempts + 1,
                batch.url,
                result.error,
                (decision.next_attempt_ms - now_ms) / 1000,
            )
            return None
        if decision.verdict is Verdict.DROPPED:
            log.warning(
                "callback batch %d to %s dropped after %d attempts (%s): %s",
                batch.seq,
                batch.url,
                batch.attempts + 1,
                decision.reason,
                result.error,
            )
        keep = None if self._stopping else self._lease_ms
        settled = await self._queue.settle(batch, now_ms, lease_ms=keep)
        return settled.next

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)
