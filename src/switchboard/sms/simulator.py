"""The built-in simulator carrier: virtual handsets, no network.

    SimulatorNetwork(store) ── carrier(name) ─▶ SimulatorCarrier (one per simulator carrier)
                            └─ wake() ─▶ every carrier looks for injected messages now

    submit ─▶ handset's inbox (+ a receipt owed, per the handset's behaviour) ─▶ ids
              (ids derive from our message id: a resubmit after a crash is a no-op)
    loop: owed receipts and injected inbound messages, when due ─▶ per item: CarrierSink ─▶ done
                                        the sink failed: transient ─▶ left leased (retried)
                                                         otherwise ─▶ logged once, dropped

Everything it owes lives in the database (``sms_sim_pending``), so a restart loses nothing,
and an inbound message injected by ``switchboard sim sms send`` from another process is picked
up by the next poll.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.sms.carrier import (
    CarrierRejectedError,
    CarrierReport,
    CarrierSink,
    InboundSms,
    OutboundSms,
    ReportStatus,
    SubmitResult,
)
from switchboard.sms.encoding import segment_count
from switchboard.sms.sender import wait_until_due
from switchboard.sms.simstore import (
    HandsetReport,
    InboxMessage,
    OwedReceipt,
    PendingItem,
    PendingKind,
    SimulatorStore,
)
from switchboard.storage.transience import is_transient

log = logging.getLogger(__name__)

_CARRIER_IDS = uuid.UUID("5d1c7c56-0d7e-4b8e-9a57-3c5f2f0c1a11")  # namespace of our ids
POLL_SECONDS = 0.5  # how soon an injection from another process is seen
LEASE_SECONDS = 60.0  # an item claimed by a node that died is handed over again after this
_RECEIPT_DETAIL = {ReportStatus.DELIVERED: "DELIVRD", ReportStatus.FAILED: "UNDELIV err:001"}


class SimulatorNetwork:
    """The simulated world shared by the simulator carriers of a node and its admin API."""

    def __init__(
        self,
        store: SimulatorStore,
        *,
        clock: Clock,
        segments: Callable[[str], int] = segment_count,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.store = store
        self._clock = clock
        self._segments = segments
        self._lease_ms = int(lease_seconds * 1000)
        self._carriers: list[SimulatorCarrier] = []

    def carrier(self, name: str) -> SimulatorCarrier:
        carrier = SimulatorCarrier(
            name, self.store, clock=self._clock, segments=self._segments, lease_ms=self._lease_ms
        )
        self._carriers.append(carrier)
        return carrier

    def wake(self) -> None:
        """Something was injected: look now rather than at the next poll."""
        for carrier in self._carriers:
            carrier.wake()


class SimulatorCarrier:
    def __init__(
        self,
        name: str,
        store: SimulatorStore,
        *,
        clock: Clock,
        segments: Callable[[str], int],
        lease_ms: int,
    ) -> None:
        self.name = name
        self._store = store
        self._clock = clock
        self._segments = segments
        self._lease_ms = lease_ms
        self._sink: CarrierSink | None = None
        self._wake = asyncio.Event()
        self._tasks = TaskScope(f"sms-simulator-{name}")

    @property
    def is_up(self) -> bool:
        return True

    async def wait_up(self) -> None:
        return None

    async def start(self, sink: CarrierSink) -> None:
        self._sink = sink
        await self._tasks.start()
        self._tasks.spawn(self._run(), name=f"sms-simulator-{self.name}")

    async def stop(self) -> None:
        await self._tasks.stop()

    def wake(self) -> None:
        self._wake.set()

    async def submit(self, message: OutboundSms) -> SubmitResult:
        behaviour = await self._store.behaviour(message.recipient)
        if behaviour.report is HandsetReport.REJECT:
            raise CarrierRejectedError(f"The handset {message.recipient} refuses messages.")
        count = self._segments(message.text)
        # Ids from our message id, not random: when a crash came between this submit and the
        # sender's record of it, the message is submitted again after its lease, and then
        # finds itself in the inbox (no second copy; the same receipts). A real network
        # cannot do this (SMPP has no idempotency key); the simulator can, so it does.
        ids = tuple(_carrier_id(message.message_id, n) for n in range(count))
        now_ms = int(self._clock.now() * 1000)
        # The inbox keeps the whole message (as a handset shows it) under its first id; each
        # further segment's receipt is owed as well.
        owed: list[tuple[str, ReportStatus]] = []
        if behaviour.report is not HandsetReport.NONE:
            status = (
                ReportStatus.FAILED
                if behaviour.report is HandsetReport.FAILED
                else ReportStatus.DELIVERED
            )
            owed = [(cid, status) for cid in ids]
        await self._store.deliver_to_handset(
            InboxMessage(ids[0], message.sender, message.recipient, message.text, count, now_ms),
            [OwedReceipt(cid, status.value, now_ms + behaviour.delay_ms) for cid, status in owed],
        )
        self._wake.set()
        return SubmitResult(carrier_message_ids=ids, segments=count)

    async def _run(self) -> None:
        while True:
            try:
                self._wake.clear()
                now_ms = int(self._clock.now() * 1000)
                # A read first: an idle simulator takes no write lock every poll.
                due = await self._store.next_due_ms()
                items = []
                if due is not None and due <= now_ms:
                    items = await self._store.claim_due(now_ms, 100, self._lease_ms)
                for item in items:
                    await self._settle(item)
                if not items:
                    await wait_until_due(self._wake, due, now_ms, POLL_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep simulating; owed items stay leased and come back
                log.exception("SMS simulator round failed")
                await asyncio.sleep(POLL_SECONDS)

    async def _settle(self, item: PendingItem) -> None:
        """Hand one item over; a failure stays with its item, never with the round."""
        try:
            await self._hand_over(item)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if is_transient(error):  # e.g. a database blip: the lease brings it back
                log.warning("SMS simulator: %s item %d waits: %s", item.kind, item.seq, error)
                return
            # It would fail the same way every time: drop it, once, loudly.
            log.exception("SMS simulator: %s item %d dropped", item.kind, item.seq)
            await self._store.done(item)

    async def _hand_over(self, item: PendingItem) -> None:
        assert self._sink is not None
        payload = item.payload
        if item.kind is PendingKind.INBOUND:
            await self._sink.inbound(
                self.name,
                InboundSms(
                    sender=payload["from"],
                    recipient=payload["to"],
                    text=payload["text"],
                    carrier_message_id=payload["carrierMessageId"],
                ),
            )
        else:
            status = ReportStatus(payload["status"])
            await self._sink.delivery_report(
                self.name,
                CarrierReport(
                    carrier_message_id=payload["carrierMessageId"],
                    status=status,
                    detail=_RECEIPT_DETAIL[status],
                    done_ms=int(self._clock.now() * 1000),
                ),
            )
        await self._store.done(item)


def _carrier_id(message_id: str, segment: int) -> str:
    return uuid.uuid5(_CARRIER_IDS, f"{message_id}/{segment}").hex
