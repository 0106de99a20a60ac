"""NumberSlot: one inventory number with its state, as the in-memory stores keep it.

available ──hold(id, until)──▶ held ──bought()──▶ purchased ──(release)──▶ available
    ▲                            │ until passes, unheld()
    └────────────────────────────┘
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    InventoryNumber,
    NumberState,
    PurchasedNumber,
)


@dataclass(frozen=True, slots=True)
class NumberSlot:
    number: InventoryNumber
    hold_id: str | None = None  # a search or reservation id
    hold_until_ms: int | None = None
    purchased_ms: int | None = None
    purchased_capabilities: Capabilities | None = None
    purchased_assignment: AssignmentType | None = None

    def available(self, now_ms: int) -> bool:
        """Not purchased, and not held by a search or reservation that is still running."""
        return self.purchased_ms is None and (
            self.hold_id is None or (self.hold_until_ms or 0) <= now_ms
        )

    def state(self, now_ms: int) -> NumberState:
        if self.purchased_ms is not None:
            return NumberState.PURCHASED
        if self.hold_id is not None and (self.hold_until_ms or 0) > now_ms:
            return NumberState.HELD
        return NumberState.AVAILABLE

    def held_by(self, hold_id: str, now_ms: int) -> bool:
        return (
            self.purchased_ms is None
            and self.hold_id == hold_id
            and (self.hold_until_ms or 0) > now_ms
        )

    def held(self, hold_id: str, until_ms: int) -> NumberSlot:
        return replace(self, hold_id=hold_id, hold_until_ms=until_ms)

    def unheld(self) -> NumberSlot:
        return replace(self, hold_id=None, hold_until_ms=None)

    def bought(
        self, capabilities: Capabilities, assignment: AssignmentType, now_ms: int
    ) -> NumberSlot:
        return NumberSlot(self.number, None, None, now_ms, capabilities, assignment)

    def purchased(self) -> PurchasedNumber | None:
        if (
            self.purchased_ms is None
            or self.purchased_capabilities is None
            or self.purchased_assignment is None
        ):
            return None
        return PurchasedNumber(
            self.number, self.purchased_capabilities, self.purchased_assignment, self.purchased_ms
        )
