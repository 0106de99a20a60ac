"""MemorySmsStore: the SmsStore (store.py) in process memory, for tests and a single node.

A unit of work holds the store's lock (one writer, as on SQLite) and works on the live
tables; when its block raises, the tables it started from are put back, so nothing of a
failed unit of work (nor its events) remains. Committed events are kept in ``events``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from switchboard.sms.carrier import InboundSegment, ReportStatus, SegmentKey
from switchboard.sms.events import SmsEvent
from switchboard.sms.models import MessageOrigin, MessageState, QueuedMessage, SmsMessage
from switchboard.sms.store import DuplicateMessageError, EarlyReport, NewMessage, QueueDepth


@dataclass(frozen=True, slots=True)
class _Stored:
    message: SmsMessage
    origin: MessageOrigin
    dedupe_key: str | None
    next_attempt_ms: int
    claim: str | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class _Segment:
    message_id: str
    status: ReportStatus | None = None


@dataclass(slots=True)
class _Tables:
    messages: dict[str, _Stored]  # insertion order is the queue's order
    segments: dict[tuple[str, str], _Segment]  # (carrier, carrier message id)
    early: dict[tuple[str, str], EarlyReport]
    opt_outs: dict[tuple[str, str], bool]  # (sender, recipient)
    held: dict[tuple[str, SegmentKey, int], InboundSegment]  # (carrier, key, index)

    def copy(self) -> _Tables:
        # Values are frozen: copying the dicts is a snapshot.
        return _Tables(
            dict(self.messages),
            dict(self.segments),
            dict(self.early),
            dict(self.opt_outs),
            dict(self.held),
        )


class MemorySmsStore:
    def __init__(self) -> None:
        self._tables = _Tables({}, {}, {}, {}, {})
        self._lock = asyncio.Lock()
        self.events: list[SmsEvent] = []  # committed, in order

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemorySmsTransaction]:
        async with self._lock:
            before = self._tables.copy()
            tx = MemorySmsTransaction(self._tables)
            try:
                yield tx
            except BaseException:
                self._tables = before
                raise
            self.events.extend(tx.events)

    async def get(self, message_id: str) -> SmsMessage | None:
        stored = self._tables.messages.get(message_id)
        return None if stored is None else stored.message

    async def opted_out(self, sender: str, recipients: Sequence[str]) -> set[str]:
        return _opted_out(self._tables, sender, recipients)

    async def claim(
        self, carrier: str, now_ms: int, limit: int, lease_ms: int
    ) -> list[QueuedMessage]:
        token = uuid.uuid4().hex
        async with self._lock:
            due = [
                s
                for s in self._tables.messages.values()
                if _queued(s, carrier) and s.next_attempt_ms <= now_ms
            ][:limit]
            for stored in due:
                self._tables.messages[stored.message.id] = replace(
                    stored, claim=token, next_attempt_ms=now_ms + lease_ms
                )
        return [_queued_message(s.message, token) for s in due]

    async def defer(self, message: QueuedMessage, until_ms: int, now_ms: int) -> None:
        async with self._lock:
            stored = self._tables.messages.get(message.id)
            if stored is not None and stored.claim == message.claim:
                self._tables.messages[message.id] = replace(
                    stored, claim=None, next_attempt_ms=until_ms
                )

    async def next_due_ms(self, carrier: str) -> int | None:
        due = [s.next_attempt_ms for s in self._tables.messages.values() if _queued(s, carrier)]
        return min(due, default=None)

    async def queue_depths(self) -> dict[str, QueueDepth]:
        depths: dict[str, QueueDepth] = {}
        for stored in self._tables.messages.values():
            message = stored.message
            if message.state is not MessageState.QUEUED:
                continue
            known = depths.get(message.carrier)
            depths[message.carrier] = QueueDepth(
                (known.messages if known else 0) + 1,
                min(message.created_ms, known.oldest_created_ms if known else message.created_ms),
            )
        return depths

    async def hold_segment(
        self, carrier: str, segment: InboundSegment, expire_before_ms: int
    ) -> list[InboundSegment]:
        async with self._lock:
            held = self._tables.held
            for place in [p for p, s in held.items() if s.received_ms < expire_before_ms]:
                del held[place]
            place = (carrier, segment.key, segment.index)
            before = held.get(place)
            if before is None or before.payload != segment.payload:
                if before is not None:  # the reference was reused: a new message begins
                    for stale in [p for p in held if p[:2] == place[:2]]:
                        del held[stale]
                held[place] = segment
            siblings = [s for p, s in held.items() if p[:2] == place[:2]]
            return sorted(siblings, key=lambda s: s.index)


class MemorySmsTransaction:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables
        self.events: list[SmsEvent] = []

    def emit(self, *events: SmsEvent) -> None:
        self.events.extend(events)

    async def release_segments(self, carrier: str, key: SegmentKey) -> None:
        for place in [p for p in self._t.held if p[:2] == (carrier, key)]:
            del self._t.held[place]

    async def message_by_dedupe_key(self, key: str) -> SmsMessage | None:
        for stored in self._t.messages.values():
            if stored.dedupe_key == key:
                return stored.message
        return None

    async def message_ids_by_dedupe_keys(self, keys: Sequence[str]) -> dict[str, str]:
        wanted = set(keys)
        return {
            s.dedupe_key: s.message.id
            for s in self._t.messages.values()
            if s.dedupe_key is not None and s.dedupe_key in wanted
        }

    async def insert_messages(self, messages: Sequence[NewMessage]) -> None:
        taken = {s.dedupe_key for s in self._t.messages.values() if s.dedupe_key is not None}
        for new in messages:
            if new.id in self._t.messages or (new.dedupe_key and new.dedupe_key in taken):
                raise DuplicateMessageError("A message id or dedupe key is taken.")
            if new.dedupe_key:
                taken.add(new.dedupe_key)
            self._t.messages[new.id] = _Stored(
                message=SmsMessage(
                    id=new.id,
                    direction=new.direction,
                    state=new.state,
                    sender=new.sender,
                    recipient=new.recipient,
                    text=new.text,
                    tag=new.tag,
                    want_report=new.want_report,
                    carrier=new.carrier,
                    segments=new.segments,
                    segments_delivered=0,
                    segments_failed=0,
                    created_ms=new.created_ms,
                    done_ms=new.done_ms,
                    detail=None,
                ),
                origin=new.origin,
                dedupe_key=new.dedupe_key,
                next_attempt_ms=new.created_ms,
            )

    async def opted_out(self, sender: str, recipients: Sequence[str]) -> set[str]:
        return _opted_out(self._t, sender, recipients)

    async def set_opt_out(self, sender: str, recipient: str, opted_out: bool, now_ms: int) -> None:
        self._t.opt_outs[(sender, recipient)] = opted_out

    async def mark_submitted(
        self, message: QueuedMessage, carrier_ids: Sequence[str], now_ms: int
    ) -> bool:
        stored = self._t.messages.get(message.id)
        if stored is None or stored.claim != message.claim:
            return False
        self._t.messages[message.id] = replace(
            stored,
            message=replace(
                stored.message, state=MessageState.SUBMITTED, segments=len(carrier_ids)
            ),
            claim=None,
            attempts=stored.attempts + 1,
        )
        for cid in carrier_ids:
            self._t.segments[(message.carrier, cid)] = _Segment(message.id)
        return True

    async def take_early_reports(
        self, carrier: str, carrier_ids: Sequence[str]
    ) -> list[EarlyReport]:
        return [
            self._t.early.pop((carrier, cid))
            for cid in carrier_ids
            if (carrier, cid) in self._t.early
        ]

    async def apply_segment_report(
        self, carrier: str, carrier_id: str, status: ReportStatus, detail: str, now_ms: int
    ) -> SmsMessage | None:
        key = (carrier, carrier_id)
        segment = self._t.segments.get(key)
        if segment is None:
            self._t.early.setdefault(key, EarlyReport(carrier_id, status, detail, now_ms))
            return None
        if segment.status is not None:
            return None
        self._t.segments[key] = replace(segment, status=status)
        stored = self._t.messages.get(segment.message_id)
        if stored is None:
            return None
        message = stored.message
        if status is ReportStatus.DELIVERED:
            message = replace(message, segments_delivered=message.segments_delivered + 1)
        else:
            message = replace(message, segments_failed=message.segments_failed + 1)
        reported = message.segments_delivered + message.segments_failed
        final = None
        if message.state is MessageState.SUBMITTED and reported >= (message.segments or 0):
            state = MessageState.FAILED if message.segments_failed else MessageState.DELIVERED
            message = final = replace(message, state=state, done_ms=now_ms, detail=detail)
        self._t.messages[message.id] = replace(stored, message=message)
        return final

    async def fail(self, message: QueuedMessage, detail: str, now_ms: int) -> SmsMessage | None:
        stored = self._t.messages.get(message.id)
        if stored is None or stored.claim != message.claim:
            return None
        failed = replace(stored.message, state=MessageState.FAILED, done_ms=now_ms, detail=detail)
        self._t.messages[message.id] = replace(
            stored, message=failed, claim=None, attempts=stored.attempts + 1
        )
        return failed


def _queued(stored: _Stored, carrier: str) -> bool:
    return stored.message.state is MessageState.QUEUED and stored.message.carrier == carrier


def _queued_message(message: SmsMessage, claim: str) -> QueuedMessage:
    return QueuedMessage(
        id=message.id,
        carrier=message.carrier,
        sender=message.sender,
        recipient=message.recipient,
        text=message.text,
        want_report=message.want_report,
        created_ms=message.created_ms,
        claim=claim,
    )


def _opted_out(tables: _Tables, sender: str, recipients: Sequence[str]) -> set[str]:
    return {r for r in recipients if tables.opt_outs.get((sender, r), False)}
