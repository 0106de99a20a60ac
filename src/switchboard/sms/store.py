"""What SmsService and SmsSender ask of storage: the queue, message states, receipts, opt-outs.

    SmsStore ── transaction() ─▶ SmsUnitOfWork: reads and writes that commit together,
                                                 with the events emitted in it
             ── claim / defer / next_due_ms / get / opted_out: one step each
             ── hold_segment: a segment of a concatenated inbound message, durably;
                the unit of work that stores the whole message releases its segments

The queue: a queued message is due at its next attempt time. A sender claims due messages
with a fresh claim token that leases them (their due time moves to the lease's end), so a
node that dies mid-submit leaves messages that fall due again when the lease runs out. Every
outcome (submitted, failed, deferred) is fenced by the claim: a late answer after a lost
lease changes nothing. Implementations: SqlSmsStore (store_sql.py, SQLite and PostgreSQL)
and MemorySmsStore (store_memory.py); tests/contract/test_sms_store_contract.py holds both
to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from switchboard.core.errors import SwitchboardError
from switchboard.sms.carrier import InboundSegment, ReportStatus, SegmentKey
from switchboard.sms.events import SmsEvent
from switchboard.sms.models import Direction, MessageOrigin, MessageState, QueuedMessage, SmsMessage


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store: outbound (queued, due at once) or inbound (received, final)."""

    id: str
    direction: Direction
    origin: MessageOrigin
    state: MessageState
    carrier: str
    sender: str
    recipient: str
    text: str
    want_report: bool
    created_ms: int
    tag: str | None = None
    # Outbound: "send:<repeatability id>"; inbound: "in:<carrier>:<carrier id>". Unique.
    dedupe_key: str | None = None
    segments: int | None = None
    done_ms: int | None = None


@dataclass(frozen=True, slots=True)
class EarlyReport:
    """A segment's receipt that arrived before its submit was recorded."""

    carrier_message_id: str
    status: ReportStatus
    detail: str
    received_ms: int


@dataclass(frozen=True, slots=True)
class QueueDepth:
    messages: int
    oldest_created_ms: int


class DuplicateMessageError(SwitchboardError):
    """A message id or dedupe key is taken; the unit of work rolls back."""

    status = 409
    code = "Conflict"


class SmsUnitOfWork(Protocol):
    """Reads and writes of one transaction; the service decides what to write."""

    async def message_by_dedupe_key(self, key: str) -> SmsMessage | None: ...

    async def message_ids_by_dedupe_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """Message id by dedupe key, for the keys that have a message."""
        ...

    async def insert_messages(self, messages: Sequence[NewMessage]) -> None:
        """DuplicateMessageError when an id or dedupe key is taken."""
        ...

    async def opted_out(self, sender: str, recipients: Sequence[str]) -> set[str]:
        """Those of ``recipients`` who opted out of messages from ``sender``."""
        ...

    async def set_opt_out(
        self, sender: str, recipient: str, opted_out: bool, now_ms: int
    ) -> None: ...

    async def mark_submitted(
        self, message: QueuedMessage, carrier_ids: Sequence[str], now_ms: int
    ) -> bool:
        """Record a successful submit (one carrier id per segment, fenced by the claim);
        False if the claim was lost."""
        ...

    async def take_early_reports(
        self, carrier: str, carrier_ids: Sequence[str]
    ) -> list[EarlyReport]:
        """Remove and return the early receipts kept for these segments."""
        ...

    async def apply_segment_report(
        self, carrier: str, carrier_id: str, status: ReportStatus, detail: str, now_ms: int
    ) -> SmsMessage | None:
        """Count one segment's receipt; the message when this receipt made it final.

        A receipt for an id not recorded yet is kept as an early report; a repeated receipt
        for a segment is ignored (carriers redeliver). One failed segment fails the message."""
        ...

    async def fail(self, message: QueuedMessage, detail: str, now_ms: int) -> SmsMessage | None:
        """The carrier refused the message (or it expired): final, fenced by the claim; None
        if the claim was lost."""
        ...

    async def release_segments(self, carrier: str, key: SegmentKey) -> None:
        """Delete the held segments of a message (it was joined and is stored now)."""
        ...

    def emit(self, *events: SmsEvent) -> None:
        """Publish ``events`` if and only if this unit of work commits."""
        ...


class SmsStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[SmsUnitOfWork]:
        """A unit of work: committed when the block ends, rolled back when it raises."""
        ...

    async def get(self, message_id: str) -> SmsMessage | None: ...

    async def opted_out(self, sender: str, recipients: Sequence[str]) -> set[str]: ...

    async def claim(
        self, carrier: str, now_ms: int, limit: int, lease_ms: int
    ) -> list[QueuedMessage]:
        """Due queued messages of ``carrier``, oldest first, leased to the caller."""
        ...

    async def defer(self, message: QueuedMessage, until_ms: int, now_ms: int) -> None:
        """Put a claimed message back in the queue, due at ``until_ms`` (fenced by the claim)."""
        ...

    async def next_due_ms(self, carrier: str) -> int | None:
        """When the next queued message of ``carrier`` falls due; None when none is queued."""
        ...

    async def queue_depths(self) -> dict[str, QueueDepth]:
        """Per carrier with messages waiting: how many are queued (claimed or not), and when
        the oldest was created (for metrics)."""
        ...

    async def hold_segment(
        self, carrier: str, segment: InboundSegment, expire_before_ms: int
    ) -> list[InboundSegment]:
        """Store one segment of a concatenated inbound message (durable on return); every
        held segment of its message, in index order.

        The same index again with the same payload changes nothing (a redelivery); with
        another payload the reference was reused, and the older segments of that key are
        dropped. Segments received before ``expire_before_ms`` (of any message) are dropped.
        Holds of one message are serialized, so that one of them sees it whole."""
        ...
