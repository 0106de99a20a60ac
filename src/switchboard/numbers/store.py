"""Carriers and the inventory in SQL: what the operator manages (config, CLI).

Applying an inventory is an upsert keyed by the number: descriptive columns (carrier,
locality, cost, …) follow the latest definition, while a number's state (held, purchased)
is never touched, so re-applying the config at every start is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.numbers.models import (
    SIMULATOR_CARRIER,
    AssignmentType,
    Capabilities,
    Capability,
    CarrierDefinition,
    CarrierInUseError,
    CarrierKind,
    Cost,
    InvalidInventoryError,
    InventoryNumber,
    NumberState,
    PhoneNumberType,
    PurchasedNumber,
)
from switchboard.numbers.tables import (
    number_carriers,
    number_inventory,
    number_meta,
)
from switchboard.storage.database import Database

inv = number_inventory
SIMULATOR = CarrierDefinition(SIMULATOR_CARRIER, CarrierKind.SIMULATOR, {})
DEMO_LOADED = "demo_inventory_loaded"
_BATCH = 500

# Columns an upsert rewrites: everything that describes the number, nothing about its state.
_DESCRIPTIVE = (
    "carrier",
    "country_code",
    "phone_number_type",
    "assignment_type",
    "calling",
    "sms",
    "cost_amount",
    "currency",
    "locality",
    "administrative_division",
    "area_code",
)


def available(now_ms: int) -> sa.ColumnElement[bool]:
    """Not purchased, and not held by a search or reservation that is still running."""
    return sa.and_(
        inv.c.purchased_ms.is_(None),
        sa.or_(inv.c.hold_id.is_(None), inv.c.hold_until_ms <= now_ms),
    )


def to_number(row: sa.Row[Any]) -> InventoryNumber:
    return InventoryNumber(
        phone_number=row.phone_number,
        carrier=row.carrier,
        country_code=row.country_code,
        phone_number_type=PhoneNumberType(row.phone_number_type),
        assignment_type=AssignmentType(row.assignment_type),
        capabilities=Capabilities(Capability(row.calling), Capability(row.sms)),
        cost=Cost(float(row.cost_amount), row.currency),
        locality=row.locality,
        administrative_division=row.administrative_division,
        area_code=row.area_code,
    )


def to_purchased(row: sa.Row[Any]) -> PurchasedNumber:
    return PurchasedNumber(
        number=to_number(row),
        capabilities=Capabilities(Capability(row.purchased_calling), Capability(row.purchased_sms)),
        assignment_type=AssignmentType(row.purchased_assignment_type),
        purchased_ms=int(row.purchased_ms),
    )


def state_of(row: sa.Row[Any], now_ms: int) -> NumberState:
    if row.purchased_ms is not None:
        return NumberState.PURCHASED
    if row.hold_id is not None and row.hold_until_ms > now_ms:
        return NumberState.HELD
    return NumberState.AVAILABLE


def _number_values(number: InventoryNumber) -> dict[str, Any]:
    return {
        "phone_number": number.phone_number,
        "carrier": number.carrier,
        "country_code": number.country_code,
        "phone_number_type": number.phone_number_type.value,
        "assignment_type": number.assignment_type.value,
        "calling": number.capabilities.calling.value,
        "sms": number.capabilities.sms.value,
        "cost_amount": number.cost.amount,
        "currency": number.cost.currency,
        "locality": number.locality,
        "administrative_division": number.administrative_division,
        "area_code": number.area_code,
    }


class SqlInventoryStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def _insert(self, table: sa.Table) -> Any:
        return sqlite.insert(table) if self._db.is_sqlite else postgresql.insert(table)

    # --- carriers ---------------------------------------------------------------------------

    async def put_carrier(self, carrier: CarrierDefinition, now_ms: int) -> bool:
        """Create or replace; True if it was created."""
        settings = json.dumps(dict(carrier.settings), sort_keys=True)
        async with self._db.write() as conn:
            existed = await _carrier_exists(conn, carrier.name)
            stmt = self._insert(number_carriers).values(
                name=carrier.name, kind=carrier.kind.value, settings=settings, created_ms=now_ms
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name"], set_={"kind": carrier.kind.value, "settings": settings}
                )
            )
        return not existed

    async def carriers(self) -> list[CarrierDefinition]:
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(number_carriers).order_by("name"))).all()
        found = [
            CarrierDefinition(r.name, CarrierKind(r.kind), json.loads(r.settings)) for r in rows
        ]
        if all(c.name != SIMULATOR_CARRIER for c in found):
            found.insert(0, SIMULATOR)
        return found

    async def remove_carrier(self, name: str) -> int:
        """Remove a carrier and its unsold numbers; the count of numbers removed.

        Refused while this resource owns one of its numbers (release them first)."""
        if name == SIMULATOR_CARRIER:
            raise InvalidInventoryError(
                "The built-in simulator carrier cannot be removed (its numbers can: "
                "`switchboard numbers remove --carrier simulator`)."
            )
        async with self._db.write() as conn:
            if not await _carrier_exists(conn, name):
                raise InvalidInventoryError(f"There is no carrier named '{name}'.")
            owned = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(inv)
                .where(inv.c.carrier == name, inv.c.purchased_ms.is_not(None))
            )
            if owned:
                raise CarrierInUseError(
                    f"Carrier '{name}' provides {owned} purchased number(s); release them first."
                )
            removed = await conn.execute(inv.delete().where(inv.c.carrier == name))
            await conn.execute(number_carriers.delete().where(number_carriers.c.name == name))
        return int(removed.rowcount)

    # --- inventory --------------------------------------------------------------------------

    async def add_numbers(self, numbers: Sequence[InventoryNumber], now_ms: int) -> int:
        """Upsert; the carriers must exist (the simulator is created on demand). New count."""
        async with self._db.write() as conn:
            return await self._add(conn, numbers, now_ms)

    async def _add(
        self, conn: AsyncConnection, numbers: Sequence[InventoryNumber], now_ms: int
    ) -> int:
        for name in sorted({n.carrier for n in numbers}):
            if name == SIMULATOR_CARRIER:
                await conn.execute(
                    self._insert(number_carriers)
                    .values(
                        name=name,
                        kind=CarrierKind.SIMULATOR.value,
                        settings="{}",
                        created_ms=now_ms,
                    )
                    .on_conflict_do_nothing(index_elements=["name"])
                )
            elif not await _carrier_exists(conn, name):
                raise InvalidInventoryError(
                    f"Numbers name carrier '{name}', which is not defined "
                    "(add it first: [[carriers]] or `switchboard carriers add`)."
                )
        before = await conn.scalar(sa.select(sa.func.count()).select_from(inv))
        for start in range(0, len(numbers), _BATCH):
            rows = [_number_values(n) for n in numbers[start : start + _BATCH]]
            stmt = self._insert(inv).values(rows)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["phone_number"],
                    set_={name: stmt.excluded[name] for name in _DESCRIPTIVE},
                )
            )
        after = await conn.scalar(sa.select(sa.func.count()).select_from(inv))
        return int(after or 0) - int(before or 0)

    async def remove_numbers(
        self, phone_numbers: Sequence[str] = (), *, carrier: str | None = None
    ) -> int:
        """Remove unsold numbers (listed, or all of a carrier's); purchased ones stay."""
        condition: sa.ColumnElement[bool] = inv.c.purchased_ms.is_(None)
        if carrier is not None:
            condition = sa.and_(condition, inv.c.carrier == carrier)
        else:
            condition = sa.and_(condition, inv.c.phone_number.in_(list(phone_numbers)))
        async with self._db.write() as conn:
            result = await conn.execute(inv.delete().where(condition))
        return int(result.rowcount)

    async def list_numbers(
        self, state: NumberState | None, now_ms: int, after: str | None, limit: int
    ) -> list[tuple[InventoryNumber, NumberState]]:
        query = sa.select(inv).order_by(inv.c.phone_number).limit(limit)
        if after is not None:
            query = query.where(inv.c.phone_number > after)
        if state is NumberState.PURCHASED:
            query = query.where(inv.c.purchased_ms.is_not(None))
        elif state is NumberState.AVAILABLE:
            query = query.where(available(now_ms))
        elif state is NumberState.HELD:
            query = query.where(inv.c.purchased_ms.is_(None), inv.c.hold_until_ms > now_ms)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [(to_number(r), state_of(r, now_ms)) for r in rows]

    async def load_demo_once(self, numbers: Sequence[InventoryNumber], now_ms: int) -> bool:
        """Load ``numbers`` if this database never had the demo; True if it was loaded now.

        The marker and the numbers commit together, and the marker's primary key settles a
        race between nodes starting at once; removing the numbers later does not bring them
        back."""
        async with self._db.write() as conn:
            marked = await conn.execute(
                self._insert(number_meta)
                .values(key=DEMO_LOADED, value=str(now_ms))
                .on_conflict_do_nothing(index_elements=["key"])
            )
            if marked.rowcount != 1:
                return False
            await self._add(conn, numbers, now_ms)
        return True


async def _carrier_exists(conn: AsyncConnection, name: str) -> bool:
    found = await conn.scalar(
        sa.select(number_carriers.c.name).where(number_carriers.c.name == name)
    )
    return found is not None
