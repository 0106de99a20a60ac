"""Call Automation through the official azure-communication-callautomation SDK (sync and async)
against a node over TLS, with callbacks received by a real HTTP server on 127.0.0.1 and the
called users on the Python calling client (aiortc): create a call to a user, play speech,
recognize a key press, participants (list, get, mute, add, remove), transfer, hang up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    DtmfTone,
    RecognizeInputType,
    TextSource,
)
from azure.communication.callautomation.aio import CallAutomationClient as AsyncCallAutomationClient
from azure.communication.identity import CommunicationIdentityClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from switchboard.client.calling import CallAgent, CallClient, CallState
from tests.callback_receiver import CallbackReceiver
from tests.integration.calling_clients import loopback_candidates
from tests.integration.inprocess_node import InProcessNode, serving

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

T = TypeVar("T")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    async with serving(tmp_path_factory.mktemp("automation-sdk")) as served:
        yield served


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    started = await CallbackReceiver().start()
    yield started
    await started.stop()


async def sync(call: Callable[[], T]) -> T:
    """A sync SDK call off the loop (the node serves on this loop)."""
    return await asyncio.to_thread(call)


async def user(node: InProcessNode) -> tuple[str, CallAgent]:
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    user_, token = await sync(lambda: identity.create_user_and_token(scopes=["voip"]))
    agent = await CallClient(node.endpoint, ssl=node.ca_path, tone_hz=0.0).create_call_agent(
        token.token
    )
    return user_.properties["id"], agent


def types(receiver: CallbackReceiver) -> list[str]:
    return [e["type"].rsplit(".", 1)[1] for c in receiver.accepted for e in c.events]


async def test_the_sync_sdk_places_a_call_plays_recognizes_and_manages_participants(
    node: InProcessNode, receiver: CallbackReceiver
) -> None:
    client = CallAutomationClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    alice_id, alice = await user(node)
    bob_id, bob = await user(node)
    alice_user, bob_user = (
        CommunicationUserIdentifier(alice_id),
        CommunicationUserIdentifier(bob_id),
    )
    try:
        async with asyncio.timeout(90):
            created = await sync(
                lambda: client.create_call(
                    alice_user, receiver.url("/calls"), operation_context="outbound"
                )
            )
            assert created.call_connection_state == "connecting"
            incoming = await alice.next_incoming_call()
            await incoming.accept()
            await incoming.wait_for_state(CallState.CONNECTED)
            connected = await receiver.event("CallConnected")
            assert connected["callConnectionId"] == created.call_connection_id
            assert connected["operationContext"] == "outbound"
            updated = await receiver.event("ParticipantsUpdated")
            assert [p["identifier"]["rawId"] for p in updated["participants"]] == [alice_id]

            connection = client.get_call_connection(str(created.call_connection_id))
            properties = await sync(connection.get_call_properties)
            assert properties.call_connection_state == "connected"
            assert properties.server_call_id and properties.server_call_id.startswith("server:")

            # Speech reaches Alice's device while it plays.
            probe = incoming.audio_of("app")
            await sync(lambda: connection.play_media(TextSource(text="Welcome.")))
            await receiver.event("PlayStarted")
            loud = probe.loud_frames
            await receiver.event("PlayCompleted")
            await asyncio.sleep(0.3)
            assert probe.loud_frames - loud >= 10

            # Her key press ends the recognize.
            await sync(
                lambda: connection.start_recognizing_media(
                    RecognizeInputType.DTMF,
                    alice_user,
                    play_prompt=TextSource(text="Press one."),
                    interrupt_prompt=True,
                    dtmf_max_tones_to_collect=1,
                    operation_context="menu",
                )
            )
            await asyncio.sleep(0.5)
            await incoming.send_dtmf("1")
            recognized = await receiver.event("RecognizeCompleted")
            assert recognized["operationContext"] == "menu"
            assert recognized["dtmfResult"]["tones"] == [DtmfTone.ONE.value]

            # Participants: list, get, mute; add Bob, then remove him.
            listed = await sync(lambda: list(connection.list_participants()))
            assert [p.identifier.raw_id for p in listed if p.identifier] == [alice_id]
            await sync(lambda: connection.mute_participant(alice_user))
            alice_now = await sync(lambda: connection.get_participant(alice_user))
            assert alice_now is not None and alice_now.is_muted
            added = await sync(
                lambda: connection.add_participant(bob_user, operation_context="add-bob")
            )
            assert added.invitation_id
            bobs_call = await bob.next_incoming_call()
            await bobs_call.accept()
            succeeded = await receiver.event("AddParticipantSucceeded")
            assert succeeded["operationContext"] == "add-bob"
            assert succeeded["participant"]["rawId"] == bob_id
            await sync(lambda: connection.remove_participant(bob_user, operation_context="bye"))
            removed = await receiver.event("RemoveParticipantSucceeded")
            assert removed["operationContext"] == "bye"
            await bobs_call.wait_for_state(CallState.DISCONNECTED)

            await sync(lambda: connection.hang_up(is_for_everyone=True))
            await receiver.event("CallDisconnected")
            await incoming.wait_for_state(CallState.DISCONNECTED)
            with pytest.raises(HttpResponseError) as ended:
                await sync(lambda: connection.play_media(TextSource(text="Too late.")))
            assert ended.value.status_code is not None and 400 <= ended.value.status_code < 500
            with pytest.raises(ResourceNotFoundError):
                await sync(client.get_call_connection("no-such-call").get_call_properties)

            token = receiver.accepted[
                0
            ].bearer  # every callback is signed (see the callbacks tests)
            assert token.count(".") == 2
            order = types(receiver)
            assert order.index("CallConnected") < order.index("PlayStarted")
            assert order[-1] == "CallDisconnected"
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_the_async_sdk_transfers_a_call_to_another_user(
    node: InProcessNode, receiver: CallbackReceiver
) -> None:
    alice_id, alice = await user(node)
    bob_id, bob = await user(node)
    try:
        async with (
            asyncio.timeout(60),
            AsyncCallAutomationClient.from_connection_string(
                node.connection_string, connection_verify=node.ca_path
            ) as client,
        ):
            created = await client.create_call(
                CommunicationUserIdentifier(alice_id), receiver.url("/transfer")
            )
            incoming = await alice.next_incoming_call()
            await incoming.accept()
            await receiver.event("CallConnected")
            connection = client.get_call_connection(str(created.call_connection_id))
            result = await connection.transfer_call_to_participant(
                CommunicationUserIdentifier(bob_id), operation_context="to-bob"
            )
            assert result.operation_context == "to-bob"
            bobs_call = await bob.next_incoming_call()
            await bobs_call.accept()
            accepted = await receiver.event("CallTransferAccepted")
            assert accepted["transferTarget"]["rawId"] == bob_id
            await receiver.event("CallDisconnected")
            properties = await connection.get_call_properties()
            assert properties.call_connection_state == "disconnected"
            # Alice and Bob are still together in the call the app left.
            assert incoming.state is CallState.CONNECTED and bobs_call.state is CallState.CONNECTED
            body = json.loads(receiver.accepted[-1].body)
            assert body[0]["source"].endswith(created.call_connection_id)
    finally:
        await alice.dispose()
        await bob.dispose()
