"""A page reloading mid-call (docs/calling-protocol.md "Reconnection"): its unregister names the
1:1 calls the new page resumes; the registry keeps the device for those a few seconds and ends
every other call for it at once; no page back in time, and the kept calls end as hung up."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.calling import models as m
from switchboard.calling.routing.local import LocalCallRouter
from switchboard.calling.routing.messages import ForOwner, Lost
from switchboard.calling.signaling import registration
from switchboard.calling.signaling.hub import DeviceHub, LocalDevice
from switchboard.calling.signaling.registration import DeviceRegistry
from switchboard.core.clock import FakeClock

pytestmark = pytest.mark.anyio


class RecordingRouter(LocalCallRouter):
    """What the registry tells the calls' owners."""

    def __init__(self) -> None:
        super().__init__("n1")
        self.lost: list[tuple[str, int, int]] = []

    def to_owner(self, node: str, message: ForOwner) -> None:
        if isinstance(message, Lost):
            self.lost.append((message.call, message.reason.code, message.reason.sub_code))


class Socket:
    def send(self, text: str) -> None:
        pass

    def close(self, code: int, reason: str) -> None:
        pass

    def recheck(self) -> None:
        pass


def in_calls(registry: DeviceRegistry, socket: Socket) -> LocalDevice:
    device, _ = registry.register("user", None, None, socket)
    device.calls.update({"one-to-one": "n1", "group": "n1", "ringing": "n1"})
    device.active.update({"one-to-one", "group"})
    return device


@pytest.fixture
def router() -> RecordingRouter:
    return RecordingRouter()


@pytest.fixture
def registry(router: RecordingRouter) -> DeviceRegistry:
    return DeviceRegistry(
        DeviceHub("n1"),
        ice_servers=lambda _: [],
        heartbeat_seconds=15.0,
        reconnect_grace_seconds=60.0,
        clock=FakeClock(),
        router=router,
    )


async def test_the_new_page_resumes_the_device_with_the_kept_call_only(
    registry: DeviceRegistry, router: RecordingRouter
) -> None:
    old_page = Socket()
    device = in_calls(registry, old_page)
    registry.reloading(device, old_page, {"one-to-one"})
    hung_up = (m.HUNG_UP.code, m.HUNG_UP.sub_code)
    assert sorted(router.lost) == [("group", *hung_up), ("ringing", *hung_up)]
    assert device.connection is None and set(device.calls) == {"one-to-one"}

    _, ack = registry.register("user", device.device_id, 7, Socket())
    assert (ack.resumed, ack.calls) == (True, ["one-to-one"])
    registry.stop()


async def test_no_page_back_in_time_ends_the_kept_call_as_hung_up(
    registry: DeviceRegistry, router: RecordingRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registration, "PAGE_RELOAD_SECONDS", 0.01)
    old_page = Socket()
    device = in_calls(registry, old_page)
    registry.reloading(device, old_page, {"one-to-one"})
    await asyncio.sleep(0.05)  # past the (patched) 10 ms wait for the new page
    assert ("one-to-one", m.HUNG_UP.code, m.HUNG_UP.sub_code) in router.lost
    assert not device.calls


async def test_a_page_that_keeps_nothing_it_is_active_in_is_dropped_at_once(
    registry: DeviceRegistry, router: RecordingRouter
) -> None:
    """Only calls the device placed or accepted can be kept (not one merely ringing)."""
    old_page = Socket()
    device = in_calls(registry, old_page)
    registry.reloading(device, old_page, {"ringing"})
    assert len(router.lost) == 3 and not device.calls
    _, ack = registry.register("user", device.device_id, 7, Socket())
    assert ack.resumed is False
