"""Moving a device between two server calls of one node, and holding one, with the fakes of
test_server_calls (media node, legs, sockets): callMoved, the rejoin, the timeout, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from switchboard.calling.errors import CallParticipantNotFoundError, CallStateError
from switchboard.calling.server import (
    InviteAccepted,
    InviteFailed,
    ParticipantsChanged,
    ServerCallEnded,
    ServerCallEvent,
    new_server_call_id,
)
from tests.unit.test_server_calls import BOB, CAROL, Socket, World, joined, offer, world

pytestmark = pytest.mark.anyio
__all__ = ["world"]  # the fixture


async def frames_until(
    socket: Socket, kind: str, where: Callable[[dict[str, Any]], bool] = lambda _: True
) -> tuple[list[str], dict[str, Any]]:
    """The types of the frames before the first ``kind`` frame ``where`` accepts, and it."""
    seen: list[str] = []
    while True:
        frame = await socket.frames.get()
        if frame["type"] == kind and where(frame):
            return seen, frame
        seen.append(frame["type"])


async def other_call(world: World) -> tuple[str, asyncio.Queue[ServerCallEvent]]:
    events: asyncio.Queue[ServerCallEvent] = asyncio.Queue()
    call_id = new_server_call_id()
    await world.calls.create(call_id, events.put_nowait)
    return call_id, events


async def test_a_moved_device_is_told_and_rejoins_the_other_call_without_ringing(
    world: World,
) -> None:
    source, device, socket = await joined(world, BOB, "inv-1")
    target, target_events = await other_call(world)
    await world.calls.move(target, source, BOB, invitation_id="mv-1")

    seen, moved = await frames_until(socket, "callMoved")
    assert (moved["callId"], moved["toCallId"]) == (source, target)
    left = await world.event()  # the source's app: the member is gone, and so is the call
    assert isinstance(left, ParticipantsChanged) and left.participants == ()
    assert isinstance(await world.event(), ServerCallEnded)
    assert device.calls == {target: "node-a"}  # its requests now go to the target's owner

    world.send(device, offer(target, "r9"))
    more, acked = await frames_until(socket, "ack", lambda f: f["id"] == "r9")
    assert acked["ok"] and acked["callId"] == target and acked["state"] == "Connected"
    assert not {"incomingCall", "callEnded"} & {*seen, *more}  # nothing rang, nothing ended
    accepted = await target_events.get()
    assert isinstance(accepted, InviteAccepted) and accepted.invitation_id == "mv-1"
    changed = await target_events.get()
    assert isinstance(changed, ParticipantsChanged)
    assert [p.identifier.raw_id for p in changed.participants] == [BOB]


async def test_a_moved_device_that_does_not_rejoin_fails_with_487_10004(world: World) -> None:
    source, _, socket = await joined(world, BOB, "inv-1")
    target, target_events = await other_call(world)
    await world.calls.move(target, source, BOB, invitation_id="mv-1", seconds=0.01)
    await socket.next("callMoved")
    world.clock.advance(0.01)  # the timer fires on the loop, then reads this clock
    ended = await socket.next("callEnded")
    assert (ended["callId"], ended["reason"]["code"], ended["reason"]["subCode"]) == (
        target,
        487,
        10004,
    )
    failed = await target_events.get()
    assert isinstance(failed, InviteFailed) and failed.invitation_id == "mv-1"


async def test_moves_of_someone_not_there_or_into_the_same_call_are_refused(
    world: World,
) -> None:
    source, _, _ = await joined(world, BOB, "inv-1")
    target, _ = await other_call(world)
    with pytest.raises(CallParticipantNotFoundError):
        await world.calls.move(target, source, CAROL, invitation_id="mv-1")
    with pytest.raises(CallStateError):
        await world.calls.move(source, source, BOB, invitation_id="mv-2")


async def test_hold_keeps_the_member_apart_with_the_app_and_shows_it_held(world: World) -> None:
    call_id, _, _ = await joined(world, BOB, "inv-1")
    await world.calls.hold(call_id, BOB, True)
    held = await world.event()
    assert isinstance(held, ParticipantsChanged) and held.participants[0].is_on_hold
    await world.calls.hold(call_id, BOB, False)
    back = await world.event()
    assert isinstance(back, ParticipantsChanged) and not back.participants[0].is_on_hold
    member = held.participants[0].participant_id
    assert world.node.apart == [(member, frozenset({"app"})), (member, None)]


async def test_the_app_leaving_brings_its_held_members_back(world: World) -> None:
    call_id, _, _ = await joined(world, BOB, "inv-1")
    await world.calls.hold(call_id, BOB, True)
    held = await world.event()
    assert isinstance(held, ParticipantsChanged)
    await world.calls.leave(call_id)
    member = held.participants[0].participant_id
    assert world.node.apart == [(member, frozenset({"app"})), (member, None)]
