"""SqlRoomStore behaves the same on SQLite and PostgreSQL.

The PostgreSQL database is shared by the session, so every test uses fresh room ids, and
listings start from a cursor just before this test's own (random, past) creation times.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from switchboard.core.clock import FakeClock
from switchboard.core.errors import RoomNotFoundError
from switchboard.rooms import RoomDirectory, RoomsService
from switchboard.rooms.models import (
    ParticipantRole,
    Permission,
    Room,
    RoomParticipant,
    new_room_id,
    permissions,
)
from switchboard.rooms.store import RoomIdTakenError, SqlRoomStore
from switchboard.storage import Database

pytestmark = pytest.mark.anyio

USER = "8:acs:00000000-0000-0000-0000-000000000001_00000000-0000-0000-0000-0000000000{:02d}"


def fresh_base() -> int:
    """A creation time (2001–2004) no other test uses; still a date every renderer can show,
    since other tests list these rooms too."""
    return 1_000_000_000_000 + secrets.randbelow(10**8) * 1000


def room(created_ms: int, *, room_id: str | None = None, pstn: bool = False) -> Room:
    return Room(room_id or new_room_id(), created_ms, created_ms, created_ms + 3_600_000, pstn)


async def test_created_room_reads_back_unchanged(database: Database) -> None:
    store = SqlRoomStore(database)
    made = room(fresh_base(), pstn=True)
    await store.create(made, [RoomParticipant(USER.format(1), ParticipantRole.PRESENTER)])
    assert await store.get(made.id) == made
    assert await store.role_of(made.id, USER.format(1)) is ParticipantRole.PRESENTER
    assert await store.role_of(made.id, USER.format(2)) is None
    assert await store.get(new_room_id()) is None


async def test_taken_id_is_refused(database: Database) -> None:
    store = SqlRoomStore(database)
    made = room(fresh_base())
    await store.create(made, [])
    with pytest.raises(RoomIdTakenError):
        await store.create(room(fresh_base(), room_id=made.id), [])


async def test_update_replaces_fields_but_not_identity(database: Database) -> None:
    store = SqlRoomStore(database)
    made = room(fresh_base())
    await store.create(made, [])
    changed = Room(made.id, made.created_ms, 1, 2, True)
    assert await store.update(changed)
    assert await store.get(made.id) == changed
    assert not await store.update(room(fresh_base()))  # unknown id


async def test_delete_takes_the_roster_along(database: Database) -> None:
    store = SqlRoomStore(database)
    made = room(fresh_base())
    await store.create(made, [RoomParticipant(USER.format(1))])
    assert await store.delete(made.id)
    assert await store.get(made.id) is None
    assert await store.role_of(made.id, USER.format(1)) is None
    assert not await store.delete(made.id)


async def test_change_participants_upserts_and_removes_at_once(database: Database) -> None:
    store = SqlRoomStore(database)
    made = room(fresh_base())
    await store.create(made, [RoomParticipant(USER.format(i)) for i in range(3)])
    upserts = [
        RoomParticipant(USER.format(0), ParticipantRole.CONSUMER),
        RoomParticipant(USER.format(7), ParticipantRole.COLLABORATOR),
    ]
    assert await store.change_participants(made.id, upserts, [USER.format(1), USER.format(9)])
    listed = await store.list_participants(made.id, None, 10)
    assert listed == [
        RoomParticipant(USER.format(0), ParticipantRole.CONSUMER),
        RoomParticipant(USER.format(2), ParticipantRole.ATTENDEE),
        RoomParticipant(USER.format(7), ParticipantRole.COLLABORATOR),
    ]
    assert not await store.change_participants(new_room_id(), upserts, [])


async def test_large_rosters_are_written_in_batches(database: Database) -> None:
    store = SqlRoomStore(database)
    made = room(fresh_base())
    roster = [RoomParticipant(f"8:acs:r_{i:05d}") for i in range(1200)]
    await store.create(made, roster)
    listed = await store.list_participants(made.id, None, 2000)
    assert len(listed) == 1200


async def test_participant_pages_resume_after_the_cursor(database: Database) -> None:
    store = SqlRoomStore(database)
    made = room(fresh_base())
    await store.create(made, [RoomParticipant(USER.format(i)) for i in range(5)])
    first = await store.list_participants(made.id, None, 2)
    rest = await store.list_participants(made.id, first[-1].raw_id, 10)
    assert [p.raw_id for p in first + rest] == [USER.format(i) for i in range(5)]


async def test_room_pages_are_stable_while_rooms_are_created(database: Database) -> None:
    store = SqlRoomStore(database)
    base = fresh_base()
    # Two rooms share a creation time: the id breaks the tie.
    made = [room(base), room(base), room(base + 1), room(base + 2)]
    for r in made:
        await store.create(r, [])
    expected = sorted(made, key=lambda r: (r.created_ms, r.id))
    first = await store.list_rooms((base - 1, ""), 2)
    assert first == expected[:2]
    await store.create(room(base + 3), [])  # appears at the end, after the cursor
    rest = await store.list_rooms((first[-1].created_ms, first[-1].id), 2)
    assert rest == expected[2:]


async def test_concurrent_roster_changes_all_land(database: Database) -> None:
    store = SqlRoomStore(database)
    made = room(fresh_base())
    await store.create(made, [])
    await asyncio.gather(
        *(
            store.change_participants(made.id, [RoomParticipant(USER.format(i))], [])
            for i in range(8)
        )
    )
    assert len(await store.list_participants(made.id, None, 20)) == 8


async def test_rooms_service_is_the_directory_calling_reads(database: Database) -> None:
    clock = FakeClock(time.time())
    service = RoomsService(SqlRoomStore(database), clock)
    made = await service.create_room(
        pstn_dial_out_enabled=True,
        participants={USER.format(1): ParticipantRole.PRESENTER, USER.format(2): None},
    )
    directory: RoomDirectory = service  # calling depends on this protocol only
    room = await directory.get(made.id)
    now_ms = int(clock.now() * 1000)
    assert room.is_open(now_ms)
    role = await directory.role_of(made.id, USER.format(1))
    assert Permission.DIAL_OUT in permissions(role, room)
    assert await directory.role_of(made.id, USER.format(2)) is None
    assert permissions(await directory.role_of(made.id, USER.format(3)), room) == frozenset()
    clock.advance(181 * 86400)
    assert not room.is_open(int(clock.now() * 1000))
    with pytest.raises(RoomNotFoundError):
        await directory.get(new_room_id())
