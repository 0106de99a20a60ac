"""Searches, purchases and releases in SQL: the state changes of inventory rows.

Every change is a conditional UPDATE that re-checks availability in its WHERE clause, so
two concurrent searches (or a search and a reservation) can never take the same number: on
PostgreSQL the second UPDATE waits for the first and then finds the row no longer matches;
on SQLite writers are serialised anyway.

    hold(search_id, until) ── purchase_search ──▶ purchased ── release ──▶ available
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.numbers.catalog import capability_values_covering
from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    Capability,
    Cost,
    InventoryNumber,
    NumberSearch,
    NumberState,
    PhoneNumberType,
    PurchasedNumber,
    SearchCriteria,
    SearchLapsedError,
)
from switchboard.numbers.store import available, inv, state_of, to_number, to_purchased
from switchboard.numbers.tables import number_searches
from switchboard.storage.database import Database

_HOLD_ATTEMPTS = 3  # a concurrent search may take candidates between our read and our update


class SqlHoldStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def find(
        self, phone_number: str, now_ms: int
    ) -> tuple[InventoryNumber, NumberState] | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(sa.select(inv).where(inv.c.phone_number == phone_number))
            ).first()
        return None if row is None else (to_number(row), state_of(row, now_ms))

    async def find_many(self, phone_numbers: Sequence[str]) -> dict[str, InventoryNumber]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(inv).where(inv.c.phone_number.in_(list(phone_numbers)))
                )
            ).all()
        return {r.phone_number: to_number(r) for r in rows}

    async def search(
        self, search_id: str, criteria: SearchCriteria, now_ms: int, until_ms: int
    ) -> NumberSearch | None:
        """Hold up to ``quantity`` matching numbers for the search and record it; None if
        nothing matches. The numbers found share one offer (the cheapest that has them)."""
        async with self._db.write() as conn:
            held = await self._hold(conn, search_id, criteria, now_ms, until_ms)
            if not held:
                return None
            numbers = tuple(n.phone_number for n in held)
            cost = held[0].cost
            await conn.execute(
                number_searches.insert().values(
                    id=search_id,
                    country_code=criteria.country_code,
                    phone_number_type=criteria.phone_number_type.value,
                    assignment_type=criteria.assignment_type.value,
                    calling=criteria.capabilities.calling.value,
                    sms=criteria.capabilities.sms.value,
                    area_code=criteria.area_code,
                    quantity=criteria.quantity,
                    phone_numbers=json.dumps(numbers),
                    cost_amount=cost.amount,
                    currency=cost.currency,
                    created_ms=now_ms,
                    expires_ms=until_ms,
                    purchased=False,
                )
            )
        return NumberSearch(search_id, criteria, numbers, cost, now_ms, until_ms, False)

    async def _hold(
        self,
        conn: AsyncConnection,
        hold_id: str,
        criteria: SearchCriteria,
        now_ms: int,
        until_ms: int,
    ) -> list[InventoryNumber]:
        matching = sa.and_(
            available(now_ms),
            inv.c.country_code == criteria.country_code,
            inv.c.phone_number_type == criteria.phone_number_type.value,
            inv.c.assignment_type == criteria.assignment_type.value,
            inv.c.calling.in_(capability_values_covering(criteria.capabilities.calling)),
            inv.c.sms.in_(capability_values_covering(criteria.capabilities.sms)),
        )
        if criteria.area_code is not None:
            matching = sa.and_(matching, inv.c.area_code == criteria.area_code)
        for _ in range(_HOLD_ATTEMPTS):
            have = await _count_held(conn, hold_id)
            wanted = criteria.quantity - have
            if wanted <= 0:
                break
            # One offer per search: take the cheapest price, then the lowest numbers.
            candidates = (
                await conn.execute(
                    sa.select(inv.c.phone_number)
                    .where(matching)
                    .order_by(inv.c.cost_amount, inv.c.currency, inv.c.phone_number)
                    .limit(wanted)
                )
            ).all()
            if not candidates:
                break
            await conn.execute(
                inv.update()
                .where(inv.c.phone_number.in_([c.phone_number for c in candidates]), matching)
                .values(hold_id=hold_id, hold_until_ms=until_ms)
            )
        rows = (
            await conn.execute(
                sa.select(inv).where(inv.c.hold_id == hold_id).order_by(inv.c.phone_number)
            )
        ).all()
        numbers = [to_number(r) for r in rows]
        if numbers:  # keep only the first offer's numbers; let the others go again
            first = numbers[0].cost
            others = [n.phone_number for n in numbers if n.cost != first]
            if others:
                await conn.execute(
                    inv.update()
                    .where(inv.c.phone_number.in_(others))
                    .values(hold_id=None, hold_until_ms=None)
                )
            numbers = [n for n in numbers if n.cost == first]
        return numbers

    async def get_search(self, search_id: str) -> NumberSearch | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(number_searches).where(number_searches.c.id == search_id)
                )
            ).first()
        return None if row is None else _to_search(row)

    async def purchase_search(self, search_id: str, now_ms: int) -> list[str]:
        """Buy every number the search still holds, all or none; SearchLapsedError if its
        hold ended. The numbers get the capabilities and assignment the search asked for."""
        async with self._db.write() as conn:
            row = (
                await conn.execute(
                    sa.select(number_searches).where(number_searches.c.id == search_id)
                )
            ).first()
            if row is None or row.purchased:
                raise SearchLapsedError(search_id)
            search = _to_search(row)
            result = await conn.execute(
                inv.update()
                .where(
                    inv.c.hold_id == search_id,
                    inv.c.hold_until_ms > now_ms,
                    inv.c.purchased_ms.is_(None),
                    inv.c.phone_number.in_(list(search.phone_numbers)),
                )
                .values(
                    purchased_ms=now_ms,
                    purchased_calling=search.criteria.capabilities.calling.value,
                    purchased_sms=search.criteria.capabilities.sms.value,
                    purchased_assignment_type=search.criteria.assignment_type.value,
                    hold_id=None,
                    hold_until_ms=None,
                )
            )
            if result.rowcount != len(search.phone_numbers):
                raise SearchLapsedError(search_id)  # rolls the partial update back
            await conn.execute(
                number_searches.update()
                .where(number_searches.c.id == search_id)
                .values(purchased=True)
            )
        return list(search.phone_numbers)

    async def release_hold(self, hold_id: str) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(
                inv.update()
                .where(inv.c.hold_id == hold_id, inv.c.purchased_ms.is_(None))
                .values(hold_id=None, hold_until_ms=None)
            )
        return int(result.rowcount)

    async def purchased(self, phone_number: str) -> PurchasedNumber | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(inv).where(
                        inv.c.phone_number == phone_number, inv.c.purchased_ms.is_not(None)
                    )
                )
            ).first()
        return None if row is None else to_purchased(row)

    async def list_purchased(self, skip: int, limit: int) -> list[PurchasedNumber]:
        query = (
            sa.select(inv)
            .where(inv.c.purchased_ms.is_not(None))
            .order_by(inv.c.purchased_ms, inv.c.phone_number)
            .offset(skip)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [to_purchased(r) for r in (await conn.execute(query)).all()]

    async def set_capabilities(self, phone_number: str, capabilities: Capabilities) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                inv.update()
                .where(inv.c.phone_number == phone_number, inv.c.purchased_ms.is_not(None))
                .values(
                    purchased_calling=capabilities.calling.value,
                    purchased_sms=capabilities.sms.value,
                )
            )
        return bool(result.rowcount)

    async def release(self, phone_number: str) -> bool:
        """Give a purchased number back to the inventory; False if it was not purchased."""
        async with self._db.write() as conn:
            result = await conn.execute(
                inv.update()
                .where(inv.c.phone_number == phone_number, inv.c.purchased_ms.is_not(None))
                .values(
                    purchased_ms=None,
                    purchased_calling=None,
                    purchased_sms=None,
                    purchased_assignment_type=None,
                    hold_id=None,
                    hold_until_ms=None,
                )
            )
        return bool(result.rowcount)


async def _count_held(conn: AsyncConnection, hold_id: str) -> int:
    count = await conn.scalar(
        sa.select(sa.func.count()).select_from(inv).where(inv.c.hold_id == hold_id)
    )
    return int(count or 0)


def _to_search(row: sa.Row[Any]) -> NumberSearch:
    criteria = SearchCriteria(
        country_code=row.country_code,
        phone_number_type=PhoneNumberType(row.phone_number_type),
        assignment_type=AssignmentType(row.assignment_type),
        capabilities=Capabilities(Capability(row.calling), Capability(row.sms)),
        area_code=row.area_code,
        quantity=int(row.quantity),
    )
    return NumberSearch(
        id=row.id,
        criteria=criteria,
        phone_numbers=tuple(json.loads(row.phone_numbers)),
        cost=Cost(float(row.cost_amount), row.currency),
        created_ms=int(row.created_ms),
        expires_ms=int(row.expires_ms),
        purchased=bool(row.purchased),
    )
