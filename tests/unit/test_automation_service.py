"""CallAutomationService rules on a fake call plane: what the app is told, in what order."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from switchboard.automation.models import (
    CallConnectionEndedError,
    CallConnectionNotFoundError,
    CallConnectionState,
    CallLocator,
    CallNotConnectedError,
    CallParticipantNotFoundError,
    InvalidCallbackUriError,
    Participant,
    SourceCallerIdError,
)
from switchboard.automation.ports import (
    CallPlaneEnded,
    EndReason,
    InviteAccepted,
    InviteCanceled,
    InviteFailed,
    ParticipantsChanged,
)
from switchboard.automation.service import CallAutomationService
from switchboard.automation.store_memory import MemoryCallConnectionStore
from switchboard.core.clock import FakeClock
from switchboard.core.errors import BadRequestError, NotSupportedError
from switchboard.core.identifiers import identifier_from_raw_id
from tests.unit.automation_fakes import ALICE, FakeCallbacks, FakeCallerIds, FakePlane, HttpsOnly

pytestmark = pytest.mark.anyio

CALLBACK = "https://app.example/callbacks"
BOB = identifier_from_raw_id("8:acs:res_bob")
PHONE = identifier_from_raw_id("4:+14255550123")


@dataclass
class World:
    service: CallAutomationService
    plane: FakePlane
    callbacks: FakeCallbacks

    def say(self, server_call_id: str, event: object) -> None:
        self.plane.listeners[server_call_id](event)  # type: ignore[arg-type]

    async def settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0)


async def state_of(world: World, call_connection_id: str) -> CallConnectionState:
    return (await world.service.get(call_connection_id)).state


@pytest.fixture
async def world() -> AsyncIterator[World]:
    counter = itertools.count(1)
    plane, callbacks = FakePlane(), FakeCallbacks()
    service = CallAutomationService(
        plane,
        callbacks,
        FakeCallerIds(),
        HttpsOnly(),
        MemoryCallConnectionStore(),
        FakeClock(),
        node_id="node-a",
        new_id=lambda: f"id{next(counter)}",
    )
    await service.start()
    yield World(service, plane, callbacks)
    await service.stop()


async def test_create_call_rings_every_target_and_connects_when_the_first_answers(
    world: World,
) -> None:
    call = await world.service.create_call([ALICE, BOB], CALLBACK, operation_context="ctx")
    assert call.state is CallConnectionState.CONNECTING
    assert call.server_call_id.startswith("server:")
    rung = [(raw, seconds) for _, raw, _, seconds in world.plane.invites]
    assert rung == [(ALICE.raw_id, 60.0), (BOB.raw_id, 60.0)]

    alice_invite = world.plane.invites[0][2]
    world.say(call.server_call_id, InviteAccepted(alice_invite, Participant(ALICE)))
    world.say(call.server_call_id, ParticipantsChanged((Participant(ALICE),)))
    await world.settle()
    assert await state_of(world, call.call_connection_id) is CallConnectionState.CONNECTED
    assert world.callbacks.types() == ["CallConnected", "ParticipantsUpdated"]
    connected = world.callbacks.sent[0][2]
    assert connected.operation_context == "ctx"
    assert world.callbacks.sent[1][2].data["sequenceNumber"] == 1


async def test_create_call_fails_when_every_target_fails(world: World) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    invite = world.plane.invites[0][2]
    world.say(call.server_call_id, InviteFailed(invite, EndReason(487, 10004, "no answer")))
    await world.settle()
    assert world.callbacks.types() == ["CreateCallFailed"]
    failed = world.callbacks.sent[0][2]
    assert failed.result == EndReason(487, 10004, "no answer")
    assert ("terminate", call.server_call_id) in world.plane.calls
    assert await state_of(world, call.call_connection_id) is CallConnectionState.DISCONNECTED
    with pytest.raises(CallConnectionEndedError):
        await world.service.participants(call.call_connection_id)


async def test_add_participant_reports_success_to_its_own_callback_with_its_context(
    world: World,
) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    world.say(call.server_call_id, InviteAccepted(world.plane.invites[0][2], Participant(ALICE)))
    added = await world.service.add_participant(
        call.call_connection_id,
        BOB,
        operation_context="add-bob",
        operation_callback_uri="https://app.example/ops",
        invitation_timeout_seconds=30,
    )
    assert added.participant.identifier == BOB
    assert world.plane.invites[-1][3] == 30
    world.say(call.server_call_id, InviteAccepted(added.invitation_id, Participant(BOB)))
    await world.settle()
    last_call, url, event = world.callbacks.sent[-1]
    assert (last_call, url, event.type) == (
        call.call_connection_id,
        "https://app.example/ops",
        "AddParticipantSucceeded",
    )
    assert event.operation_context == "add-bob"
    assert event.data["participant"] == BOB


async def test_a_failed_invitation_is_add_participant_failed_with_the_reason(
    world: World,
) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    world.say(call.server_call_id, InviteAccepted(world.plane.invites[0][2], Participant(ALICE)))
    added = await world.service.add_participant(call.call_connection_id, BOB)
    world.say(call.server_call_id, InviteFailed(added.invitation_id, EndReason(603, 0, "declined")))
    await world.settle()
    assert world.callbacks.types()[-1] == "AddParticipantFailed"
    assert world.callbacks.sent[-1][2].result == EndReason(603, 0, "declined")


async def test_cancel_add_participant_succeeds_while_ringing_and_fails_after(
    world: World,
) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    added = await world.service.add_participant(call.call_connection_id, BOB)
    await world.service.cancel_add_participant(
        call.call_connection_id, added.invitation_id, operation_context="cancel-1"
    )
    assert ("cancel", added.invitation_id) in world.plane.calls
    world.say(call.server_call_id, InviteCanceled(added.invitation_id))
    await world.settle()
    assert world.callbacks.types() == ["CancelAddParticipantSucceeded"]
    assert world.callbacks.sent[-1][2].data["invitationId"] == added.invitation_id
    assert world.callbacks.sent[-1][2].operation_context == "cancel-1"

    await world.service.cancel_add_participant(call.call_connection_id, added.invitation_id)
    assert world.callbacks.types()[-1] == "CancelAddParticipantFailed"


async def test_hang_up_tells_the_app_once_and_later_requests_are_refused(world: World) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    await world.service.hang_up(call.call_connection_id)
    assert ("leave", call.server_call_id) in world.plane.calls
    world.say(call.server_call_id, CallPlaneEnded(EndReason(0, 0, "")))  # arrives after: ignored
    await world.settle()
    assert world.callbacks.types() == ["CallDisconnected"]
    assert await state_of(world, call.call_connection_id) is CallConnectionState.DISCONNECTED
    with pytest.raises(CallConnectionEndedError):
        await world.service.add_participant(call.call_connection_id, BOB)


async def test_terminate_ends_it_when_the_call_plane_says_so(world: World) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    await world.service.terminate(call.call_connection_id)
    assert await state_of(world, call.call_connection_id) is CallConnectionState.DISCONNECTING
    world.say(call.server_call_id, CallPlaneEnded(EndReason(0, 0, "terminated")))
    await world.settle()
    assert world.callbacks.types() == ["CallDisconnected"]


async def test_participants_remove_and_mute_name_someone_in_the_call(world: World) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    world.plane.members[call.server_call_id] = [Participant(ALICE, is_muted=True)]
    found = await world.service.participant(call.call_connection_id, ALICE.raw_id)
    assert found.is_muted
    with pytest.raises(CallParticipantNotFoundError):
        await world.service.participant(call.call_connection_id, BOB.raw_id)
    with pytest.raises(CallParticipantNotFoundError):
        await world.service.remove_participant(call.call_connection_id, BOB.raw_id)
    await world.service.mute(call.call_connection_id, [ALICE.raw_id])
    await world.service.remove_participant(
        call.call_connection_id, ALICE.raw_id, operation_context="bye"
    )
    assert ("mute", ALICE.raw_id) in world.plane.calls
    assert ("remove", ALICE.raw_id) in world.plane.calls
    assert world.callbacks.types() == ["RemoveParticipantSucceeded"]
    with pytest.raises(BadRequestError):
        await world.service.mute(call.call_connection_id, [ALICE.raw_id, BOB.raw_id])


async def test_connect_attaches_to_a_group_call_and_is_connected_at_once(world: World) -> None:
    locator = CallLocator("groupCallLocator", "9a7b3f4e-0000-4000-8000-000000000001")
    call = await world.service.connect(locator, CALLBACK, operation_context="join")
    assert call.server_call_id == "group:9a7b3f4e-0000-4000-8000-000000000001"
    assert call.state is CallConnectionState.CONNECTED
    assert world.callbacks.types() == ["CallConnected"]


async def test_bad_requests_are_refused_before_anything_rings(world: World) -> None:
    with pytest.raises(InvalidCallbackUriError):
        await world.service.create_call([ALICE], "http://app.example/cb")
    with pytest.raises(BadRequestError):
        await world.service.create_call([], CALLBACK)
    with pytest.raises(SourceCallerIdError):
        await world.service.create_call([PHONE], CALLBACK)
    with pytest.raises(SourceCallerIdError):
        await world.service.create_call([PHONE], CALLBACK, source_caller_id="+18005550199")
    with pytest.raises(NotSupportedError):
        await world.service.create_call([PHONE], CALLBACK, source_caller_id="+18005550100")
    with pytest.raises(CallConnectionNotFoundError):
        await world.service.get("nope")
    assert world.plane.invites == []
    call = await world.service.create_call([ALICE], CALLBACK)
    with pytest.raises(BadRequestError):
        await world.service.add_participant(
            call.call_connection_id, BOB, invitation_timeout_seconds=181
        )


async def test_a_transfer_answered_hands_the_call_over_and_the_app_leaves(world: World) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    world.say(call.server_call_id, InviteAccepted(world.plane.invites[0][2], Participant(ALICE)))
    await world.settle()
    await world.service.transfer(call.call_connection_id, BOB, operation_context="to-bob")
    assert await state_of(world, call.call_connection_id) is CallConnectionState.TRANSFERRING
    world.say(call.server_call_id, InviteAccepted(world.plane.invites[-1][2], Participant(BOB)))
    await world.settle()
    assert world.callbacks.types() == ["CallConnected", "CallTransferAccepted", "CallDisconnected"]
    accepted = world.callbacks.sent[1][2]
    assert accepted.operation_context == "to-bob" and accepted.data["transferTarget"] == BOB
    assert ("leave", call.server_call_id) in world.plane.calls
    assert await state_of(world, call.call_connection_id) is CallConnectionState.DISCONNECTED


async def test_a_transfer_that_fails_leaves_the_call_connected(world: World) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    with pytest.raises(CallNotConnectedError):  # still ringing: nothing to transfer yet
        await world.service.transfer(call.call_connection_id, BOB)
    world.say(call.server_call_id, InviteAccepted(world.plane.invites[0][2], Participant(ALICE)))
    await world.settle()
    await world.service.transfer(call.call_connection_id, BOB)
    world.say(call.server_call_id, InviteFailed(world.plane.invites[-1][2], EndReason(486, 0, "")))
    await world.settle()
    assert world.callbacks.types()[-1] == "CallTransferFailed"
    assert await state_of(world, call.call_connection_id) is CallConnectionState.CONNECTED


async def test_participants_updated_only_when_what_the_app_sees_changed(world: World) -> None:
    call = await world.service.create_call([ALICE], CALLBACK)
    same = (Participant(ALICE),)
    for _ in range(3):  # e.g. a member's video state changed: the list the app sees did not
        world.say(call.server_call_id, ParticipantsChanged(same))
    world.say(call.server_call_id, ParticipantsChanged((Participant(ALICE, is_muted=True),)))
    await world.settle()
    updates = [e for _, _, e in world.callbacks.sent if e.type == "ParticipantsUpdated"]
    assert [u.data["sequenceNumber"] for u in updates] == [1, 2]
