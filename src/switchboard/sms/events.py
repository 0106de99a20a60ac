"""What the SMS domain tells the world, as typed events (rendered for Event Grid at the edge).

    SmsService ── tx.emit(SmsReceived | SmsDeliveryReportReceived) ──▶ committed with the change
                                                                     ──▶ sms/eventgrid.py renders

An event exists if and only if the change it describes was committed: the store's unit of
work publishes what was emitted in it on commit, and drops it on rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from switchboard.sms.models import MessageState, SmsMessage


class DeliveryOutcome(StrEnum):
    DELIVERED = "Delivered"
    FAILED = "Failed"


@dataclass(frozen=True, slots=True)
class SmsReceived:
    """A handset's message reached one of our numbers."""

    message_id: str
    sender: str  # the handset (E.164)
    recipient: str  # our number (E.164)
    text: str
    segments: int
    received_ms: int

    @classmethod
    def of(cls, message: SmsMessage) -> SmsReceived:
        return cls(
            message_id=message.id,
            sender=message.sender,
            recipient=message.recipient,
            text=message.text,
            segments=message.segments or 1,
            received_ms=message.created_ms,
        )


@dataclass(frozen=True, slots=True)
class SmsDeliveryReportReceived:
    """The final outcome of an outbound message whose sender asked for a delivery report."""

    message_id: str
    sender: str  # our number
    recipient: str  # the handset
    outcome: DeliveryOutcome
    detail: str  # the network's words, e.g. "DELIVRD" or "UNDELIV err:001"
    segments_delivered: int
    segments_failed: int
    done_ms: int
    tag: str | None

    @classmethod
    def of(cls, message: SmsMessage) -> SmsDeliveryReportReceived:
        """From a message in a final state (delivered or failed)."""
        delivered = message.state is MessageState.DELIVERED
        return cls(
            message_id=message.id,
            sender=message.sender,
            recipient=message.recipient,
            outcome=DeliveryOutcome.DELIVERED if delivered else DeliveryOutcome.FAILED,
            detail=message.detail or "",
            segments_delivered=message.segments_delivered,
            segments_failed=message.segments_failed,
            done_ms=message.done_ms or message.created_ms,
            tag=message.tag,
        )


SmsEvent = SmsReceived | SmsDeliveryReportReceived
