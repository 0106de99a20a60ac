"""@azure/communication-call-automation (npm) against a running server: the app's side in
JavaScript (tests/js/automation.mjs), the called user on the Python calling client, the
callbacks on a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import CallClient, CallState
from tests.callback_receiver import CallbackReceiver
from tests.integration.calling_clients import loopback_candidates
from tests.integration.js_sdk import NodeClients, one_server
from tests.integration.server import RunningServer

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from one_server(tmp_path_factory)


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    started = await CallbackReceiver().start()
    yield started
    await started.stop()


def types(receiver: CallbackReceiver) -> list[str]:
    return [e["type"].rsplit(".", 1)[1] for c in receiver.accepted for e in c.events]


async def test_the_js_sdk_places_and_controls_a_call(
    server: RunningServer, receiver: CallbackReceiver
) -> None:
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    user, token = await asyncio.to_thread(identity.create_user_and_token, scopes=["voip"])
    other, other_token = await asyncio.to_thread(identity.create_user_and_token, scopes=["voip"])
    calling = CallClient(server.endpoint, ssl=server.ca_path, tone_hz=0.0)
    device = await calling.create_call_agent(token.token)
    other_device = await calling.create_call_agent(other_token.token)  # rings, never answers
    js = NodeClients(server)
    user_id, other_id = user.properties["id"], other.properties["id"]
    try:
        async with asyncio.timeout(90):
            placing = asyncio.create_task(
                asyncio.to_thread(
                    js.run,
                    "automation.mjs",
                    {
                        "step": "place",
                        "userId": user_id,
                        "otherUserId": other_id,
                        "callbackUrl": receiver.url("/js"),
                    },
                )
            )
            incoming = await device.next_incoming_call()
            await incoming.accept()
            placed = await placing
            await asyncio.sleep(0.5)  # the recognize is running (its prompt waits behind a play)
            await incoming.send_dtmf("1")
            assert placed["createdState"] == "connecting"
            assert placed["connectedState"] == "connected"
            assert placed["participants"] == [user_id]
            assert placed["muted"] is True
            assert placed["canceledInvitation"] == placed["invitationId"]
            assert placed["apiVersions"] == ["2026-03-12"]

            connected = await receiver.event("CallConnected")
            assert connected["operationContext"] == "from-js"
            played = await receiver.event("PlayCompleted")
            assert played["operationContext"] == "js-play"
            canceled = await receiver.event("CancelAddParticipantSucceeded")
            assert canceled["invitationId"] == placed["invitationId"]

            recognized = await receiver.event("RecognizeCompleted")
            assert recognized["operationContext"] == "js-menu"
            assert recognized["dtmfResult"]["tones"] == ["one"]

            ended = await asyncio.to_thread(
                js.run,
                "automation.mjs",
                {"step": "end", "callConnectionId": placed["callConnectionId"]},
            )
            assert ended["stateAfter"] == "disconnected"
            assert ended["playAfterEnd"]["status"] == 400
            assert ended["unknown"] == {"status": 404, "code": "NotFound"}
            await incoming.wait_for_state(CallState.DISCONNECTED)
            await receiver.event("CallDisconnected")
            assert types(receiver)[0] == "CallConnected"
    finally:
        await device.dispose()
        await other_device.dispose()
