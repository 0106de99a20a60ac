"""The push outbox's worker against the Web Push fake, on a fake clock: dead devices are
forgotten, a provider down for a minute delays but loses nothing, Retry-After is honoured, a
deleted user is never pushed, a call push past its TTL is dropped, and jobs a dead node had
claimed are sent by the next one."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from switchboard.core.clock import FakeClock
from switchboard.push.dispatcher import DispatchSettings, PushDispatcher
from switchboard.push.models import Notification, NotificationKind, PushKind
from switchboard.push.service import NewRegistration, PushService
from switchboard.push.store import PushOutbox
from switchboard.push.store_memory import MemoryPushOutbox, MemoryRegistrationStore
from switchboard.push.store_sql import SqlPushOutbox
from switchboard.storage.database import Database
from tests.push.providers import Wired, wired

pytestmark = pytest.mark.anyio

USER = "8:acs:r_bob"
MESSAGE = Notification(
    NotificationKind.CHAT_MESSAGE, {"threadId": "t", "messageId": "1"}, ttl_seconds=3600
)
CALL = Notification(NotificationKind.INCOMING_CALL, {"callId": "c"}, ttl_seconds=45)
SETTINGS = DispatchSettings(first_backoff_seconds=1, max_backoff_seconds=10, lease_seconds=30)


@dataclass
class Users:
    deleted: set[str] = field(default_factory=set)

    async def is_live(self, user_id: str) -> bool:
        return user_id not in self.deleted


@dataclass
class Rig:
    wired: Wired
    clock: FakeClock
    service: PushService
    dispatcher: PushDispatcher
    registrations: MemoryRegistrationStore
    outbox: PushOutbox
    users: Users

    async def register(self, device_id: str = "d1") -> str:
        device = self.wired.device(USER, device_id)
        await self.service.register(
            USER,
            NewRegistration(
                device_id, PushKind.WEBPUSH, device.token, "", device.p256dh, device.auth
            ),
        )
        return self.wired.fake_token(device)

    def clock_ms(self) -> int:
        return int(self.clock.now() * 1000)

    async def drain(self) -> None:
        while await self.dispatcher.run_once():
            pass

    async def step(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.drain()


async def _noop(url: str) -> None:
    return None


def rig_on(
    pair: Wired,
    clock: FakeClock,
    outbox: PushOutbox,
    registrations: MemoryRegistrationStore | None = None,
) -> Rig:
    registrations = registrations or MemoryRegistrationStore()
    service = PushService(
        registrations, outbox, kinds=[PushKind.WEBPUSH], clock=clock, check_url=_noop
    )
    users = Users()
    dispatcher = PushDispatcher(
        outbox,
        registrations,
        {PushKind.WEBPUSH: pair.provider},
        users,
        clock=clock,
        settings=SETTINGS,
    )
    return Rig(pair, clock, service, dispatcher, registrations, outbox, users)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = FakeClock(time.time())  # the fake checks VAPID times against the real clock
    async with wired(PushKind.WEBPUSH, clock) as pair:
        yield rig_on(pair, clock, MemoryPushOutbox())


async def test_a_dead_device_is_forgotten(rig: Rig) -> None:
    token = await rig.register()
    rig.wired.service.dead.add(token)
    await rig.service.notify(USER, MESSAGE)
    await rig.drain()
    assert await rig.service.registrations(USER) == []
    assert await rig.outbox.pending() == 0


async def test_a_provider_down_for_a_minute_delays_but_loses_nothing(rig: Rig) -> None:
    await rig.register()
    await rig.wired.service.stop()
    for n in range(3):
        await rig.service.notify(USER, Notification(MESSAGE.kind, {"n": n}, ttl_seconds=3600))
    await rig.drain()
    for _ in range(12):  # a minute, in steps of five seconds
        await rig.step(5)
    assert await rig.outbox.pending() == 3
    await rig.wired.service.restart()
    await rig.step(10)  # the backoff is capped at 10 s here
    assert sorted(p.payload["n"] for p in rig.wired.service.received) == [0, 1, 2]
    assert await rig.outbox.pending() == 0


async def test_429_retry_after_is_honoured(rig: Rig) -> None:
    await rig.register()
    rig.wired.service.fail_next.append((429, "7"))
    await rig.service.notify(USER, MESSAGE)
    await rig.drain()
    await rig.step(6.9)
    assert rig.wired.service.received == []
    await rig.step(0.1)
    assert len(rig.wired.service.received) == 1


async def test_a_deleted_user_is_not_pushed_and_loses_the_registrations(rig: Rig) -> None:
    await rig.register("d1")
    await rig.register("d2")
    await rig.service.notify(USER, MESSAGE)
    rig.users.deleted.add(USER)
    await rig.drain()
    assert rig.wired.service.received == []
    assert await rig.registrations.of_user(USER, 0) == []


async def test_an_incoming_call_push_past_its_ttl_is_dropped(rig: Rig) -> None:
    await rig.register()
    rig.wired.service.fail_next.extend([(503, None)] * 10)
    await rig.service.notify(USER, CALL)
    for _ in range(10):
        await rig.step(8)
    assert await rig.outbox.pending() == 0
    assert rig.wired.service.received == []


async def test_live_devices_are_skipped_and_each_other_device_gets_one(rig: Rig) -> None:
    await rig.register("live")
    await rig.register("away1")
    await rig.register("away2")
    jobs = await rig.service.notify(USER, CALL, skip={"live"})
    assert sorted(j.device_id for j in jobs) == ["away1", "away2"]
    await rig.drain()
    assert len(rig.wired.service.received) == 2


async def test_jobs_a_crashed_node_had_claimed_are_sent_after_a_restart(tmp_path: Path) -> None:
    """Node 1 owes three pushes (durable), claims them and dies without sending; node 2,
    started on the same database, sends them once the dead node's lease runs out."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'push.db'}"
    clock = FakeClock(time.time())
    async with wired(PushKind.WEBPUSH, clock) as pair:
        first = Database(url)
        await first.start()
        rig = rig_on(pair, clock, SqlPushOutbox(first))
        token = await rig.register()
        for n in range(3):
            await rig.service.notify(USER, Notification(MESSAGE.kind, {"n": n}, ttl_seconds=600))
        assert len(await SqlPushOutbox(first).claim(rig.clock_ms(), 10, 30_000)) == 3
        await first.stop()  # the node is gone with its claim

        second = Database(url)
        await second.start()
        try:
            restarted = rig_on(pair, clock, SqlPushOutbox(second), rig.registrations)
            await restarted.drain()
            assert pair.service.received == []  # still leased to the dead node
            await restarted.step(30)
            assert sorted(p.payload["n"] for p in pair.service.received) == [0, 1, 2]
            assert {p.token for p in pair.service.received} == {token}
            assert await restarted.outbox.pending() == 0
        finally:
            await second.stop()


async def test_the_same_subscription_from_a_new_device_replaces_the_old_entry(rig: Rig) -> None:
    device = rig.wired.device(USER, "old")
    for device_id in ("old", "new"):
        await rig.service.register(
            USER,
            NewRegistration(
                device_id, PushKind.WEBPUSH, device.token, "", device.p256dh, device.auth
            ),
        )
    assert [r.device_id for r in await rig.service.registrations(USER)] == ["new"]
    await rig.service.notify(USER, MESSAGE)
    await rig.drain()
    assert len(rig.wired.service.received) == 1
