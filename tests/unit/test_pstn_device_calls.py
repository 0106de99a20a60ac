"""A device's startCall to a phone number (calling/pstn/outgoing.py) on one node with fakes
(media node, carrier, sockets): the states it is shown, the caller id rule, and how each side's
hang-up or the carrier's failure ends the other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from switchboard.calling import models as m
from switchboard.calling.pstn.dialing import PhoneDialer
from switchboard.calling.pstn.outgoing import PhoneCallsFromDevices
from switchboard.calling.pstn.ports import RingingListener
from switchboard.calling.signaling.hub import LocalDevice
from switchboard.calling.signaling.requests import HangUp, StartCall
from tests.unit.test_media_negotiation import CHROMIUM_OFFER
from tests.unit.test_pstn_calls import FakeCarrier, FakePhoneCall, ForwarderLegs, until
from tests.unit.test_server_calls import Socket, World, world

pytestmark = pytest.mark.anyio
__all__ = ["world"]
ALICE = "8:acs:r_alice"
OURS, PHONE = "+18005550100", "+13125550123"


@dataclass
class CallerIds:
    ours: set[str]

    async def may_call_from(self, phone_number: str) -> bool:
        return phone_number in self.ours


@dataclass
class Dialling:
    world: World
    carrier: FakeCarrier
    calls: PhoneCallsFromDevices


@pytest.fixture
async def dialling(world: World) -> AsyncIterator[Dialling]:
    carrier = FakeCarrier()
    host = world.service.server_calls
    dialer = PhoneDialer(host, ForwarderLegs(), carrier)
    calls = PhoneCallsFromDevices(host, dialer, CallerIds({OURS}), ring_seconds=30.0)
    await dialer.start()
    await calls.start()
    world.service.phone_calls = calls
    yield Dialling(world, carrier, calls)
    await calls.stop()
    await dialer.stop()


def start(number: str = PHONE, caller_id: str | None = OURS) -> StartCall:
    return StartCall(
        id="start",
        targets=[{"rawId": f"4:{number}", "phoneNumber": {"value": number}}],
        alternate_caller_id=(
            {"rawId": f"4:{caller_id}", "phoneNumber": {"value": caller_id}} if caller_id else None
        ),
        description={"type": "offer", "sdp": CHROMIUM_OFFER},
    )


async def dialled(dialling: Dialling) -> tuple[str, LocalDevice, Socket, FakePhoneCall]:
    """Alice calls PHONE: the ack, Connecting, and the carrier dialled (no Ringing yet)."""
    device, socket = dialling.world.device(ALICE)
    dialling.world.service.handle(device, start())
    acked = await socket.next("ack")
    assert acked["ok"] and acked["callId"].startswith("server:")
    assert acked["state"] == "Connecting"
    assert (await socket.next("callUpdated"))["state"] == "Connecting"
    await until(lambda: bool(dialling.carrier.dialled))
    [phone] = dialling.carrier.dialled
    assert (phone.caller, phone.called) == (OURS, PHONE)
    return str(acked["callId"]), device, socket, phone


async def rang(dialling: Dialling) -> tuple[str, LocalDevice, Socket, FakePhoneCall]:
    """…and the carrier says the phone rings (180/183): the device is shown Ringing."""
    call_id, device, socket, phone = await dialled(dialling)
    assert isinstance(phone.listener, RingingListener)
    phone.listener.ringing()
    assert (await socket.next("callUpdated"))["state"] == "Ringing"
    phone.listener.ringing()  # told once: a 183 after the 180 changes nothing
    return call_id, device, socket, phone


async def test_a_phone_answering_without_ringing_takes_the_device_from_connecting_to_connected(
    dialling: Dialling,
) -> None:
    _, _, socket, phone = await dialled(dialling)
    assert phone.listener is not None
    phone.listener.answered()
    await socket.next("participantsUpdated")
    assert (await socket.next("callUpdated"))["state"] == "Connected"
    assert isinstance(phone.listener, RingingListener)
    phone.listener.ringing()  # late (after the answer): nothing more is shown
    phone.listener.ended()
    states = []
    while (frame := await socket.frames.get())["type"] != "callEnded":
        if frame["type"] == "callUpdated":
            states.append(frame["state"])
    assert "Ringing" not in states
    assert (frame["reason"]["code"], frame["reason"]["subCode"]) == (0, 0)


async def test_the_device_is_ringing_until_the_phone_answers_then_connected_with_it(
    dialling: Dialling,
) -> None:
    _, _, socket, phone = await rang(dialling)
    assert phone.listener is not None
    phone.listener.answered()
    added = await socket.next("participantsUpdated")
    assert [p["identifier"]["rawId"] for p in added["added"]] == [f"4:{PHONE}"]
    connected = await socket.next("callUpdated")
    assert connected["state"] == "Connected"
    assert [p["identifier"]["rawId"] for p in connected["participants"]] == [f"4:{PHONE}"]
    await until(lambda: phone.leg is not None)

    phone.listener.ended()  # the phone hangs up: the device's call is over
    ended = await socket.next("callEnded")
    assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (0, 0)


async def test_the_device_hanging_up_hangs_up_the_phone(dialling: Dialling) -> None:
    call_id, device, socket, phone = await rang(dialling)
    assert phone.listener is not None
    phone.listener.answered()
    await socket.next("participantsUpdated")
    dialling.world.send(device, HangUp(id="bye", call_id=call_id))
    ended = await socket.next("callEnded")
    assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (0, 0)
    await until(lambda: phone.hung_up)


async def test_hanging_up_while_it_rings_cancels_the_dial(dialling: Dialling) -> None:
    call_id, device, socket, phone = await rang(dialling)
    dialling.world.send(device, HangUp(id="bye", call_id=call_id))
    await socket.next("callEnded")
    await until(lambda: phone.hung_up)
    assert not dialling.calls.calls  # the call is forgotten


async def test_the_carriers_failure_ends_the_devices_call_with_its_reason(
    dialling: Dialling,
) -> None:
    _, _, socket, phone = await rang(dialling)
    assert phone.listener is not None
    phone.listener.failed(m.BUSY)
    ended = await socket.next("callEnded")
    assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (486, 0)


@pytest.mark.parametrize("caller_id", [None, "+18005550199"])
async def test_a_caller_id_that_is_missing_or_not_ours_is_refused(
    dialling: Dialling, caller_id: str | None
) -> None:
    device, socket = dialling.world.device(ALICE)
    dialling.world.service.handle(device, start(caller_id=caller_id))
    refused = await socket.next("ack")
    assert not refused["ok"] and refused["error"]["code"] == "InvalidAlternateCallerId"
    assert not dialling.carrier.dialled and not device.calls
