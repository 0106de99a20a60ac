"""Phones in server calls (calling/pstn) with a fake carrier: dialling a number (answered,
busy, no answer, hung up, removed) and a call to one of our numbers held as a pending server
call (not ours, no answer, rejected, answered)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from switchboard.calling import models as m
from switchboard.calling.errors import CallNotFoundError
from switchboard.calling.models import EndReason
from switchboard.calling.pstn import (
    NO_ANSWER,
    NOT_IN_SERVICE,
    IncomingPhoneCall,
    PendingCalls,
    PhoneCallListener,
    PhoneDialer,
)
from switchboard.calling.server import (
    InviteAccepted,
    InviteFailed,
    ParticipantsChanged,
    ServerCallEnded,
    ServerCallEvent,
    ServerCalls,
)
from switchboard.core.identifiers import IdentifierKind
from switchboard.media.forwarder import Forwarder
from switchboard.media.local_leg import LocalLeg
from tests.unit.test_server_calls import World, world

pytestmark = pytest.mark.anyio
__all__ = ["world"]
OURS, PHONE = "+18005550100", "+13125550123"


@dataclass
class FakePhoneCall:
    """The carrier's handle: what calling did to the call."""

    caller: str
    called: str
    listener: PhoneCallListener | None = None
    leg: LocalLeg | None = None
    hung_up: bool = False
    refused: EndReason | None = None

    def connect_media(self, leg: LocalLeg) -> None:
        self.leg = leg

    def answer(self, leg: LocalLeg) -> None:
        self.leg = leg

    def hang_up(self) -> None:
        self.hung_up = True

    def refuse(self, reason: EndReason) -> None:
        self.refused = reason


@dataclass
class FakeCarrier:
    dialled: list[FakePhoneCall] = field(default_factory=list)

    def dial(self, caller_id: str, number: str, listener: PhoneCallListener) -> FakePhoneCall:
        call = FakePhoneCall(caller_id, number, listener)
        self.dialled.append(call)
        return call


class ForwarderLegs:
    def __init__(self) -> None:
        self.forwarder = Forwarder()

    async def add_local_participant(self, call_id: str, participant_id: str) -> LocalLeg:
        return LocalLeg(call_id, participant_id, self.forwarder)


@dataclass
class Numbers:
    ours: set[str]

    async def takes_calls(self, phone_number: str) -> bool:
        return phone_number in self.ours


@dataclass
class Offers:
    calls: asyncio.Queue[IncomingPhoneCall] = field(default_factory=asyncio.Queue)

    async def incoming_call(self, call: IncomingPhoneCall) -> None:
        self.calls.put_nowait(call)


async def until(condition: Callable[[], bool]) -> None:
    """Let the dialer's and the conference's tasks run until ``condition`` holds."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def dialled_call(world: World, ring: float = 30.0) -> tuple[str, FakePhoneCall, PhoneDialer]:
    carrier = FakeCarrier()
    dialer = PhoneDialer(world.service.server_calls, ForwarderLegs(), carrier)
    await dialer.start()
    call_id, _ = await world.create()
    dialer.invite(call_id, PHONE, invitation_id="inv-1", timeout_seconds=ring, caller_id=OURS)
    [call] = carrier.dialled
    assert (call.caller, call.called) == (OURS, PHONE)
    return call_id, call, dialer


async def next_of(world: World, kind: type[ServerCallEvent]) -> ServerCallEvent:
    while True:
        event = await world.event()
        if isinstance(event, kind):
            return event


async def test_an_answered_phone_joins_as_a_participant_and_its_hang_up_ends_the_call(
    world: World,
) -> None:
    _, call, dialer = await dialled_call(world)
    assert call.listener is not None
    call.listener.answered()
    accepted = await next_of(world, InviteAccepted)
    assert isinstance(accepted, InviteAccepted) and accepted.invitation_id == "inv-1"
    assert accepted.participant.identifier.kind is IdentifierKind.PHONE_NUMBER
    assert accepted.participant.identifier.raw_id == f"4:{PHONE}"
    changed = await next_of(world, ParticipantsChanged)
    assert isinstance(changed, ParticipantsChanged) and len(changed.participants) == 1
    await until(lambda: call.leg is not None)
    assert call.leg is not None and call.leg.participant_id == accepted.participant.participant_id

    call.listener.ended()
    changed = await next_of(world, ParticipantsChanged)
    assert isinstance(changed, ParticipantsChanged) and changed.participants == ()
    assert isinstance(await next_of(world, ServerCallEnded), ServerCallEnded)
    assert call.leg.closed and not call.hung_up  # it hung up itself: nothing to tell it
    await dialer.stop()


async def test_a_phone_the_app_removes_is_hung_up(world: World) -> None:
    call_id, call, dialer = await dialled_call(world)
    assert call.listener is not None
    call.listener.answered()
    await next_of(world, InviteAccepted)
    await world.calls.remove(call_id, f"4:{PHONE}")
    await until(lambda: call.hung_up)
    assert call.leg is not None and call.leg.closed
    await dialer.stop()


async def test_busy_and_unanswered_phones_fail_the_invitation_with_acs_codes(
    world: World,
) -> None:
    _, call, dialer = await dialled_call(world)
    assert call.listener is not None
    call.listener.failed(m.BUSY)
    failed = await next_of(world, InviteFailed)
    assert isinstance(failed, InviteFailed) and (failed.reason.code, failed.reason.sub_code) == (
        486,
        0,
    )
    await dialer.stop()

    _, quiet, dialer = await dialled_call(world, ring=0.05)
    failed = await next_of(world, InviteFailed)
    assert isinstance(failed, InviteFailed) and failed.reason is m.NOT_ANSWERED
    assert quiet.hung_up  # the carrier's call is canceled
    await dialer.stop()


async def pending_calls(world: World, offers: Offers, ring: float = 30.0) -> PendingCalls:
    legs = ForwarderLegs()
    pending = PendingCalls(
        world.service.server_calls,
        ServerCalls(world.service.server_calls, legs),
        legs,
        Numbers({OURS}),
        offers,
        ring_seconds=ring,
    )
    await pending.start()
    return pending


async def test_calls_to_numbers_not_ours_are_not_in_service_and_unanswered_ones_time_out(
    world: World,
) -> None:
    offers = Offers()
    pending = await pending_calls(world, offers, ring=0.05)
    stranger = FakePhoneCall(PHONE, "+18005550199")
    pending.incoming(stranger)
    await until(lambda: stranger.refused is not None)
    assert stranger.refused is NOT_IN_SERVICE
    assert offers.calls.empty()

    lonely = FakePhoneCall(PHONE, OURS)
    pending.incoming(lonely)
    offered = await offers.calls.get()
    assert (offered.caller, offered.called) == (PHONE, OURS)
    await until(lambda: lonely.refused is not None)
    assert lonely.refused is NO_ANSWER
    with pytest.raises(CallNotFoundError):
        await pending.reject(offered.pending_id, "busy")
    await pending.stop()


async def test_a_rejected_call_hears_busy_and_an_answered_one_is_a_server_call(
    world: World,
) -> None:
    offers = Offers()
    pending = await pending_calls(world, offers)
    unwanted = FakePhoneCall(PHONE, OURS)
    pending.incoming(unwanted)
    await pending.reject((await offers.calls.get()).pending_id, "busy")
    assert unwanted.refused is m.BUSY

    wanted = FakePhoneCall(PHONE, OURS)
    pending.incoming(wanted)
    offered = await offers.calls.get()
    assert offered.server_call_id.startswith("server:") and offered.owner_node == "node-a"
    heard: list[ServerCallEvent] = []
    app_leg = await pending.answer(offered.pending_id, lambda _call_id: heard.append)
    assert app_leg.call_id == offered.server_call_id and app_leg.participant_id == "app"
    assert wanted.leg is not None and wanted.refused is None
    [changed] = [e for e in heard if isinstance(e, ParticipantsChanged)]
    assert [p.identifier.raw_id for p in changed.participants] == [f"4:{PHONE}"]
    await pending.stop()


async def test_a_phone_hanging_up_while_its_leg_joins_is_taken_out_again(world: World) -> None:
    _, call, dialer = await dialled_call(world)
    assert call.listener is not None
    call.listener.answered()
    call.listener.ended()  # before the join job ran
    assert isinstance(await next_of(world, InviteAccepted), InviteAccepted)
    changed = await next_of(world, ParticipantsChanged)
    assert isinstance(changed, ParticipantsChanged) and len(changed.participants) == 1
    changed = await next_of(world, ParticipantsChanged)
    assert isinstance(changed, ParticipantsChanged) and changed.participants == ()
    assert isinstance(await next_of(world, ServerCallEnded), ServerCallEnded)
    assert call.leg is None  # never connected to the carrier's call
    await dialer.stop()
