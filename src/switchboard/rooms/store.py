"""Rooms storage: the ``RoomStore`` protocol and its SQL implementation.

Listings are keyset pages: rooms in (created_ms, id) order, participants in raw id order,
each page starting strictly after the last item of the previous one. A page boundary is
therefore stable while rooms are created or deleted: nothing listed twice, nothing skipped
that existed for the whole walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.rooms.models import ParticipantRole, Room, RoomParticipant
from switchboard.storage.database import Database, metadata

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("valid_from_ms", sa.BigInteger, nullable=False),
    sa.Column("valid_until_ms", sa.BigInteger, nullable=False),
    sa.Column("pstn_dial_out_enabled", sa.Boolean, nullable=False),
    sa.Index("ix_rooms_created", "created_ms", "id"),
)

room_participants = sa.Table(
    "room_participants",
    metadata,
    sa.Column(
        "room_id", sa.String(40), sa.ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("raw_id", sa.String(300), primary_key=True),
    sa.Column("role", sa.String(32), nullable=False),
)

_UPSERT_BATCH = 500

RoomCursor = tuple[int, str]
"""Where a room listing resumes: the (created_ms, id) of the last room already listed."""


class RoomIdTakenError(Exception):
    """``create`` was given an id that is already in use (the caller picks another)."""


class RoomStore(Protocol):
    async def create(self, room: Room, participants: Sequence[RoomParticipant]) -> None:
        """Store a new room with its roster; RoomIdTakenError if the id exists."""
        ...

    async def get(self, room_id: str) -> Room | None: ...

    async def update(self, room: Room) -> bool:
        """Replace a room's fields; False if there is no such room."""
        ...

    async def delete(self, room_id: str) -> bool:
        """Remove a room and its roster; False if there was no such room."""
        ...

    async def list_rooms(self, after: RoomCursor | None, limit: int) -> list[Room]: ...

    async def list_participants(
        self, room_id: str, after: str | None, limit: int
    ) -> list[RoomParticipant]: ...

    async def change_participants(
        self, room_id: str, upserts: Sequence[RoomParticipant], removals: Sequence[str]
    ) -> bool:
        """Add or re-role ``upserts`` and drop ``removals`` at once; False if no such room."""
        ...

    async def role_of(self, room_id: str, raw_id: str) -> ParticipantRole | None: ...


class SqlRoomStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, room: Room, participants: Sequence[RoomParticipant]) -> None:
        try:
            async with self._db.write() as conn:
                await conn.execute(rooms.insert().values(**_room_values(room)))
                await _upsert(conn, room.id, participants)
        except IntegrityError as exc:
            raise RoomIdTakenError(room.id) from exc

    async def get(self, room_id: str) -> Room | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(rooms).where(rooms.c.id == room_id))).first()
        return None if row is None else _room(row)

    async def update(self, room: Room) -> bool:
        values = _room_values(room)
        del values["id"], values["created_ms"]
        async with self._db.write() as conn:
            result = await conn.execute(rooms.update().where(rooms.c.id == room.id).values(values))
        return result.rowcount == 1

    async def delete(self, room_id: str) -> bool:
        async with self._db.write() as conn:
            # Explicit, not only ON DELETE CASCADE: correct even where the pragma is off.
            await conn.execute(
                room_participants.delete().where(room_participants.c.room_id == room_id)
            )
            result = await conn.execute(rooms.delete().where(rooms.c.id == room_id))
        return result.rowcount == 1

    async def list_rooms(self, after: RoomCursor | None, limit: int) -> list[Room]:
        query = sa.select(rooms).order_by(rooms.c.created_ms, rooms.c.id).limit(limit)
        if after is not None:
            query = query.where(sa.tuple_(rooms.c.created_ms, rooms.c.id) > sa.tuple_(*after))
        async with self._db.read() as conn:
            return [_room(row) for row in await conn.execute(query)]

    async def list_participants(
        self, room_id: str, after: str | None, limit: int
    ) -> list[RoomParticipant]:
        p = room_participants
        query = sa.select(p.c.raw_id, p.c.role).where(p.c.room_id == room_id)
        if after is not None:
            query = query.where(p.c.raw_id > after)
        query = query.order_by(p.c.raw_id).limit(limit)
        async with self._db.read() as conn:
            rows = await conn.execute(query)
            return [RoomParticipant(row.raw_id, ParticipantRole(row.role)) for row in rows]

    async def change_participants(
        self, room_id: str, upserts: Sequence[RoomParticipant], removals: Sequence[str]
    ) -> bool:
        p = room_participants
        async with self._db.write() as conn:
            # FOR UPDATE holds off a concurrent delete of the room (ignored by SQLite, whose
            # write transactions are serial anyway).
            found = await conn.scalar(
                sa.select(rooms.c.id).where(rooms.c.id == room_id).with_for_update()
            )
            if found is None:
                return False
            if removals:
                await conn.execute(
                    p.delete().where(p.c.room_id == room_id, p.c.raw_id.in_(removals))
                )
            await _upsert(conn, room_id, upserts)
        return True

    async def role_of(self, room_id: str, raw_id: str) -> ParticipantRole | None:
        p = room_participants
        async with self._db.read() as conn:
            role = await conn.scalar(
                sa.select(p.c.role).where(p.c.room_id == room_id, p.c.raw_id == raw_id)
            )
        return None if role is None else ParticipantRole(role)


async def _upsert(
    conn: AsyncConnection, room_id: str, participants: Sequence[RoomParticipant]
) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # Batches keep a statement under SQLite's bound-parameter limit for any body size.
    for start in range(0, len(participants), _UPSERT_BATCH):
        batch = participants[start : start + _UPSERT_BATCH]
        insert: Any = dialect.insert(room_participants).values(
            [{"room_id": room_id, "raw_id": p.raw_id, "role": p.role.value} for p in batch]
        )
        await conn.execute(
            insert.on_conflict_do_update(
                index_elements=["room_id", "raw_id"], set_={"role": insert.excluded.role}
            )
        )


def _room_values(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "created_ms": room.created_ms,
        "valid_from_ms": room.valid_from_ms,
        "valid_until_ms": room.valid_until_ms,
        "pstn_dial_out_enabled": room.pstn_dial_out_enabled,
    }


def _room(row: Any) -> Room:
    return Room(
        row.id,
        row.created_ms,
        row.valid_from_ms,
        row.valid_until_ms,
        bool(row.pstn_dial_out_enabled),
    )
