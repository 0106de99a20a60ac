"""What is on offer: read-only questions about the numbers available right now.

Countries, localities, area codes and offerings are derived from the available inventory
(not a separate list to keep in step), so a purchased-out area code disappears by itself.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import sqlalchemy as sa

from switchboard.numbers.models import (
    BROWSE_LIMIT,
    AssignmentType,
    Capabilities,
    Capability,
    Cost,
    InventoryNumber,
    Locality,
    Offering,
    PhoneNumberType,
)
from switchboard.numbers.store import available, inv, to_number
from switchboard.storage.database import Database


def capability_values_covering(wanted: Capability) -> list[str]:
    """The stored capability values that provide every direction ``wanted`` asks for."""
    return [c.value for c in Capability if wanted.within(c)]


class SqlCatalog:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def countries(self, now_ms: int) -> list[str]:
        query = (
            sa.select(inv.c.country_code)
            .where(available(now_ms))
            .distinct()
            .order_by(inv.c.country_code)
        )
        async with self._db.read() as conn:
            return [r.country_code for r in (await conn.execute(query)).all()]

    async def localities(
        self,
        country_code: str,
        now_ms: int,
        *,
        phone_number_type: PhoneNumberType | None = None,
        administrative_division: str | None = None,
    ) -> list[Locality]:
        query = (
            sa.select(inv.c.locality, inv.c.administrative_division)
            .where(available(now_ms), inv.c.country_code == country_code)
            .where(inv.c.locality.is_not(None))
            .distinct()
            .order_by(inv.c.locality, inv.c.administrative_division)
        )
        if phone_number_type is not None:
            query = query.where(inv.c.phone_number_type == phone_number_type.value)
        if administrative_division is not None:
            query = query.where(
                sa.func.lower(inv.c.administrative_division) == administrative_division.lower()
            )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [Locality(r.locality, r.administrative_division) for r in rows]

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
        query = (
            sa.select(inv.c.area_code)
            .where(available(now_ms), inv.c.country_code == country_code)
            .where(inv.c.phone_number_type == phone_number_type.value)
            .where(inv.c.area_code.is_not(None))
            .distinct()
            .order_by(inv.c.area_code)
        )
        if assignment_type is not None:
            query = query.where(inv.c.assignment_type == assignment_type.value)
        if locality is not None:
            query = query.where(sa.func.lower(inv.c.locality) == locality.lower())
        if administrative_division is not None:
            query = query.where(
                sa.func.lower(inv.c.administrative_division) == administrative_division.lower()
            )
        async with self._db.read() as conn:
            return [r.area_code for r in (await conn.execute(query)).all()]

    async def offerings(
        self,
        country_code: str,
        now_ms: int,
        *,
        phone_number_type: PhoneNumberType | None = None,
        assignment_type: AssignmentType | None = None,
    ) -> list[Offering]:
        columns = (
            inv.c.phone_number_type,
            inv.c.assignment_type,
            inv.c.calling,
            inv.c.sms,
            inv.c.cost_amount,
            inv.c.currency,
        )
        query = (
            sa.select(*columns)
            .where(available(now_ms), inv.c.country_code == country_code)
            .distinct()
            .order_by(*columns)
        )
        if phone_number_type is not None:
            query = query.where(inv.c.phone_number_type == phone_number_type.value)
        if assignment_type is not None:
            query = query.where(inv.c.assignment_type == assignment_type.value)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Offering(
                PhoneNumberType(r.phone_number_type),
                AssignmentType(r.assignment_type),
                Capabilities(Capability(r.calling), Capability(r.sms)),
                Cost(float(r.cost_amount), r.currency),
            )
            for r in rows
        ]

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
        """A random sample of matching available numbers; nothing is held."""
        query = sa.select(inv).where(
            available(now_ms),
            inv.c.country_code == country_code,
            inv.c.phone_number_type == phone_number_type.value,
        )
        if calling is not None:
            query = query.where(inv.c.calling.in_(capability_values_covering(calling)))
        if sms is not None:
            query = query.where(inv.c.sms.in_(capability_values_covering(sms)))
        if assignment_type is not None:
            query = query.where(inv.c.assignment_type == assignment_type.value)
        if prefixes:
            query = query.where(
                sa.or_(*(inv.c.phone_number.startswith(p, autoescape=True) for p in prefixes))
            )
        # Sample in Python from a bounded candidate set: ORDER BY random() differs per dialect
        # and scans everything.
        async with self._db.read() as conn:
            rows = (await conn.execute(query.order_by(inv.c.phone_number).limit(limit * 25))).all()
        picked = random.sample(rows, min(limit, len(rows)))
        return sorted((to_number(r) for r in picked), key=lambda n: n.phone_number)
