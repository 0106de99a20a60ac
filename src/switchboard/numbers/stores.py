"""What NumbersService asks of storage, as Protocols; each method is its own unit of work.

    InventoryStore   carriers and the numbers they provide (config, CLI)      store.py
    NumberCatalog    what is on offer now: derived from the available numbers catalog.py
    HoldStore        search holds, purchases, capabilities, releases          holds.py
    ReservationStore reservations and the numbers they hold                    reservations.py
    OperationLog     the long-running operations the API reports              storage/operations.py

All four number stores work on the same inventory: a number is available, held (by a search
or a reservation, until its hold expires) or purchased, and every change re-checks that in
the same step, so two searches (or a search and a reservation) never take one number.
A change of several numbers (a search's holds, a purchase, a reservation change) is all or
nothing. SQL implementations sit in the modules named above, in-memory ones in memory.py;
tests/contract/test_number_stores_contract.py holds both to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from switchboard.numbers.models import (
    BROWSE_LIMIT,
    AssignmentType,
    Capabilities,
    Capability,
    CarrierDefinition,
    InventoryNumber,
    Locality,
    NumberFailure,
    NumberSearch,
    NumberState,
    Offering,
    PhoneNumberType,
    PurchasedNumber,
    Reservation,
    SearchCriteria,
)
from switchboard.storage.operations import Operation


class InventoryStore(Protocol):
    async def put_carrier(self, carrier: CarrierDefinition, now_ms: int) -> bool:
        """Create or replace; True if it was created."""
        ...

    async def carriers(self) -> list[CarrierDefinition]:
        """By name; the built-in simulator is always among them."""
        ...

    async def remove_carrier(self, name: str) -> int:
        """Remove a carrier and its unsold numbers; how many numbers went. InvalidInventoryError
        for the simulator or an unknown name, CarrierInUseError while one of its numbers is
        owned."""
        ...

    async def add_numbers(self, numbers: Sequence[InventoryNumber], now_ms: int) -> int:
        """Upsert descriptions (never a number's state); how many are new. The carriers must
        exist (the simulator is created on demand): InvalidInventoryError, nothing added."""
        ...

    async def remove_numbers(
        self, phone_numbers: Sequence[str] = (), *, carrier: str | None = None
    ) -> int:
        """Remove unsold numbers (listed, or all of a carrier's); purchased ones stay."""
        ...

    async def list_numbers(
        self, state: NumberState | None, now_ms: int, after: str | None, limit: int
    ) -> list[tuple[InventoryNumber, NumberState]]:
        """By number, after ``after``."""
        ...

    async def load_demo_once(self, numbers: Sequence[InventoryNumber], now_ms: int) -> bool:
        """Load ``numbers`` if this store never had the demo; True if it was loaded now."""
        ...


class NumberCatalog(Protocol):
    async def countries(self, now_ms: int) -> list[str]: ...

    async def localities(
        self,
        country_code: str,
        now_ms: int,
        *,
        phone_number_type: PhoneNumberType | None = None,
        administrative_division: str | None = None,
    ) -> list[Locality]: ...

    async def area_codes(
        self,
        country_code: str,
        phone_number_type: PhoneNumberType,
        now_ms: int,
        *,
        assignment_type: AssignmentType | None = None,
        locality: str | None = None,
        administrative_division: str | None = None,
    ) -> list[str]: ...

    async def offerings(
        self,
        country_code: str,
        now_ms: int,
        *,
        phone_number_type: PhoneNumberType | None = None,
        assignment_type: AssignmentType | None = None,
    ) -> list[Offering]: ...

    async def browse(
        self,
        country_code: str,
        phone_number_type: PhoneNumberType,
        now_ms: int,
        *,
        calling: Capability | None = None,
        sms: Capability | None = None,
        assignment_type: AssignmentType | None = None,
        prefixes: Sequence[str] = (),
        limit: int = BROWSE_LIMIT,
    ) -> list[InventoryNumber]:
        """A random sample of matching available numbers, by number; nothing is held."""
        ...


class HoldStore(Protocol):
    async def find_many(self, phone_numbers: Sequence[str]) -> dict[str, InventoryNumber]: ...

    async def search(
        self, search_id: str, criteria: SearchCriteria, now_ms: int, until_ms: int
    ) -> NumberSearch | None:
        """Hold up to ``quantity`` matching available numbers until ``until_ms`` and record
        the search; None if nothing matches. The numbers share one offer (one cost)."""
        ...

    async def get_search(self, search_id: str) -> NumberSearch | None: ...

    async def purchase_search(self, search_id: str, now_ms: int) -> list[str]:
        """Buy every number the search still holds, with the capabilities and assignment it
        asked for; all or none. SearchLapsedError if its hold ended or it was bought."""
        ...

    async def release_hold(self, hold_id: str) -> int:
        """Let a search's unsold numbers go now; how many."""
        ...

    async def purchased(self, phone_number: str) -> PurchasedNumber | None: ...

    async def list_purchased(self, skip: int, limit: int) -> list[PurchasedNumber]:
        """By purchase time, then number."""
        ...

    async def set_capabilities(self, phone_number: str, capabilities: Capabilities) -> bool:
        """False if the number is not purchased."""
        ...

    async def release(self, phone_number: str) -> bool:
        """Give a purchased number back to the inventory; False if it was not purchased."""
        ...


class ReservationStore(Protocol):
    async def get(self, reservation_id: str) -> Reservation | None: ...

    async def page(self, skip: int, limit: int) -> list[Reservation]:
        """By creation, without their numbers (as ACS lists them)."""
        ...

    async def change(
        self,
        reservation_id: str,
        additions: Mapping[str, tuple[Capabilities | None, AssignmentType | None]],
        removals: Sequence[str],
        now_ms: int,
    ) -> tuple[Reservation, bool, list[NumberFailure]]:
        """Create the reservation if new, then remove and add numbers (E.164 keys) and extend
        its expiry; (reservation, created, per-number failures). ReservationNotActiveError
        (nothing changed) when it expired or was purchased."""
        ...

    async def delete(self, reservation_id: str, now_ms: int) -> None:
        """Forget an active reservation and free its numbers."""
        ...

    async def purchase(self, reservation_id: str, now_ms: int) -> Reservation:
        """Buy every number of an active reservation; it becomes completed."""
        ...


class OperationLog(Protocol):
    async def create(self, op: Operation) -> None: ...

    async def get(self, id: str) -> Operation | None: ...

    async def delete(self, id: str) -> bool: ...
