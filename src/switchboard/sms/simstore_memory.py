"""MemorySimulatorStore: the SimulatorStore (simstore.py) in process memory, for tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from switchboard.sms.simstore import (
    HandsetBehaviour,
    InboxMessage,
    OwedReceipt,
    PendingItem,
    PendingKind,
)


@dataclass(frozen=True, slots=True)
class _Pending:
    kind: PendingKind
    payload: dict[str, Any]
    due_ms: int
    claim: str | None = None


class MemorySimulatorStore:
    def __init__(self) -> None:
        self._behaviours: dict[str, HandsetBehaviour] = {}
        self._inbox: list[InboxMessage] = []
        self._pending: dict[int, _Pending] = {}  # by sequence number, oldest first
        self._seq = 0

    def _add(self, kind: PendingKind, payload: dict[str, Any], due_ms: int) -> None:
        self._seq += 1
        self._pending[self._seq] = _Pending(kind, payload, due_ms)

    async def behaviour(self, number: str) -> HandsetBehaviour:
        return self._behaviours.get(number, HandsetBehaviour(number))

    async def set_behaviour(self, behaviour: HandsetBehaviour) -> None:
        self._behaviours[behaviour.number] = behaviour

    async def deliver_to_handset(
        self, message: InboxMessage, receipts: Sequence[OwedReceipt]
    ) -> None:
        if any(m.carrier_message_id == message.carrier_message_id for m in self._inbox):
            return
        self._inbox.append(message)
        for receipt in receipts:
            payload = {"carrierMessageId": receipt.carrier_message_id, "status": receipt.status}
            self._add(PendingKind.REPORT, payload, receipt.due_ms)

    async def inject_inbound(self, sender: str, recipient: str, text: str, now_ms: int) -> str:
        carrier_id = uuid.uuid4().hex
        payload = {"from": sender, "to": recipient, "text": text, "carrierMessageId": carrier_id}
        self._add(PendingKind.INBOUND, payload, now_ms)
        return carrier_id

    async def inbox(self, number: str | None = None, limit: int = 100) -> list[InboxMessage]:
        mine = [m for m in self._inbox if number is None or m.recipient == number]
        return mine[-limit:] if limit > 0 else []

    async def claim_due(self, now_ms: int, limit: int, lease_ms: int) -> list[PendingItem]:
        token = uuid.uuid4().hex
        due = [(seq, p) for seq, p in self._pending.items() if p.due_ms <= now_ms][:limit]
        for seq, pending in due:
            self._pending[seq] = replace(pending, claim=token, due_ms=now_ms + lease_ms)
        return [PendingItem(seq, p.kind, dict(p.payload), token) for seq, p in due]

    async def done(self, item: PendingItem) -> None:
        pending = self._pending.get(item.seq)
        if pending is not None and pending.claim == item.claim:
            del self._pending[item.seq]

    async def next_due_ms(self) -> int | None:
        return min((p.due_ms for p in self._pending.values()), default=None)
