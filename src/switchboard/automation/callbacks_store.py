"""The callback queue: per call connection, a gap-free sequence of batches delivered in order.

    enqueue ─▶ stream (one per call connection: last_seq, next_attempt_ms, lease)
                 └─ batches seq 1, 2, 3 … (one POST each: url + rendered body)

    claim ─▶ due streams, leased to the caller (next_attempt_ms = the lease's end), each with
             its head batch (lowest seq) ─┬─ settle (delivered or dropped): head removed; the
                                          │   holder keeps the lease and gets the next batch
                                          │   (one transaction per batch), or the stream goes
                                          │   idle
                                          └─ retry_later: the same head, due later

Head of line per call, calls in parallel: only a stream's head is ever handed out, and only to
the one holder of the stream's lease, so a call's callbacks leave in sequence order even with
several nodes. Outcomes are fenced by the claim token: after a lost lease they change nothing
(and the batch is delivered again: at least once, de-duplicate on the event ids).
An idle stream (``next_attempt_ms`` unset) has nothing owed; ``purge_idle`` forgets it.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CallbackBatch:
    """What one enqueue writes: one POST's worth of events for one call connection."""

    call_connection_id: str
    url: str
    body: bytes  # the rendered JSON array (callbacks_events.render_batch)
    event_count: int
    enqueued_ms: int


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    call_connection_id: str
    seq: int
    url: str
    body: bytes
    enqueued_ms: int
    attempts: int  # made before this claim
    claim_token: str


@dataclass(frozen=True, slots=True)
class Settled:
    held: bool  # False: the lease was lost meanwhile; nothing changed
    next: ClaimedBatch | None = None  # the call's next batch, still leased (when asked for)


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    attempted_ms: int
    status: int | None  # None: no HTTP answer
    error: str


class CallbackQueue(Protocol):
    async def enqueue(self, batch: CallbackBatch) -> int:
        """Store ``batch`` durably (committed when this returns); its sequence number."""
        ...

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[ClaimedBatch]:
        """The head batch of up to ``limit`` due streams, leased until ``now_ms + lease_ms``."""
        ...

    async def settle(
        self, claimed: ClaimedBatch, now_ms: int, *, lease_ms: int | None = None
    ) -> Settled:
        """The head is done with (delivered, or dropped): remove it. With ``lease_ms`` the
        stream stays leased (``now_ms + lease_ms``) and its next batch, if any, comes back in
        the same transaction; else the stream is released (the next batch due now)."""
        ...

    async def retry_later(
        self, claimed: ClaimedBatch, attempt: CallbackAttempt, next_attempt_ms: int
    ) -> bool:
        """Keep the head; try it again at ``next_attempt_ms``. False if the lease was lost."""
        ...

    async def next_due_ms(self) -> int | None:
        """When the earliest stream with something owed falls due (None: nothing owed)."""
        ...

    async def backlog(self, call_connection_id: str) -> int:
        """Batches still owed for one call connection."""
        ...

    async def purge_idle(self, before_ms: int) -> int:
        """Forget idle streams untouched since ``before_ms``; how many."""
        ...


@dataclass
class _Batch:
    seq: int
    batch: CallbackBatch
    attempts: int = 0
    last: CallbackAttempt | None = None


@dataclass
class _Stream:
    last_seq: int = 0
    next_attempt_ms: int | None = None
    claim_token: str | None = None
    updated_ms: int = 0
    batches: deque[_Batch] = field(default_factory=deque)


class MemoryCallbackQueue:
    """One process, nothing durable: unit tests and the memory contract."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}

    async def enqueue(self, batch: CallbackBatch) -> int:
        stream = self._streams.setdefault(batch.call_connection_id, _Stream())
        stream.last_seq += 1
        stream.batches.append(_Batch(stream.last_seq, batch))
        stream.updated_ms = batch.enqueued_ms
        if stream.next_attempt_ms is None:
            stream.next_attempt_ms = batch.enqueued_ms
        return stream.last_seq

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[ClaimedBatch]:
        due = sorted(
            (
                (stream.next_attempt_ms, call_id)
                for call_id, stream in self._streams.items()
                if stream.next_attempt_ms is not None and stream.next_attempt_ms <= now_ms
            ),
        )[: max(limit, 0)]
        claimed = []
        for _, call_id in due:
            stream = self._streams[call_id]
            token = uuid.uuid4().hex
            stream.claim_token = token
            stream.next_attempt_ms = now_ms + lease_ms
            claimed.append(_claimed(call_id, stream, token))
        return claimed

    async def settle(
        self, claimed: ClaimedBatch, now_ms: int, *, lease_ms: int | None = None
    ) -> Settled:
        stream = self._held(claimed)
        if stream is None:
            return Settled(False)
        stream.batches.popleft()
        stream.updated_ms = now_ms
        if lease_ms is not None and stream.batches:
            stream.next_attempt_ms = now_ms + lease_ms
            return Settled(True, _claimed(claimed.call_connection_id, stream, claimed.claim_token))
        stream.claim_token = None
        stream.next_attempt_ms = now_ms if stream.batches else None
        return Settled(True)

    async def retry_later(
        self, claimed: ClaimedBatch, attempt: CallbackAttempt, next_attempt_ms: int
    ) -> bool:
        stream = self._held(claimed)
        if stream is None:
            return False
        head = stream.batches[0]
        head.attempts = claimed.attempts + 1
        head.last = attempt
        stream.claim_token = None
        stream.next_attempt_ms = next_attempt_ms
        stream.updated_ms = attempt.attempted_ms
        return True

    async def next_due_ms(self) -> int | None:
        due = [s.next_attempt_ms for s in self._streams.values() if s.next_attempt_ms is not None]
        return min(due, default=None)

    async def backlog(self, call_connection_id: str) -> int:
        stream = self._streams.get(call_connection_id)
        return 0 if stream is None else len(stream.batches)

    async def purge_idle(self, before_ms: int) -> int:
        idle = [
            call_id
            for call_id, stream in self._streams.items()
            if stream.next_attempt_ms is None and stream.updated_ms < before_ms
        ]
        for call_id in idle:
            del self._streams[call_id]
        return len(idle)

    def _held(self, claimed: ClaimedBatch) -> _Stream | None:
        stream = self._streams.get(claimed.call_connection_id)
        if stream is None or stream.claim_token != claimed.claim_token:
            return None
        if not stream.batches or stream.batches[0].seq != claimed.seq:
            return None
        return stream


def _claimed(call_id: str, stream: _Stream, token: str) -> ClaimedBatch:
    head = stream.batches[0]
    batch = head.batch
    return ClaimedBatch(
        call_id, head.seq, batch.url, batch.body, batch.enqueued_ms, head.attempts, token
    )
