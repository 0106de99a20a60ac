"""What the simulator carrier stores: handsets' inboxes, their behaviour, what it owes us.

Shared by the running simulator (sms/simulator.py), the admin API and ``switchboard sim``
(which works on the database directly, like ``switchboard events``): an inbound message
injected from the shell is a pending item that the running node's simulator picks up.

    inject_inbound / deliver_to_handset (receipts owed; once per carrier id) ─▶ pending items
    claim_due (leased) ─▶ handed to the sink ─▶ done (removed; fenced by the claim)

Implementations: SqlSimulatorStore (simstore_sql.py), MemorySimulatorStore
(simstore_memory.py); tests/contract/test_simulator_store_contract.py covers both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class HandsetReport(StrEnum):
    """What a simulated handset does with a message sent to it."""

    DELIVERED = "delivered"  # a DELIVRD receipt (the default)
    FAILED = "failed"  # an UNDELIV receipt
    NONE = "none"  # no receipt ever
    REJECT = "reject"  # the network refuses the submit


class PendingKind(StrEnum):
    INBOUND = "inbound"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class HandsetBehaviour:
    number: str
    report: HandsetReport = HandsetReport.DELIVERED
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class InboxMessage:
    carrier_message_id: str
    sender: str
    recipient: str
    text: str
    segments: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class PendingItem:
    seq: int
    kind: PendingKind
    payload: dict[str, Any]
    claim: str


@dataclass(frozen=True, slots=True)
class OwedReceipt:
    carrier_message_id: str
    status: str  # a ReportStatus value
    due_ms: int


class SimulatorStore(Protocol):
    async def behaviour(self, number: str) -> HandsetBehaviour:
        """How the handset answers (the default behaviour when it was never set)."""
        ...

    async def set_behaviour(self, behaviour: HandsetBehaviour) -> None: ...

    async def deliver_to_handset(
        self, message: InboxMessage, receipts: Sequence[OwedReceipt]
    ) -> None:
        """An outbound message reaches the handset, with the receipts owed for its segments;
        both or neither. A message the handset already has (the same carrier id: submitted
        again after a crash between the submit and its record) changes nothing."""
        ...

    async def inject_inbound(self, sender: str, recipient: str, text: str, now_ms: int) -> str:
        """A handset sends us a message; returns the network's id for it."""
        ...

    async def inbox(self, number: str | None = None, limit: int = 100) -> list[InboxMessage]:
        """The newest ``limit`` messages handsets received (of ``number``), oldest first."""
        ...

    async def claim_due(self, now_ms: int, limit: int, lease_ms: int) -> list[PendingItem]:
        """Pending items due by ``now_ms``, oldest first, leased until ``now_ms + lease_ms``."""
        ...

    async def done(self, item: PendingItem) -> None:
        """Remove a handed-over item (nothing, if its lease was lost to another claim)."""
        ...

    async def next_due_ms(self) -> int | None: ...
