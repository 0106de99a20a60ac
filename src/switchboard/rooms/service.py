"""RoomsService: the rules of rooms and rosters; ``RoomDirectory`` is what calling reads.

    routes ──▶ RoomsService ──▶ validity rules (validity.py) ──▶ RoomStore
    calling ──▶ RoomDirectory (get, role_of) + Room.is_open + permissions(role, room)

Calling depends on the small read-only ``RoomDirectory`` protocol, never on the store, so it
can be tested with a dict-backed fake and rooms can change their storage freely.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from switchboard.bus.base import Bus
from switchboard.core.clock import Clock
from switchboard.core.errors import RoomNotFoundError
from switchboard.rooms.events import ROOM_EVENTS, RoomParticipantsChanged, encode_room_event
from switchboard.rooms.models import (
    ParticipantRole,
    Room,
    RoomParticipant,
    check_invitable,
    check_room_id,
    new_room_id,
)
from switchboard.rooms.store import RoomCursor, RoomIdTakenError, RoomStore
from switchboard.rooms.validity import changed_window, new_window

T = TypeVar("T")
C = TypeVar("C")

_ID_ATTEMPTS = 5  # 17 random digits: a second attempt is already astronomically unlikely


class RoomDirectory(Protocol):
    """Read-only view of rooms for the calling domain."""

    async def get(self, room_id: str) -> Room:
        """The room, or RoomNotFoundError."""
        ...

    async def role_of(self, room_id: str, raw_id: str) -> ParticipantRole | None:
        """The member's role, or None when ``raw_id`` is not invited to the room."""
        ...


@dataclass(frozen=True, slots=True)
class Page(Generic[T, C]):
    items: list[T]
    next_cursor: C | None  # None: this was the last page


class RoomsService:
    def __init__(
        self,
        store: RoomStore,
        clock: Clock,
        *,
        id_factory: Callable[[], str] = new_room_id,
        bus: Bus | None = None,
    ) -> None:
        self._bus = bus
        self._store = store
        self._clock = clock
        self._new_id = id_factory

    async def create_room(
        self,
        *,
        valid_from_ms: int | None = None,
        valid_until_ms: int | None = None,
        pstn_dial_out_enabled: bool = False,
        participants: Mapping[str, ParticipantRole | None] | None = None,
    ) -> Room:
        now = self._now_ms()
        window = new_window(now, valid_from_ms, valid_until_ms)
        # On create a null entry (allowed by the spec's example) just invites nobody.
        roster = [
            RoomParticipant(check_invitable(raw_id), role)
            for raw_id, role in (participants or {}).items()
            if role is not None
        ]
        for _ in range(_ID_ATTEMPTS):
            room = Room(
                self._new_id(),
                now,
                window.valid_from_ms,
                window.valid_until_ms,
                pstn_dial_out_enabled,
            )
            try:
                await self._store.create(room, roster)
            except RoomIdTakenError:
                continue
            return room
        raise RuntimeError("could not find a free room id")

    async def get(self, room_id: str) -> Room:
        room = await self._store.get(check_room_id(room_id))
        if room is None:
            raise _not_found(room_id)
        return room

    async def update_room(
        self,
        room_id: str,
        *,
        valid_from_ms: int | None = None,
        valid_until_ms: int | None = None,
        pstn_dial_out_enabled: bool | None = None,
    ) -> Room:
        """Merge-patch semantics: every ``None`` keeps the current value."""
        room = await self.get(room_id)
        window = changed_window(room, self._now_ms(), valid_from_ms, valid_until_ms)
        updated = Room(
            room.id,
            room.created_ms,
            window.valid_from_ms,
            window.valid_until_ms,
            room.pstn_dial_out_enabled if pstn_dial_out_enabled is None else pstn_dial_out_enabled,
        )
        if not await self._store.update(updated):
            raise _not_found(room_id)  # deleted between our read and write
        return updated

    async def delete_room(self, room_id: str) -> None:
        """Idempotent, as ACS: deleting a room that is already gone answers 204 too."""
        await self._store.delete(check_room_id(room_id))

    async def list_rooms(self, after: RoomCursor | None, limit: int) -> Page[Room, RoomCursor]:
        found = await self._store.list_rooms(after, limit + 1)
        items = found[:limit]
        more = len(found) > limit
        return Page(items, (items[-1].created_ms, items[-1].id) if more else None)

    async def list_participants(
        self, room_id: str, after: str | None, limit: int
    ) -> Page[RoomParticipant, str]:
        await self.get(room_id)
        found = await self._store.list_participants(room_id, after, limit + 1)
        items = found[:limit]
        return Page(items, items[-1].raw_id if len(found) > limit else None)

    async def change_participants(
        self, room_id: str, changes: Mapping[str, ParticipantRole | None]
    ) -> None:
        """Add or re-role members (a role) and remove them (``None``); removing a non-member
        is a no-op. Every id is validated before anything changes."""
        check_room_id(room_id)
        upserts: list[RoomParticipant] = []
        removals: list[str] = []
        for raw_id, role in changes.items():
            if role is None:
                removals.append(raw_id)
            else:
                upserts.append(RoomParticipant(check_invitable(raw_id), role))
        if not await self._store.change_participants(room_id, upserts, removals):
            raise _not_found(room_id)
        if self._bus is not None:  # live role changes in the room's call (calling/)
            await self._bus.publish(
                ROOM_EVENTS, encode_room_event(RoomParticipantsChanged(room_id))
            )

    async def role_of(self, room_id: str, raw_id: str) -> ParticipantRole | None:
        return await self._store.role_of(room_id, raw_id)

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)


def _not_found(room_id: str) -> RoomNotFoundError:
    return RoomNotFoundError(f"Room '{room_id}' was not found.", target="roomId")
