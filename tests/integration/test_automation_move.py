"""moveParticipants (``participants:moveHere``) with the official SDKs against a server
process over TLS: a virtual phone moves from one call to another without ringing and talks
both ways there (Python SDK, sync); a user's device (the Python calling client) is told
callMoved, rejoins the other call with a new offer and hears it (Python SDK, async); the npm
SDK moves a phone; bad moves are refused with ACS-shaped 4xx."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.communication.callautomation.aio import (
    CallAutomationClient as AsyncCallAutomationClient,
)
from azure.communication.identity import CommunicationIdentityClient
from azure.core.exceptions import HttpResponseError

from switchboard.client.calling import CallClient, CallState
from tests.callback_receiver import CallbackReceiver
from tests.integration.calling_clients import loopback_candidates
from tests.integration.js_sdk import NodeClients, one_server
from tests.integration.server import RunningServer
from tests.integration.test_voice_simulator import anyio_backend, our_number, receiver, sync
from tests.integration.voice_phones import heard_from, new_phone, phone, say_all, until_phone

pytestmark = pytest.mark.anyio
__all__ = ["anyio_backend", "loopback_candidates", "our_number", "receiver"]  # fixtures


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The server process (the npm SDK needs one); test_voice_simulator's fixtures use it."""
    yield from one_server(tmp_path_factory)


def client_of(node: RunningServer) -> CallAutomationClient:
    return CallAutomationClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )


async def event_at(
    receiver: CallbackReceiver,
    path: str,
    kind: str,
    where: Callable[[dict[str, Any]], bool] = lambda _: True,
    within: float = 20.0,
) -> dict[str, Any]:
    """The data of the first ``kind`` event posted to ``path`` that ``where`` accepts."""
    wanted = f"Microsoft.Communication.{kind}"
    found: list[dict[str, Any]] = []

    def seen() -> bool:
        for callback in receiver.accepted:
            if callback.path != path:
                continue
            for item in callback.events:
                if item["type"] == wanted and where(item["data"]):
                    found.append(item["data"])
                    return True
        return False

    async with asyncio.timeout(within):
        while not seen():
            await receiver.wait_for_events(len(all_events(receiver)) + 1, within=within)
    return found[0]


def all_events(receiver: CallbackReceiver) -> list[dict[str, Any]]:
    return [item for callback in receiver.accepted for item in callback.events]


async def call_phone(
    node: RunningServer, our_number: str, receiver: CallbackReceiver, path: str
) -> tuple[str, str]:
    """The app calls a new virtual phone, which answers: (call connection id, its number)."""
    number = new_phone()
    await phone(node, number, "put", {"answer": "auto"})
    created = await sync(
        lambda: client_of(node).create_call(
            PhoneNumberIdentifier(number),
            receiver.url(path),
            source_caller_id_number=PhoneNumberIdentifier(our_number),
        )
    )
    await event_at(receiver, path, "CallConnected")
    await until_phone(node, number, lambda s: s["participantId"] is not None)
    return str(created.call_connection_id), number


def status_of(error: HttpResponseError) -> tuple[int | None, str | None]:
    return error.status_code, error.error.code if error.error else None


async def test_a_phone_moves_to_another_call_and_talks_both_ways_there(
    node: RunningServer, our_number: str, receiver: CallbackReceiver
) -> None:
    async with asyncio.timeout(120):
        source, moved = await call_phone(node, our_number, receiver, "/a")
        target, stays = await call_phone(node, our_number, receiver, "/b")
        connection = client_of(node).get_call_connection(target)
        result = await sync(
            lambda: connection.move_participants(
                [PhoneNumberIdentifier(moved)], source, operation_context="move-phone"
            )
        )
        assert result.from_call == source
        assert result.operation_context == "move-phone"
        succeeded = await event_at(receiver, "/b", "MoveParticipantSucceeded")
        assert succeeded["participant"]["rawId"] == f"4:{moved}"
        assert succeeded["fromCall"] == source
        assert succeeded["operationContext"] == "move-phone"
        assert succeeded["resultInformation"]["code"] == 200
        both = {f"4:{moved}", f"4:{stays}"}
        await event_at(
            receiver,
            "/b",
            "ParticipantsUpdated",
            lambda d: {p["identifier"]["rawId"] for p in d["participants"]} == both,
        )
        # The source call lost its only participant: its app hears so, and it is over.
        await event_at(receiver, "/a", "ParticipantsUpdated", lambda d: d["participants"] == [])
        await event_at(receiver, "/a", "CallDisconnected")

        status = await phone(node, moved)
        assert (status["state"], status["peer"]) == ("connected", our_number)  # never rang
        moved_id, stays_id = status["participantId"], (await phone(node, stays))["participantId"]
        await say_all(node, stays, "Hello, you have been moved to this call.")
        assert heard_from(await phone(node, moved), stays_id) > 10
        await say_all(node, moved, "Thank you, I can hear you.")
        assert heard_from(await phone(node, stays), moved_id) > 10

        with pytest.raises(HttpResponseError) as ended:  # the source call is over
            await sync(lambda: connection.move_participants([PhoneNumberIdentifier(moved)], source))
        assert status_of(ended.value) == (400, "CallNotActive")
        with pytest.raises(HttpResponseError) as same:
            await sync(lambda: connection.move_participants([PhoneNumberIdentifier(moved)], target))
        assert status_of(same.value)[0] == 400
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await event_at(receiver, "/b", "CallDisconnected")


async def test_a_users_device_is_moved_and_rejoins_the_other_call(
    node: RunningServer, our_number: str, receiver: CallbackReceiver
) -> None:
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    user, token = await sync(lambda: identity.create_user_and_token(scopes=["voip"]))
    agent = await CallClient(node.endpoint, ssl=node.ca_path, tone_hz=440.0).create_call_agent(
        token.token
    )
    user_id = user.properties["id"]
    try:
        async with (
            asyncio.timeout(120),
            AsyncCallAutomationClient.from_connection_string(
                node.connection_string, connection_verify=node.ca_path
            ) as client,
        ):
            first = await client.create_call(
                CommunicationUserIdentifier(user_id), receiver.url("/device-a")
            )
            ringing = await agent.next_incoming_call()
            await ringing.accept()
            await ringing.wait_for_state(CallState.CONNECTED)
            await event_at(receiver, "/device-a", "CallConnected")
            target, number = await call_phone(node, our_number, receiver, "/device-b")

            moved = await client.get_call_connection(target).move_participants(
                [CommunicationUserIdentifier(user_id)], str(first.call_connection_id)
            )
            assert moved.from_call == first.call_connection_id
            succeeded = await event_at(receiver, "/device-b", "MoveParticipantSucceeded")
            assert succeeded["participant"]["rawId"] == user_id
            assert succeeded["fromCall"] == first.call_connection_id
            await event_at(receiver, "/device-a", "CallDisconnected")

            # The same Call object, now in the other call, never rung again.
            server_call_id = (
                await client.get_call_connection(target).get_call_properties()
            ).server_call_id
            await ringing.wait_for(
                lambda c: c.id == server_call_id and c.participant_id is not None
            )
            assert ringing.moves == 1
            assert ringing.state is CallState.CONNECTED
            phone_id = (await phone(node, number))["participantId"]
            await ringing.wait_for(lambda c: phone_id in c.remote_participants)
            probe = ringing.audio_of(phone_id)
            await say_all(node, number, "Hello, can you hear me on your device?")
            await until_phone(
                node, number, lambda s: heard_from(s, str(ringing.participant_id)) > 10
            )
            async with asyncio.timeout(10):
                while probe.loud_frames < 10:
                    probe.changed.clear()
                    await probe.changed.wait()
            listed = client.get_call_connection(target).list_participants()
            assert {p.identifier.raw_id async for p in listed if p.identifier} == {
                user_id,
                f"4:{number}",
            }
            await client.get_call_connection(target).hang_up(is_for_everyone=True)
            await ringing.wait_for_state(CallState.DISCONNECTED)
    finally:
        await agent.dispose()


async def test_the_npm_sdk_moves_a_phone_and_bad_moves_are_refused(
    node: RunningServer, our_number: str, receiver: CallbackReceiver
) -> None:
    async with asyncio.timeout(120):
        source, moved = await call_phone(node, our_number, receiver, "/js-a")
        target, _ = await call_phone(node, our_number, receiver, "/js-b")
        other, _ = await call_phone(node, our_number, receiver, "/js-c")
        answer = await asyncio.to_thread(
            NodeClients(node).run,
            "automation-move.mjs",
            {"to": target, "from": source, "other": other, "phone": moved},
        )
        assert answer["fromCall"] == source
        assert answer["operationContext"] == "js-move"
        assert answer["unknownFrom"] == {"status": 404, "code": "NotFound"}
        assert answer["notThere"]["status"] == 404
        succeeded = await event_at(receiver, "/js-b", "MoveParticipantSucceeded")
        assert succeeded["operationContext"] == "js-move"
        assert succeeded["participant"]["rawId"] == f"4:{moved}"
        for call_id in (target, other):
            await asyncio.to_thread(
                client_of(node).get_call_connection(call_id).hang_up, is_for_everyone=True
            )
