"""ServerCalls on one node with fakes (media node, legs, sockets): the rules of server calls —
ringing, accept as a join, remove, mute, terminate, leave, and what the app hears."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from switchboard.bus.memory import MemoryBus
from switchboard.calling.conference.placement import LocalPlacement
from switchboard.calling.eventgrid import integration_event
from switchboard.calling.lifecycle import Lifecycle, LifecycleKind
from switchboard.calling.routing.local import LocalCallRouter
from switchboard.calling.server import (
    InviteAccepted,
    InviteCanceled,
    InviteFailed,
    ParticipantRemoved,
    ParticipantsChanged,
    ServerCallEnded,
    ServerCallEvent,
    ServerCalls,
    new_server_call_id,
)
from switchboard.calling.service import CallingService, CallingSettings
from switchboard.calling.signaling.hub import LocalDevice
from switchboard.calling.signaling.requests import Accept, CallRequests, HangUp, Reject
from switchboard.core.clock import FakeClock
from switchboard.media.data_router import DataRoute
from switchboard.media.local_leg import LocalLeg
from switchboard.media.node import SubscriberOptions, TrackSpec, TransportParams
from switchboard.media.participant import OutgoingStream
from switchboard.media.recording_leg import RecordingLeg
from switchboard.media.streams import MediaKind
from tests.unit.test_media_negotiation import CHROMIUM_OFFER

pytestmark = pytest.mark.anyio
BOB, CAROL = "8:acs:r_bob", "8:acs:r_carol"


class FakeMediaNode:
    """The SFU as the conference drives it: records, answers, forwards nothing."""

    def __init__(self) -> None:
        self.calls: set[str] = set()
        self.muted: list[tuple[str, MediaKind, bool]] = []
        self.apart: list[tuple[str, frozenset[str] | None]] = []
        self.data_routes: dict[tuple[str, int], DataRoute] = {}

    async def create_call(self, call_id: str) -> None:
        self.calls.add(call_id)

    async def end_call(self, call_id: str) -> None:
        self.calls.discard(call_id)

    async def add_participant(
        self, call_id: str, participant_id: str, options: SubscriberOptions
    ) -> TransportParams:
        return TransportParams(
            "127.0.0.1", 40000, "ufrag", "pwd" * 8, "sha-256 " + "AB:" * 31 + "AB"
        )

    async def remove_participant(self, call_id: str, participant_id: str) -> None:
        return None

    async def add_local_participant(self, call_id: str, participant_id: str) -> LocalLeg:
        raise AssertionError("these tests give ServerCalls their own legs")

    async def add_recording_leg(self, *args: Any, **kwargs: Any) -> RecordingLeg:
        raise AssertionError("these tests record nothing")

    async def set_keys(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def expect_peer(
        self, call_id: str, participant_id: str, ice_ufrag: str, fingerprint: str
    ) -> None:
        return None

    async def publish(self, call_id: str, participant_id: str, track: TrackSpec) -> None:
        return None

    async def unpublish(self, call_id: str, participant_id: str, ssrc: int) -> None:
        return None

    async def set_muted(
        self, call_id: str, participant_id: str, kind: MediaKind, muted: bool
    ) -> None:
        self.muted.append((participant_id, kind, muted))

    async def set_max_video(self, call_id: str, participant_id: str, max_video: int) -> None:
        return None

    async def set_apart(
        self, call_id: str, participant_id: str, kept_with: frozenset[str] | None
    ) -> None:
        self.apart.append((participant_id, kept_with))

    async def set_data_route(
        self, call_id: str, participant_id: str, channel_id: int, route: DataRoute | None
    ) -> None:
        if route is None:
            self.data_routes.pop((participant_id, channel_id), None)
        else:
            self.data_routes[(participant_id, channel_id)] = route

    async def streams(self, call_id: str, participant_id: str) -> list[OutgoingStream]:
        return []


@dataclass
class FakeLeg:
    call_id: str
    participant_id: str
    closed: bool = False

    async def close(self) -> None:
        self.closed = True


class FakeLegs:
    def __init__(self, node: FakeMediaNode) -> None:
        self.node = node

    async def add_local_participant(self, call_id: str, participant_id: str) -> FakeLeg:
        assert call_id in self.node.calls  # the call is on the SFU before the app's leg
        return FakeLeg(call_id, participant_id)


@dataclass
class Socket:
    """A device's socket: every frame the server sends, in order."""

    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    def send(self, text: str) -> None:
        self.frames.put_nowait(json.loads(text))

    def close(self, code: int, reason: str) -> None:
        return None

    def recheck(self) -> None:
        return None

    async def next(self, kind: str) -> dict[str, Any]:
        """The next frame of that type (others skipped)."""
        while True:
            frame = await self.frames.get()
            if frame["type"] == kind:
                return frame


class Sink:
    def __init__(self) -> None:
        self.facts: list[Lifecycle] = []

    def offer(self, events: Sequence[Lifecycle]) -> None:
        self.facts.extend(events)


@dataclass
class World:
    service: CallingService
    calls: ServerCalls[FakeLeg]
    node: FakeMediaNode
    sink: Sink
    clock: FakeClock
    events: asyncio.Queue[ServerCallEvent] = field(default_factory=asyncio.Queue)

    def device(self, user_id: str) -> tuple[LocalDevice, Socket]:
        socket = Socket()
        device, _ = self.service.register(user_id, None, None, socket)
        return device, socket

    def send(self, device: LocalDevice, request: CallRequests) -> None:
        self.service.handle(device, request)

    async def event(self) -> ServerCallEvent:
        return await self.events.get()

    async def create(self) -> tuple[str, FakeLeg]:
        call_id = new_server_call_id()
        return call_id, await self.calls.create(call_id, self.events.put_nowait)

    async def invite(self, call_id: str, user: str, invitation: str, ring: float = 30.0) -> None:
        await self.calls.invite(
            call_id,
            user,
            invitation_id=invitation,
            timeout_seconds=ring,
            caller=None,
            caller_display_name="Contoso",
        )


@pytest.fixture
async def world() -> AsyncIterator[World]:
    node, sink, bus, clock = FakeMediaNode(), Sink(), MemoryBus(), FakeClock()
    await bus.start()
    service = CallingService(
        bus,
        LocalCallRouter("node-a"),
        lambda _user: [],
        media=node,
        placement=LocalPlacement(),
        clock=clock,
        settings=CallingSettings(presence_seconds=0.0),
        sink=sink,
        rooms=None,
    )
    await service.start()
    try:
        async with asyncio.timeout(10):
            yield World(
                service, ServerCalls(service.server_calls, FakeLegs(node)), node, sink, clock
            )
    finally:
        await service.stop()
        await bus.stop()


def offer(call_id: str, request_id: str = "r1") -> Accept:
    return Accept(
        id=request_id, call_id=call_id, description={"type": "offer", "sdp": CHROMIUM_OFFER}
    )


async def test_invited_user_rings_everywhere_and_the_accepting_device_joins(world: World) -> None:
    call_id, leg = await world.create()
    assert leg.participant_id == "app"
    _, phone_socket = world.device(BOB)
    laptop, laptop_socket = world.device(BOB)
    await world.invite(call_id, BOB, "inv-1")
    for socket in (phone_socket, laptop_socket):
        ring = await socket.next("incomingCall")
        assert (ring["conference"], ring["offer"], ring["callId"]) == (True, None, call_id)
        assert ring["caller"]["displayName"] == "Contoso"

    world.send(laptop, offer(call_id))
    ended = await phone_socket.next("callEnded")
    assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (487, 10003)
    acked = await laptop_socket.next("ack")
    assert acked["ok"] and acked["callId"] == call_id and acked["state"] == "Connected"
    answer = await laptop_socket.next("sdp")
    assert answer["from"] == "media" and answer["description"]["type"] == "answer"

    accepted = await world.event()
    assert isinstance(accepted, InviteAccepted) and accepted.invitation_id == "inv-1"
    assert accepted.participant.identifier.raw_id == BOB
    assert accepted.participant.participant_id == acked["participantId"]
    changed = await world.event()
    assert isinstance(changed, ParticipantsChanged)
    assert [p.identifier.raw_id for p in changed.participants] == [BOB]
    assert [p.identifier.raw_id for p in await world.calls.participants(call_id)] == [BOB]


async def joined(world: World, user: str, invitation: str) -> tuple[str, LocalDevice, Socket]:
    call_id, _ = await world.create()
    device, socket = world.device(user)
    await world.invite(call_id, user, invitation)
    await socket.next("incomingCall")
    world.send(device, offer(call_id))
    assert isinstance(await world.event(), InviteAccepted)
    assert isinstance(await world.event(), ParticipantsChanged)
    return call_id, device, socket


async def test_server_mute_stops_forwarding_and_shows_the_member_muted(world: World) -> None:
    call_id, _, socket = await joined(world, BOB, "inv-1")
    await world.calls.mute(call_id, BOB)
    changed = await world.event()
    assert isinstance(changed, ParticipantsChanged) and changed.participants[0].is_muted
    assert [(kind, muted) for _, kind, muted in world.node.muted] == [(MediaKind.AUDIO, True)]
    updated = await socket.next("participantUpdated")
    assert updated["participant"]["isMuted"] is True


async def test_removing_the_last_participant_ends_the_call(world: World) -> None:
    call_id, _, socket = await joined(world, BOB, "inv-1")
    await world.calls.remove(call_id, BOB)
    ended = await socket.next("callEnded")
    assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (0, 5300)
    removed, changed, over = [await world.event() for _ in range(3)]
    assert isinstance(removed, ParticipantRemoved) and removed.participant.identifier.raw_id == BOB
    assert isinstance(changed, ParticipantsChanged) and changed.participants == ()
    assert isinstance(over, ServerCallEnded)


async def test_the_call_ends_when_the_last_device_hangs_up(world: World) -> None:
    call_id, device, socket = await joined(world, BOB, "inv-1")
    world.send(device, HangUp(id="r2", call_id=call_id))
    ended = await socket.next("callEnded")
    assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (0, 0)
    assert isinstance(await world.event(), ParticipantsChanged)
    over = await world.event()
    assert isinstance(over, ServerCallEnded) and over.reason.code == 0
    kinds = [(f.kind, f.two_party, f.call_id) for f in world.sink.facts]
    assert kinds[0] == (LifecycleKind.CALL_STARTED, False, call_id)
    assert kinds[-1][0] is LifecycleKind.CALL_ENDED
    started = integration_event(world.sink.facts[0])
    assert started.data["isTwoParty"] is False and started.data["serverCallId"] == call_id


async def test_a_rejected_invitation_fails_and_the_call_waits_for_others(world: World) -> None:
    call_id, _ = await world.create()
    device, socket = world.device(BOB)
    await world.invite(call_id, BOB, "inv-1")
    await socket.next("incomingCall")
    world.send(device, Reject(id="r1", call_id=call_id, busy=True))
    assert (await socket.next("callEnded"))["reason"]["code"] == 486
    failed = await world.event()
    assert isinstance(failed, InviteFailed) and failed.reason.code == 486
    # Nobody has been in yet: the call is still up, and Carol can still be invited.
    await world.invite(call_id, CAROL, "inv-2")
    no_device = await world.event()
    assert isinstance(no_device, InviteFailed) and no_device.invitation_id == "inv-2"
    assert (no_device.reason.code, no_device.reason.sub_code) == (480, 10037)
    await world.calls.terminate(call_id)
    assert isinstance(await world.event(), ServerCallEnded)


async def test_an_unanswered_invitation_times_out_with_487_10004(world: World) -> None:
    call_id, _ = await world.create()
    _, socket = world.device(BOB)
    await world.invite(call_id, BOB, "inv-1", ring=0.01)
    await socket.next("incomingCall")
    world.clock.advance(0.01)  # the timer fires on the loop, then reads this clock
    ended = await socket.next("callEnded")
    assert (ended["reason"]["code"], ended["reason"]["subCode"]) == (487, 10004)
    failed = await world.event()
    assert isinstance(failed, InviteFailed)
    assert (failed.reason.code, failed.reason.sub_code) == (487, 10004)


async def test_a_canceled_invitation_stops_the_devices(world: World) -> None:
    call_id, _ = await world.create()
    _, socket = world.device(BOB)
    await world.invite(call_id, BOB, "inv-1")
    await socket.next("incomingCall")
    await world.calls.cancel_invite(call_id, "inv-1")
    assert (await socket.next("callEnded"))["reason"]["code"] == 487
    assert await world.event() == InviteCanceled("inv-1")


async def test_a_device_that_was_not_invited_cannot_accept(world: World) -> None:
    call_id, _ = await world.create()
    device, socket = world.device(BOB)
    device.calls[call_id] = "node-a"  # as if it knew the call
    world.send(device, offer(call_id))
    refused = await socket.next("ack")
    assert refused["ok"] is False and refused["error"]["code"] == "InvalidCallState"


async def test_the_app_leaving_an_empty_call_ends_it_and_closes_its_leg(world: World) -> None:
    call_id, leg = await world.create()
    _, socket = world.device(BOB)
    await world.invite(call_id, BOB, "inv-1")
    await socket.next("incomingCall")
    await world.calls.leave(call_id)
    assert leg.closed
    assert (await socket.next("callEnded"))["reason"]["code"] == 487  # its invitation too
    failed, over = await world.event(), await world.event()
    assert isinstance(failed, InviteFailed) and isinstance(over, ServerCallEnded)
