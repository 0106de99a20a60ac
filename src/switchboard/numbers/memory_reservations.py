"""MemoryReservationStore: reservations in process memory, over MemoryNumbers' slots.

The same rules as reservations.py (see its diagram): each change extends the expiry by 15
minutes, never beyond 2 hours after creation, and the reservation's numbers are held until
that same instant. Every check comes before the first change, so a refused call changes
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace

from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    NumberFailure,
    Reservation,
    ReservationNotActiveError,
    ReservationNotFoundError,
    ReservationStatus,
    ReservedNumber,
    number_id,
)
from switchboard.numbers.reservations import RESERVATION_EXTENSION_MS, next_expiry
from switchboard.numbers.slots import NumberSlot


@dataclass(frozen=True, slots=True)
class _Item:
    capabilities: Capabilities
    assignment_type: AssignmentType


@dataclass(slots=True)
class Reservations:
    """The reservation table (numbers excluded) and each one's items, by E.164."""

    headers: dict[str, Reservation] = field(default_factory=dict)
    items: dict[str, dict[str, _Item]] = field(default_factory=dict)


class MemoryReservationStore:
    def __init__(self, slots: MutableMapping[str, NumberSlot], table: Reservations) -> None:
        self._slots = slots
        self._t = table

    async def get(self, reservation_id: str) -> Reservation | None:
        return self._load(reservation_id)

    async def page(self, skip: int, limit: int) -> list[Reservation]:
        listed = sorted(self._t.headers.values(), key=lambda r: (r.created_ms, r.id))
        return listed[skip : skip + limit]

    async def change(
        self,
        reservation_id: str,
        additions: Mapping[str, tuple[Capabilities | None, AssignmentType | None]],
        removals: Sequence[str],
        now_ms: int,
    ) -> tuple[Reservation, bool, list[NumberFailure]]:
        header = self._t.headers.get(reservation_id)
        created = header is None
        if header is None:
            header = Reservation(
                reservation_id, now_ms, next_expiry(now_ms, now_ms), ReservationStatus.ACTIVE, ()
            )
        else:
            _require_active(header, now_ms)
        self._t.headers[reservation_id] = header
        items = self._t.items.setdefault(reservation_id, {})
        until = next_expiry(header.created_ms, now_ms)
        for phone_number in removals:
            items.pop(phone_number, None)
            slot = self._slots.get(phone_number)
            if slot is not None and slot.hold_id == reservation_id:
                self._slots[phone_number] = slot.unheld()
        failures: list[NumberFailure] = []
        for phone_number, (capabilities, assignment) in additions.items():
            failure = self._add(reservation_id, phone_number, capabilities, assignment, now_ms)
            if failure is not None:
                failures.append(failure)
        self._t.headers[reservation_id] = replace(header, expires_ms=until)
        for phone_number, slot in list(self._slots.items()):
            if slot.hold_id == reservation_id and slot.purchased_ms is None:
                self._slots[phone_number] = slot.held(reservation_id, until)
        reservation = self._load(reservation_id)
        assert reservation is not None
        return reservation, created, failures

    def _add(
        self,
        reservation_id: str,
        phone_number: str,
        capabilities: Capabilities | None,
        assignment: AssignmentType | None,
        now_ms: int,
    ) -> NumberFailure | None:
        nid = number_id(phone_number)
        slot = self._slots.get(phone_number)
        if slot is None:
            return NumberFailure(
                nid, "PhoneNumberNotFound", f"{phone_number} is not in the inventory."
            )
        offered = slot.number.capabilities
        wanted = capabilities or offered
        if not wanted.within(offered):
            return NumberFailure(
                nid,
                "InvalidCapabilities",
                f"{phone_number} offers calling {offered.calling.value} and sms "
                f"{offered.sms.value}.",
            )
        if slot.hold_id != reservation_id:
            if not slot.available(now_ms):
                return NumberFailure(
                    nid, "PhoneNumberNotAvailable", f"{phone_number} is not available."
                )
            self._slots[phone_number] = slot.held(reservation_id, now_ms + RESERVATION_EXTENSION_MS)
        self._t.items[reservation_id][phone_number] = _Item(
            wanted, assignment or slot.number.assignment_type
        )
        return None

    async def delete(self, reservation_id: str, now_ms: int) -> None:
        header = self._t.headers.get(reservation_id)
        if header is None:
            raise ReservationNotFoundError(f"Reservation {reservation_id} was not found.")
        _require_active(header, now_ms)
        self._free(reservation_id)
        self._t.items.pop(reservation_id, None)
        del self._t.headers[reservation_id]

    async def purchase(self, reservation_id: str, now_ms: int) -> Reservation:
        reservation = self._load(reservation_id)
        if reservation is None:
            raise ReservationNotFoundError(f"Reservation {reservation_id} was not found.")
        _require_active(reservation, now_ms)
        if not reservation.numbers:
            raise ReservationNotActiveError(
                f"Reservation {reservation_id} holds no phone numbers to purchase."
            )
        for reserved in reservation.numbers:
            phone_number = reserved.number.phone_number
            slot = self._slots[phone_number]
            if slot.hold_id == reservation_id and slot.purchased_ms is None:
                self._slots[phone_number] = slot.bought(
                    reserved.capabilities, reserved.assignment_type, now_ms
                )
        header = self._t.headers[reservation_id]
        self._t.headers[reservation_id] = replace(header, status=ReservationStatus.COMPLETED)
        done = self._load(reservation_id)
        assert done is not None
        return done

    def _free(self, reservation_id: str) -> None:
        for phone_number, slot in list(self._slots.items()):
            if slot.hold_id == reservation_id and slot.purchased_ms is None:
                self._slots[phone_number] = slot.unheld()

    def _load(self, reservation_id: str) -> Reservation | None:
        header = self._t.headers.get(reservation_id)
        if header is None:
            return None
        items = self._t.items.get(reservation_id, {})
        numbers = tuple(
            ReservedNumber(self._slots[p].number, item.capabilities, item.assignment_type)
            for p, item in sorted(items.items())
            if p in self._slots  # a number removed from the inventory leaves the basket
        )
        return replace(header, numbers=numbers)


def _require_active(reservation: Reservation, now_ms: int) -> None:
    status = reservation.status_at(now_ms)
    if status is not ReservationStatus.ACTIVE:
        raise ReservationNotActiveError(
            f"Reservation {reservation.id} is {status.value}; only an active reservation "
            "can be changed, deleted or purchased."
        )
