"""Reservations in SQL: a basket of browsed numbers, held until bought or expired.

    PATCH (create/add/remove) ──▶ active ── :purchase ──▶ completed
                                    │ expires_ms passes         (DELETE: gone, numbers freed)
                                    ▼
                                 expired (read-time: status stays "active" in the row)

Each change moves the expiry to 15 minutes after it, but never beyond 2 hours after creation;
the reservation's numbers are held (``hold_id`` = reservation id) until that same instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    Capability,
    NumberFailure,
    Reservation,
    ReservationNotActiveError,
    ReservationNotFoundError,
    ReservationStatus,
    ReservedNumber,
    number_id,
)
from switchboard.numbers.store import available, inv, to_number
from switchboard.numbers.tables import number_reservation_items, number_reservations
from switchboard.storage.database import Database

RESERVATION_EXTENSION_MS = 15 * 60_000
RESERVATION_MAX_MS = 2 * 3_600_000

res = number_reservations
items = number_reservation_items


def next_expiry(created_ms: int, now_ms: int) -> int:
    return min(now_ms + RESERVATION_EXTENSION_MS, created_ms + RESERVATION_MAX_MS)


class SqlReservationStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, reservation_id: str) -> Reservation | None:
        async with self._db.read() as conn:
            return await _load(conn, reservation_id, with_numbers=True)

    async def page(self, skip: int, limit: int) -> list[Reservation]:
        """Without their numbers, as ACS lists them."""
        query = sa.select(res).order_by(res.c.created_ms, res.c.id).offset(skip).limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_to_reservation(r, ()) for r in rows]

    async def change(
        self,
        reservation_id: str,
        additions: Mapping[str, tuple[Capabilities | None, AssignmentType | None]],
        removals: Sequence[str],
        now_ms: int,
    ) -> tuple[Reservation, bool, list[NumberFailure]]:
        """Create the reservation if it is new, then apply removals and additions (E.164
        keys). Returns (reservation, created, per-number failures)."""
        failures: list[NumberFailure] = []
        async with self._db.write() as conn:
            row = (await conn.execute(sa.select(res).where(res.c.id == reservation_id))).first()
            created = row is None
            if row is None:
                created_ms = now_ms
                await conn.execute(
                    res.insert().values(
                        id=reservation_id,
                        created_ms=now_ms,
                        expires_ms=next_expiry(now_ms, now_ms),
                        status=ReservationStatus.ACTIVE.value,
                    )
                )
            else:
                _require_active(_to_reservation(row, ()), now_ms)
                created_ms = int(row.created_ms)
            until = next_expiry(created_ms, now_ms)
            for number in removals:
                await conn.execute(
                    items.delete().where(
                        items.c.reservation_id == reservation_id, items.c.phone_number == number
                    )
                )
                await conn.execute(
                    inv.update()
                    .where(inv.c.phone_number == number, inv.c.hold_id == reservation_id)
                    .values(hold_id=None, hold_until_ms=None)
                )
            for number, (capabilities, assignment) in additions.items():
                failure = await _add(conn, reservation_id, number, capabilities, assignment, now_ms)
                if failure is not None:
                    failures.append(failure)
            await conn.execute(
                res.update().where(res.c.id == reservation_id).values(expires_ms=until)
            )
            await conn.execute(
                inv.update()
                .where(inv.c.hold_id == reservation_id, inv.c.purchased_ms.is_(None))
                .values(hold_until_ms=until)
            )
            reservation = await _load(conn, reservation_id, with_numbers=True)
        assert reservation is not None  # created or found above, in this transaction
        return reservation, created, failures

    async def delete(self, reservation_id: str, now_ms: int) -> None:
        async with self._db.write() as conn:
            reservation = await _load(conn, reservation_id, with_numbers=False)
            if reservation is None:
                raise ReservationNotFoundError(f"Reservation {reservation_id} was not found.")
            _require_active(reservation, now_ms)
            await _free(conn, reservation_id)
            await conn.execute(items.delete().where(items.c.reservation_id == reservation_id))
            await conn.execute(res.delete().where(res.c.id == reservation_id))

    async def purchase(self, reservation_id: str, now_ms: int) -> Reservation:
        """Buy every number of an active reservation; it becomes completed."""
        async with self._db.write() as conn:
            reservation = await _load(conn, reservation_id, with_numbers=True)
            if reservation is None:
                raise ReservationNotFoundError(f"Reservation {reservation_id} was not found.")
            _require_active(reservation, now_ms)
            if not reservation.numbers:
                raise ReservationNotActiveError(
                    f"Reservation {reservation_id} holds no phone numbers to purchase."
                )
            for reserved in reservation.numbers:
                await conn.execute(
                    inv.update()
                    .where(
                        inv.c.phone_number == reserved.number.phone_number,
                        inv.c.hold_id == reservation_id,
                        inv.c.purchased_ms.is_(None),
                    )
                    .values(
                        purchased_ms=now_ms,
                        purchased_calling=reserved.capabilities.calling.value,
                        purchased_sms=reserved.capabilities.sms.value,
                        purchased_assignment_type=reserved.assignment_type.value,
                        hold_id=None,
                        hold_until_ms=None,
                    )
                )
            await conn.execute(
                res.update()
                .where(res.c.id == reservation_id)
                .values(status=ReservationStatus.COMPLETED.value)
            )
            done = await _load(conn, reservation_id, with_numbers=True)
        assert done is not None
        return done


def _require_active(reservation: Reservation, now_ms: int) -> None:
    status = reservation.status_at(now_ms)
    if status is not ReservationStatus.ACTIVE:
        raise ReservationNotActiveError(
            f"Reservation {reservation.id} is {status.value}; only an active reservation "
            "can be changed, deleted or purchased."
        )


async def _add(
    conn: AsyncConnection,
    reservation_id: str,
    phone_number: str,
    capabilities: Capabilities | None,
    assignment: AssignmentType | None,
    now_ms: int,
) -> NumberFailure | None:
    row = (await conn.execute(sa.select(inv).where(inv.c.phone_number == phone_number))).first()
    nid = number_id(phone_number)
    if row is None:
        return NumberFailure(nid, "PhoneNumberNotFound", f"{phone_number} is not in the inventory.")
    number = to_number(row)
    wanted = capabilities or number.capabilities
    if not wanted.within(number.capabilities):
        return NumberFailure(
            nid,
            "InvalidCapabilities",
            f"{phone_number} offers calling {number.capabilities.calling.value} and sms "
            f"{number.capabilities.sms.value}.",
        )
    if row.hold_id != reservation_id:
        taken = await conn.execute(
            inv.update()
            .where(inv.c.phone_number == phone_number, available(now_ms))
            .values(hold_id=reservation_id, hold_until_ms=now_ms + RESERVATION_EXTENSION_MS)
        )
        if taken.rowcount != 1:
            return NumberFailure(
                nid, "PhoneNumberNotAvailable", f"{phone_number} is not available."
            )
    values = {
        "calling": wanted.calling.value,
        "sms": wanted.sms.value,
        "assignment_type": (assignment or number.assignment_type).value,
    }
    existing = await conn.scalar(
        sa.select(items.c.phone_number).where(
            items.c.reservation_id == reservation_id, items.c.phone_number == phone_number
        )
    )
    if existing is None:
        await conn.execute(
            items.insert().values(
                reservation_id=reservation_id, phone_number=phone_number, **values
            )
        )
    else:
        await conn.execute(
            items.update()
            .where(items.c.reservation_id == reservation_id, items.c.phone_number == phone_number)
            .values(**values)
        )
    return None


async def _free(conn: AsyncConnection, reservation_id: str) -> None:
    await conn.execute(
        inv.update()
        .where(inv.c.hold_id == reservation_id, inv.c.purchased_ms.is_(None))
        .values(hold_id=None, hold_until_ms=None)
    )


async def _load(
    conn: AsyncConnection, reservation_id: str, *, with_numbers: bool
) -> Reservation | None:
    row = (await conn.execute(sa.select(res).where(res.c.id == reservation_id))).first()
    if row is None:
        return None
    numbers: list[ReservedNumber] = []
    if with_numbers:
        joined = (
            await conn.execute(
                sa.select(
                    inv,
                    items.c.calling.label("r_calling"),
                    items.c.sms.label("r_sms"),
                    items.c.assignment_type.label("r_assignment"),
                )
                .select_from(items.join(inv, inv.c.phone_number == items.c.phone_number))
                .where(items.c.reservation_id == reservation_id)
                .order_by(items.c.phone_number)
            )
        ).all()
        numbers = [
            ReservedNumber(
                to_number(r),
                Capabilities(Capability(r.r_calling), Capability(r.r_sms)),
                AssignmentType(r.r_assignment),
            )
            for r in joined
        ]
    return _to_reservation(row, numbers)


def _to_reservation(row: sa.Row[Any], numbers: Sequence[ReservedNumber]) -> Reservation:
    return Reservation(
        id=row.id,
        created_ms=int(row.created_ms),
        expires_ms=int(row.expires_ms),
        status=ReservationStatus(row.status),
        numbers=tuple(numbers),
    )
