"""One contract for push registrations and the push outbox, held against the in-memory stores
and the SQL ones on SQLite and PostgreSQL: refresh by re-registering, expiry, removal with the
user and by dead token; the outbox's order, leases, retries and survival of a lost claim."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from switchboard.push.models import Notification, NotificationKind, PushJob, PushKind, Registration
from switchboard.push.store import PushOutbox, RegistrationStore
from switchboard.push.store_memory import MemoryPushOutbox, MemoryRegistrationStore
from switchboard.push.store_sql import SqlPushOutbox, SqlRegistrationStore
from switchboard.storage.database import Database

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000


@dataclass
class Stores:
    registrations: RegistrationStore
    outbox: PushOutbox


@pytest.fixture
async def stores(backend_url: str | None) -> AsyncIterator[Stores]:
    if backend_url is None:
        yield Stores(MemoryRegistrationStore(), MemoryPushOutbox())
        return
    database = Database(backend_url)
    await database.start()
    try:
        yield Stores(SqlRegistrationStore(database), SqlPushOutbox(database))
    finally:
        await database.stop()


def _user() -> str:
    return f"8:acs:r_{uuid.uuid4().hex}"


def _reg(user: str, device: str, *, token: str = "tok", expires: int = NOW + 1000) -> Registration:
    return Registration(user, device, PushKind.FCM, token, "proj", "", "", NOW, expires)


def _job(user: str, n: int) -> PushJob:
    note = Notification(NotificationKind.TEST, {"n": n})
    return PushJob(uuid.uuid4().hex, user, "dev", note, NOW, due_ms=NOW)


async def test_registering_again_refreshes_the_device(stores: Stores) -> None:
    user = _user()
    await stores.registrations.put(_reg(user, "a", expires=NOW + 10))
    await stores.registrations.put(_reg(user, "a", token="new", expires=NOW + 1000))
    found = await stores.registrations.of_user(user, NOW + 500)
    assert [(r.device_id, r.token) for r in found] == [("a", "new")]
    assert await stores.registrations.get(user, "a") == found[0]


async def test_expired_registrations_are_not_targets_and_are_pruned(stores: Stores) -> None:
    user = _user()
    await stores.registrations.put(_reg(user, "old", expires=NOW + 10))
    await stores.registrations.put(_reg(user, "new", expires=NOW + 1000))
    assert [r.device_id for r in await stores.registrations.of_user(user, NOW + 10)] == ["new"]
    assert await stores.registrations.prune(NOW + 10) >= 1
    assert await stores.registrations.get(user, "old") is None


async def test_a_deleted_user_and_a_dead_token_lose_their_registrations(stores: Stores) -> None:
    user, other = _user(), _user()
    dead = uuid.uuid4().hex
    await stores.registrations.put(_reg(user, "a"))
    await stores.registrations.put(_reg(user, "b"))
    await stores.registrations.put(_reg(other, "c", token=dead))
    await stores.registrations.put(_reg(other, "d"))
    assert await stores.registrations.remove_user(user) == 2
    assert await stores.registrations.of_user(user, NOW) == []
    assert await stores.registrations.remove_token(PushKind.FCM, dead) == 1
    assert [r.device_id for r in await stores.registrations.of_user(other, NOW)] == ["d"]
    assert await stores.registrations.remove(other, "d")
    assert not await stores.registrations.remove(other, "d")


async def test_the_outbox_hands_out_due_jobs_in_order_under_a_lease(stores: Stores) -> None:
    user = _user()
    jobs = [_job(user, n) for n in range(3)]
    await stores.outbox.add(jobs)
    claimed = await stores.outbox.claim(NOW, 2, 5_000)
    assert [j.notification.data["n"] for j in claimed] == [0, 1]
    assert claimed[0].notification == jobs[0].notification
    rest = await stores.outbox.claim(NOW, 10, 5_000)
    assert [j.id for j in rest] == [jobs[2].id]  # leased ones are not handed out twice
    assert await stores.outbox.claim(NOW + 1, 10, 5_000) == []
    # A claimer that died: its jobs come back when the lease is over.
    again = await stores.outbox.claim(NOW + 5_000, 10, 5_000)
    assert {j.id for j in again} == {j.id for j in jobs}
    await stores.outbox.done([j.id for j in again])
    assert await stores.outbox.pending() == 0


async def test_a_job_not_taken_is_due_again_later_with_its_attempt_counted(
    stores: Stores,
) -> None:
    job = _job(_user(), 1)
    await stores.outbox.add([job])
    [claimed] = await stores.outbox.claim(NOW, 1, 5_000)
    await stores.outbox.retry(claimed, NOW + 100)
    assert await stores.outbox.claim(NOW + 99, 1, 5_000) == []
    [again] = await stores.outbox.claim(NOW + 100, 1, 5_000)
    assert again.attempts == 1
    assert await stores.outbox.pending() == 1


async def test_a_job_owed_twice_is_owed_once(stores: Stores) -> None:
    job = _job(_user(), 1)
    await stores.outbox.add([job])
    await stores.outbox.add([job, _job(job.user_id, 2)])
    assert len(await stores.outbox.claim(NOW, 10, 1_000)) == 2


async def test_a_streams_jobs_and_its_position_are_written_once_by_one_reader(
    stores: Stores,
) -> None:
    """Two nodes read the same stream: the second writes only what lies past the first's
    position; the position never goes back; a stream never read starts where it is told."""
    stream = uuid.uuid4().hex[:30]
    user = _user()
    outbox = stores.outbox
    assert await outbox.stream_position(stream, 10) == 10
    assert await outbox.stream_position(stream, 99) == 10  # started already
    first = [(11, _job(user, 11)), (12, _job(user, 12))]
    assert await outbox.owe_from_stream(stream, 12, first) == [job for _, job in first]
    # Another node saw 11..13 too (its own job ids): only 13's job is new to the outbox.
    second = [(11, _job(user, 111)), (13, _job(user, 13))]
    assert await outbox.owe_from_stream(stream, 13, second) == [second[1][1]]
    assert await outbox.owe_from_stream(stream, 12, [(12, _job(user, 212))]) == []  # behind
    assert await outbox.stream_position(stream, 0) == 13
    mine = {j.id for j in await outbox.claim(NOW, 100, 1000) if j.user_id == user}
    assert mine == {first[0][1].id, first[1][1].id, second[1][1].id}
    assert await outbox.owe_from_stream(stream, 20, []) == []  # nothing owed: position only
    assert await outbox.stream_position(stream, 0) == 20
