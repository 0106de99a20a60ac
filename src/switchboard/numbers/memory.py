"""The number stores (stores.py) in process memory: one MemoryNumbers holds the inventory
that its inventory, catalog, hold and reservation stores share, as the SQL ones share a table.

Methods do all their checks before their first change and never await in between, so each
is atomic on the event loop, as each SQL method is one transaction.

    numbers = MemoryNumbers()
    NumbersService(numbers.inventory, numbers.catalog, numbers.holds, numbers.reservations,
                   numbers.operations, clock)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from switchboard.numbers.memory_reservations import MemoryReservationStore, Reservations
from switchboard.numbers.models import (
    BROWSE_LIMIT,
    SIMULATOR_CARRIER,
    AssignmentType,
    Capabilities,
    Capability,
    CarrierDefinition,
    CarrierInUseError,
    CarrierKind,
    InvalidInventoryError,
    InventoryNumber,
    Locality,
    NumberSearch,
    NumberState,
    Offering,
    PhoneNumberType,
    PurchasedNumber,
    SearchCriteria,
    SearchLapsedError,
)
from switchboard.numbers.slots import NumberSlot
from switchboard.storage.operations import Operation


class MemoryNumbers:
    """The shared inventory and the stores over it."""

    def __init__(self) -> None:
        self.carrier_table: dict[str, CarrierDefinition] = {}
        self.slots: dict[str, NumberSlot] = {}  # by E.164
        self.search_table: dict[str, NumberSearch] = {}
        self.demo_loaded = False
        self.inventory = MemoryInventoryStore(self)
        self.catalog = MemoryCatalog(self)
        self.holds = MemoryHoldStore(self)
        self.reservations = MemoryReservationStore(self.slots, Reservations())
        self.operations = MemoryOperationLog()

    def available(self, now_ms: int) -> list[NumberSlot]:
        return [s for s in self.ordered() if s.available(now_ms)]

    def ordered(self) -> list[NumberSlot]:
        return [self.slots[n] for n in sorted(self.slots)]


class MemoryInventoryStore:
    def __init__(self, numbers: MemoryNumbers) -> None:
        self._n = numbers

    async def put_carrier(self, carrier: CarrierDefinition, now_ms: int) -> bool:
        created = carrier.name not in self._n.carrier_table
        self._n.carrier_table[carrier.name] = replace(carrier, settings=dict(carrier.settings))
        return created

    async def carriers(self) -> list[CarrierDefinition]:
        found = [self._n.carrier_table[name] for name in sorted(self._n.carrier_table)]
        if SIMULATOR_CARRIER not in self._n.carrier_table:
            found.insert(0, CarrierDefinition(SIMULATOR_CARRIER, CarrierKind.SIMULATOR, {}))
        return found

    async def remove_carrier(self, name: str) -> int:
        if name == SIMULATOR_CARRIER:
            raise InvalidInventoryError(
                "The built-in simulator carrier cannot be removed (its numbers can: "
                "`switchboard numbers remove --carrier simulator`)."
            )
        if name not in self._n.carrier_table:
            raise InvalidInventoryError(f"There is no carrier named '{name}'.")
        its = [s for s in self._n.slots.values() if s.number.carrier == name]
        owned = sum(1 for s in its if s.purchased_ms is not None)
        if owned:
            raise CarrierInUseError(
                f"Carrier '{name}' provides {owned} purchased number(s); release them first."
            )
        for slot in its:
            del self._n.slots[slot.number.phone_number]
        del self._n.carrier_table[name]
        return len(its)

    async def add_numbers(self, numbers: Sequence[InventoryNumber], now_ms: int) -> int:
        for name in sorted({n.carrier for n in numbers}):
            if name != SIMULATOR_CARRIER and name not in self._n.carrier_table:
                raise InvalidInventoryError(
                    f"Numbers name carrier '{name}', which is not defined "
                    "(add it first: [[carriers]] or `switchboard carriers add`)."
                )
        return self.add_checked(numbers)

    def add_checked(self, numbers: Sequence[InventoryNumber]) -> int:
        if any(n.carrier == SIMULATOR_CARRIER for n in numbers):
            self._n.carrier_table.setdefault(
                SIMULATOR_CARRIER, CarrierDefinition(SIMULATOR_CARRIER, CarrierKind.SIMULATOR, {})
            )
        new = 0
        for number in numbers:
            slot = self._n.slots.get(number.phone_number)
            if slot is None:
                new += 1
                self._n.slots[number.phone_number] = NumberSlot(number)
            else:  # descriptions follow the latest definition; the state stays
                self._n.slots[number.phone_number] = replace(slot, number=number)
        return new

    async def remove_numbers(
        self, phone_numbers: Sequence[str] = (), *, carrier: str | None = None
    ) -> int:
        def chosen(slot: NumberSlot) -> bool:
            if carrier is not None:
                return slot.number.carrier == carrier
            return slot.number.phone_number in phone_numbers

        gone = [s for s in self._n.slots.values() if s.purchased_ms is None and chosen(s)]
        for slot in gone:
            del self._n.slots[slot.number.phone_number]
        return len(gone)

    async def list_numbers(
        self, state: NumberState | None, now_ms: int, after: str | None, limit: int
    ) -> list[tuple[InventoryNumber, NumberState]]:
        listed = [
            (s.number, s.state(now_ms))
            for s in self._n.ordered()
            if (after is None or s.number.phone_number > after)
            and (state is None or s.state(now_ms) is state)
        ]
        return listed[:limit]

    async def load_demo_once(self, numbers: Sequence[InventoryNumber], now_ms: int) -> bool:
        if self._n.demo_loaded:
            return False
        self._n.demo_loaded = True
        self.add_checked(numbers)
        return True


class MemoryCatalog:
    def __init__(self, numbers: MemoryNumbers) -> None:
        self._n = numbers

    def _offered(self, country_code: str, now_ms: int) -> list[InventoryNumber]:
        offered = self._n.available(now_ms)
        return [s.number for s in offered if s.number.country_code == country_code]

    async def countries(self, now_ms: int) -> list[str]:
        return sorted({s.number.country_code for s in self._n.available(now_ms)})

    async def localities(
        self,
        country_code: str,
        now_ms: int,
        *,
        phone_number_type: PhoneNumberType | None = None,
        administrative_division: str | None = None,
    ) -> list[Locality]:
        found = {
            Locality(n.locality, n.administrative_division)
            for n in self._offered(country_code, now_ms)
            if n.locality is not None
            and phone_number_type in (None, n.phone_number_type)
            and _same(administrative_division, n.administrative_division)
        }
        return sorted(found, key=lambda x: (x.name, x.administrative_division or ""))

    async def area_codes(
        self,
        country_code: str,
        phone_number_type: PhoneNumberType,
        now_ms: int,
        *,
        assignment_type: AssignmentType | None = None,
        locality: str | None = None,
        administrative_division: str | None = None,
    ) -> list[str]:
        return sorted(
            {
                n.area_code
                for n in self._offered(country_code, now_ms)
                if n.area_code is not None
                and n.phone_number_type is phone_number_type
                and assignment_type in (None, n.assignment_type)
                and _same(locality, n.locality)
                and _same(administrative_division, n.administrative_division)
            }
        )

    async def offerings(
        self,
        country_code: str,
        now_ms: int,
        *,
        phone_number_type: PhoneNumberType | None = None,
        assignment_type: AssignmentType | None = None,
    ) -> list[Offering]:
        found = {
            Offering(n.phone_number_type, n.assignment_type, n.capabilities, n.cost)
            for n in self._offered(country_code, now_ms)
            if phone_number_type in (None, n.phone_number_type)
            and assignment_type in (None, n.assignment_type)
        }
        return sorted(
            found,
            key=lambda o: (
                o.phone_number_type.value,
                o.assignment_type.value,
                o.capabilities.calling.value,
                o.capabilities.sms.value,
                o.cost.amount,
                o.cost.currency,
            ),
        )

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
        matching = [
            n
            for n in self._offered(country_code, now_ms)
            if n.phone_number_type is phone_number_type
            and (calling is None or calling.within(n.capabilities.calling))
            and (sms is None or sms.within(n.capabilities.sms))
            and assignment_type in (None, n.assignment_type)
            and (not prefixes or any(n.phone_number.startswith(p) for p in prefixes))
        ][: limit * 25]
        picked = random.sample(matching, min(limit, len(matching)))
        return sorted(picked, key=lambda n: n.phone_number)


class MemoryHoldStore:
    def __init__(self, numbers: MemoryNumbers) -> None:
        self._n = numbers

    async def find_many(self, phone_numbers: Sequence[str]) -> dict[str, InventoryNumber]:
        return {p: self._n.slots[p].number for p in phone_numbers if p in self._n.slots}

    async def search(
        self, search_id: str, criteria: SearchCriteria, now_ms: int, until_ms: int
    ) -> NumberSearch | None:
        wanted = criteria.capabilities
        matching = [
            s.number
            for s in self._n.available(now_ms)
            if s.number.country_code == criteria.country_code
            and s.number.phone_number_type is criteria.phone_number_type
            and s.number.assignment_type is criteria.assignment_type
            and wanted.within(s.number.capabilities)
            and criteria.area_code in (None, s.number.area_code)
        ]
        # As SQL does it: the cheapest candidates, then the offer of the lowest number.
        cheapest = sorted(matching, key=lambda n: (n.cost.amount, n.cost.currency, n.phone_number))[
            : criteria.quantity
        ]
        if not cheapest:
            return None
        held = sorted(cheapest, key=lambda n: n.phone_number)
        cost = held[0].cost
        numbers = tuple(n.phone_number for n in held if n.cost == cost)
        for phone_number in numbers:
            slot = self._n.slots[phone_number]
            self._n.slots[phone_number] = slot.held(search_id, until_ms)
        search = NumberSearch(search_id, criteria, numbers, cost, now_ms, until_ms, False)
        self._n.search_table[search_id] = search
        return search

    async def get_search(self, search_id: str) -> NumberSearch | None:
        return self._n.search_table.get(search_id)

    async def purchase_search(self, search_id: str, now_ms: int) -> list[str]:
        search = self._n.search_table.get(search_id)
        if search is None or search.purchased:
            raise SearchLapsedError(search_id)
        slots = [self._n.slots.get(p) for p in search.phone_numbers]
        if not all(s is not None and s.held_by(search_id, now_ms) for s in slots):
            raise SearchLapsedError(search_id)
        for slot in slots:
            assert slot is not None
            self._n.slots[slot.number.phone_number] = slot.bought(
                search.criteria.capabilities, search.criteria.assignment_type, now_ms
            )
        self._n.search_table[search_id] = replace(search, purchased=True)
        return list(search.phone_numbers)

    async def release_hold(self, hold_id: str) -> int:
        freed = [
            s for s in self._n.slots.values() if s.hold_id == hold_id and s.purchased_ms is None
        ]
        for slot in freed:
            self._n.slots[slot.number.phone_number] = slot.unheld()
        return len(freed)

    async def purchased(self, phone_number: str) -> PurchasedNumber | None:
        slot = self._n.slots.get(phone_number)
        return None if slot is None else slot.purchased()

    async def list_purchased(self, skip: int, limit: int) -> list[PurchasedNumber]:
        bought = [p for s in self._n.slots.values() if (p := s.purchased()) is not None]
        bought.sort(key=lambda p: (p.purchased_ms, p.number.phone_number))
        return bought[skip : skip + limit]

    async def set_capabilities(self, phone_number: str, capabilities: Capabilities) -> bool:
        slot = self._n.slots.get(phone_number)
        if slot is None or slot.purchased_ms is None:
            return False
        self._n.slots[phone_number] = replace(slot, purchased_capabilities=capabilities)
        return True

    async def release(self, phone_number: str) -> bool:
        slot = self._n.slots.get(phone_number)
        if slot is None or slot.purchased_ms is None:
            return False
        self._n.slots[phone_number] = NumberSlot(slot.number)
        return True


class MemoryOperationLog:
    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}

    async def create(self, op: Operation) -> None:
        self._ops[op.id] = op

    async def get(self, id: str) -> Operation | None:
        return self._ops.get(id)

    async def delete(self, id: str) -> bool:
        return self._ops.pop(id, None) is not None


def _same(wanted: str | None, value: str | None) -> bool:
    """No filter, or equal ignoring case (as the SQL catalog compares lower())."""
    return wanted is None or (value is not None and value.lower() == wanted.lower())
