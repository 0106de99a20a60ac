"""What the SMS service asks of a carrier, and what a carrier hands back.

    SmsService ── queue row (durable) ── SmsSender ──submit()──▶ SmsCarrier ──▶ network
                                                                    │
    SmsService ◀── CarrierSink.inbound() / .delivery_report() ◀─────┘   (deliver_sm, …)

A carrier never stores anything itself: ``submit`` returns once the network accepted the
message (``submit_sm_resp`` for SMPP) and the sender then records the carrier's ids; a
carrier acknowledges an inbound PDU to the network only after the sink's coroutine returned,
and the sink returns only once what it was given is committed. So a crash at any point
loses nothing: an unacknowledged submit is retried, an unacknowledged inbound is redelivered.
A segment of a concatenated inbound message is committed by ``hold_segment`` before it is
acknowledged; the whole message then goes to ``inbound``, whose commit releases its segments:

    segment ─▶ hold_segment (durable) ─▶ ack ─▶ … last segment ─▶ all held? ─▶ inbound
                                                    (message + release, one commit) ─▶ ack
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from switchboard.core.errors import SwitchboardError


@dataclass(frozen=True, slots=True)
class OutboundSms:
    message_id: str  # ours ("Outgoing_..."), for logs; the network never sees it
    sender: str  # E.164 ("+18005550100") or an alphanumeric sender id
    recipient: str  # E.164
    text: str  # the whole message; the carrier splits it into segments as it must
    want_report: bool


@dataclass(frozen=True, slots=True)
class SubmitResult:
    carrier_message_ids: tuple[str, ...]  # one per segment, in order
    segments: int


@dataclass(frozen=True, slots=True)
class SegmentKey:
    """The message a segment of a concatenated SMS belongs to: the handset's reference
    (8 or 16 bits, reused) is only unique per sender, recipient and count."""

    sender: str
    recipient: str
    reference: int
    total: int


@dataclass(frozen=True, slots=True)
class InboundSegment:
    """One received segment of a concatenated message, held until its siblings arrive."""

    key: SegmentKey
    index: int  # 1-based
    data_coding: int
    payload: bytes  # user data without its header; decoded once the message is whole
    received_ms: int


@dataclass(frozen=True, slots=True)
class InboundSms:
    sender: str  # E.164 of the handset
    recipient: str  # E.164 of our number
    text: str  # segments already reassembled
    carrier_message_id: str | None = None  # the sink ignores a message it already has
    received_ms: int | None = None
    # Joined from held segments (CarrierSink.hold_segment): released with its commit.
    segments: SegmentKey | None = None


class ReportStatus(StrEnum):
    DELIVERED = "Delivered"
    FAILED = "Failed"  # permanent: expired, rejected, undeliverable, deleted, unknown


@dataclass(frozen=True, slots=True)
class CarrierReport:
    """A delivery receipt for one segment, keyed by the id ``submit`` returned for it."""

    carrier_message_id: str
    status: ReportStatus
    detail: str  # the network's words, e.g. "DELIVRD" or "UNDELIV err:001"
    done_ms: int | None = None


class CarrierUnavailableError(SwitchboardError):
    """The link is down or the network is busy (throttled): keep the message, try later."""

    status = 503
    code = "CarrierUnavailable"


class CarrierRejectedError(SwitchboardError):
    """The network refused this message for good (invalid destination, barred, …)."""

    status = 400
    code = "CarrierRejected"


class CarrierSink(Protocol):
    async def inbound(self, carrier: str, message: InboundSms) -> None:
        """Commit an inbound message; return only once it is durable."""
        ...

    async def delivery_report(self, carrier: str, report: CarrierReport) -> None:
        """Commit a delivery receipt; return only once it is durable."""
        ...

    async def hold_segment(self, carrier: str, segment: InboundSegment) -> list[InboundSegment]:
        """Keep one segment of a concatenated message durably, so that the carrier may
        acknowledge it; every segment of its message held so far, in index order.

        A repeat (same index, same payload: the network redelivered it) changes nothing; a
        different payload at a held index means the reference was reused: the old message's
        segments are dropped. Segments never completed are dropped after a while."""
        ...


class SmsCarrier(Protocol):
    """One carrier link (an SMPP bind, or the built-in simulator)."""

    name: str

    async def start(self, sink: CarrierSink) -> None:
        """Begin connecting (in the background; never blocks on the network)."""
        ...

    async def stop(self) -> None: ...

    @property
    def is_up(self) -> bool:
        """True when ``submit`` can be expected to reach the network now."""
        ...

    async def wait_up(self) -> None:
        """Return when the link is up (the sender parks here during an outage)."""
        ...

    async def submit(self, message: OutboundSms) -> SubmitResult:
        """Hand one message to the network; raises CarrierUnavailableError (retry later)
        or CarrierRejectedError (give up: the message failed)."""
        ...
