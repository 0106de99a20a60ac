"""CallAutomationService rules on a fake call plane: what the app is told, in what order."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from switchboard.automation.models import (
    CallConnectionEndedError,
    CallConnectionNotFoundError,
    CallConnectionState,
    CallParticipantNotFoundError,
    InvalidCallbackUriError,
    Participant,
    SourceCallerIdError,
)
from switchboard.automation.ports import (
    CallbackData,
    CallPlaneEnded,
    CallPlaneListener,
    EndReason,
    InviteAccepted,
    InviteCanceled,
    InviteFailed,
    ParticipantsChanged,
)
from switchboard.automation.service import CallAutomationService, CallLocator
from switchboard.automation.store_memory import MemoryCallConnectionStore
from switchboard.core.clock import FakeClock
from switchboard.core.errors import BadRequestError, NotSupportedError
from switchboard.core.identifiers import CommunicationIdentifier, identifier_from_raw_id

pytestmark = pytest.mark.anyio

CALLBACK = "https://app.example/callbacks"
ALICE = identifier_from_raw_id("8:acs:res_alice")
BOB = identifier_from_raw_id("8:acs:res_bob")
PHONE = identifier_from_raw_id("4:+14255550123")


@dataclass
class FakePlane:
    listeners: dict[str, CallPlaneListener] = field(default_factory=dict)
    invites: list[tuple[str, str, str, float]] = field(default_factory=list)
    members: dict[str, list[Participant]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def create(self, server_call_id: str, listener: CallPlaneListener) -> None:
        self.listeners[server_call_id] = listener
        self.members[server_call_id] = []

    async def connect(self, server_call_id: str, listener: CallPlaneListener) -> None:
        self.listeners[server_call_id] = listener
        self.members.setdefault(server_call_id, [Participant(ALICE)])

    async def invite(
        self,
        server_call_id: str,
        target: CommunicationIdentifier,
        *,
        invitation_id: str,
        timeout_seconds: float,
        caller: CommunicationIdentifier | None,
        caller_display_name: str,
    ) -> None:
        self.invites.append((server_call_id, target.raw_id, invitation_id, timeout_seconds))

    async def cancel_invite(self, server_call_id: str, invitation_id: str) -> None:
        self.calls.append(("cancel", invitation_id))

    async def remove(self, server_call_id: str, raw_id: str) -> None:
        self.calls.append(("remove", raw_id))

    async def mute(self, server_call_id: str, raw_id: str) -> None:
        self.calls.append(("mute", raw_id))

    async def participants(self, server_call_id: str) -> Sequence[Participant]:
        return self.members[server_call_id]

    async def leave(self, server_call_id: str) -> None:
        self.calls.append(("leave", server_call_id))

    async def terminate(self, server_call_id: str) -> None:
        self.calls.append(("terminate", server_call_id))


@dataclass
class FakeCallbacks:
    sent: list[tuple[str, str, CallbackData]] = field(default_factory=list)

    async def enqueue(
        self, call_connection_id: str, url: str, events: Sequence[CallbackData]
    ) -> None:
        self.sent.extend((call_connection_id, url, e) for e in events)

    def types(self) -> list[str]:
        return [e.type for _, _, e in self.sent]


class FakeCallerIds:
    async def may_call_from(self, phone_number: str) -> bool:
        return phone_number == "+18005550100"


class HttpsOnly:
    async def check_callback_uri(self, url: str) -> None:
        if not url.startswith("https://"):
            raise InvalidCallbackUriError("The field CallbackUri is invalid.")


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
