"""SmsSender: one per carrier per node; moves queued messages to the carrier.

    loop: wait until the carrier link is up ─▶ claim due messages (lease) ─▶ per recipient,
          in order: rate limit? ─▶ defer  │  submit ─▶ ok: record carrier ids
                                          │          ├─ unavailable: defer (retry soon)
                                          │          └─ rejected: failed (+ report event)
          │  anything else raised: transient ─▶ defer │ otherwise ─▶ failed (the reason kept)
          nothing due: sleep until the next due time or a wake-up (a new message)
    stop(): claim no more ─▶ the round under way finishes (≤ STOP_GRACE_SECONDS) ─▶ cancel

A message whose submit succeeded but whose record did not commit (crash in between) is
submitted again when its lease runs out: SMPP has no idempotency key, so the guarantee at the
carrier boundary is at-least-once; everything before and after it is exactly-once. A stop
is not such a crash: it lets submits under way be recorded before it cancels anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.sms.carrier import (
    CarrierRejectedError,
    CarrierUnavailableError,
    OutboundSms,
    SmsCarrier,
)
from switchboard.sms.models import QueuedMessage
from switchboard.sms.ratelimit import SendRateLimiter
from switchboard.sms.service import SmsService
from switchboard.sms.store import SmsStore
from switchboard.storage.transience import is_transient

log = logging.getLogger(__name__)

CLAIM_BATCH = 64
IDLE_POLL_SECONDS = 5.0  # backstop: other nodes' new messages are seen at least this often
UNAVAILABLE_RETRY_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 1.0
STOP_GRACE_SECONDS = 10.0  # how long stop() lets submits under way finish


class SmsSender:
    def __init__(
        self,
        carrier: SmsCarrier,
        store: SmsStore,
        service: SmsService,
        limiter: SendRateLimiter,
        *,
        clock: Clock,
        concurrency: int = 10,
        lease_seconds: float = 60.0,
        expiry_seconds: float = 72 * 3600.0,
    ) -> None:
        self.carrier = carrier
        self._store = store
        self._service = service
        self._limiter = limiter
        self._clock = clock
        self._concurrency = asyncio.Semaphore(concurrency)
        self._lease_ms = int(lease_seconds * 1000)
        self._expiry_ms = int(expiry_seconds * 1000)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._round_done = asyncio.Event()  # clear while claimed messages are being sent
        self._round_done.set()
        self._tasks = TaskScope(f"sms-sender-{carrier.name}")

    async def start(self) -> None:
        await self._tasks.start()
        self._tasks.spawn(self._run(), name=f"sms-sender-{self.carrier.name}")

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Claim nothing more, let the round under way finish (bounded), then cancel.

        Cancelling a submit whose submit_sm already went out would leave it unrecorded, to be
        sent again when its lease ends: a duplicate that a stop need not cause."""
        self._stopping.set()
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await self._round_done.wait()
        await self._tasks.stop()

    def wake(self) -> None:
        self._wake.set()

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.carrier.wait_up()
                self._wake.clear()
                # A read first: an idle sender takes no write lock (SQLite has one writer).
                due = await self._store.next_due_ms(self.carrier.name)
                now_ms = self._now_ms()
                claimed = []
                if due is not None and due <= now_ms and not self._stopping.is_set():
                    self._round_done.clear()
                    try:
                        claimed = await self._store.claim(
                            self.carrier.name, now_ms, CLAIM_BATCH, self._lease_ms
                        )
                        if claimed:
                            await self._send_all(claimed)
                    finally:
                        self._round_done.set()
                if not claimed:
                    await wait_until_due(self._wake, due, now_ms, IDLE_POLL_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:  # a database blip must not end the sender; the lease protects
                log.exception("SMS sender for %s failed a round", self.carrier.name)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    async def _send_all(self, claimed: Sequence[QueuedMessage]) -> None:
        # Messages to one handset go one after another, in order; handsets in parallel.
        by_recipient: dict[str, list[QueuedMessage]] = {}
        for message in claimed:
            by_recipient.setdefault(message.recipient, []).append(message)
        await asyncio.gather(*(self._send_in_order(group) for group in by_recipient.values()))

    async def _send_in_order(self, group: Sequence[QueuedMessage]) -> None:
        for index, message in enumerate(group):
            retry_at = await self._try_one(message)
            if retry_at is not None:
                for later in group[index + 1 :]:  # keep the order: the rest waits as well
                    await self._store.defer(later, retry_at, self._now_ms())
                return

    async def _try_one(self, message: QueuedMessage) -> int | None:
        """``_send_one``, with its failure kept to this message (and its handset's followers).

        Transient (a database blip): the message and its followers wait a moment, their
        leases protect them meanwhile. Anything else would fail the same way on every
        attempt: the message fails for good, with the reason, and the next one goes on."""
        try:
            return await self._send_one(message)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if is_transient(error):
                log.warning("SMS %s waits after an error: %s", message.id, error)
                retry_at = self._now_ms() + int(ERROR_PAUSE_SECONDS * 1000)
                with contextlib.suppress(Exception):  # else its lease brings it back
                    await self._store.defer(message, retry_at, self._now_ms())
                return retry_at
            log.exception("SMS %s cannot be sent; it fails", message.id)
            try:
                await self._service.failed(message, f"Not sendable: {error}")
            except Exception:  # its lease brings it back
                log.warning("SMS %s: recording the failure failed too", message.id)
            return None

    async def _send_one(self, message: QueuedMessage) -> int | None:
        """Submit one message; the time to retry it (and its followers) when it must wait."""
        now = self._clock.now()
        now_ms = int(now * 1000)
        if now_ms - message.created_ms > self._expiry_ms:
            await self._service.failed(message, "Expired: the carrier was unreachable.")
            return None
        wait = self._limiter.reserve(message.sender, now)
        if wait > 0:
            retry_at = now_ms + int(wait * 1000) + 1
            await self._store.defer(message, retry_at, now_ms)
            return retry_at
        outbound = OutboundSms(
            message_id=message.id,
            sender=message.sender,
            recipient=message.recipient,
            text=message.text,
            want_report=True,  # always: receipts are how we learn the final state
        )
        async with self._concurrency:
            try:
                result = await self.carrier.submit(outbound)
            except CarrierUnavailableError as error:
                retry_at = self._now_ms() + int(UNAVAILABLE_RETRY_SECONDS * 1000)
                log.info("SMS %s waits: %s", message.id, error.message)
                await self._store.defer(message, retry_at, self._now_ms())
                return retry_at
            except CarrierRejectedError as error:
                await self._service.failed(message, error.message)
                return None
        await self._service.submitted(message, result.carrier_message_ids)
        return None


async def wait_until_due(
    wake: asyncio.Event, due_ms: int | None, now_ms: int, longest: float
) -> None:
    """Sleep until ``due_ms`` (at most ``longest`` seconds, the backstop poll) or a wake-up."""
    timeout = longest
    if due_ms is not None:
        timeout = min(timeout, max((due_ms - now_ms) / 1000, 0.005))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout)
