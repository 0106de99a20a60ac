"""The IVR sample (examples/ivr) end to end: a virtual phone dials the IVR's number, hears the
menu, presses 1, and the agent (a user on the Python calling client, as the sample web app's
user would be in a browser) gets the transferred call with audio both ways."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from azure.communication.identity import CommunicationIdentityClient
from examples.ivr.app import IvrSettings, create_app
from examples.ivr.setup import phone_number, subscribe_incoming_calls
from examples.sample_app.settings import AppSettings

from switchboard.client.calling import CallClient, CallState
from tests.integration.calling_clients import loopback_candidates
from tests.integration.inprocess_node import InProcessNode, serving
from tests.integration.voice_phones import loud_frames, new_phone, phone, until_phone

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

AGENT_TONE = 660.0


@pytest.fixture
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    async with serving(tmp_path_factory.mktemp("ivr")) as served:
        yield served


async def test_a_phone_reaches_the_agent_through_the_ivr_menu(node: InProcessNode) -> None:
    switchboard = AppSettings(node.connection_string, node.ca_path)
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    agent_user, token = await asyncio.to_thread(identity.create_user_and_token, scopes=["voip"])
    agent = await CallClient(node.endpoint, ssl=node.ca_path, tone_hz=AGENT_TONE).create_call_agent(
        token.token
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app, ivr = create_app(IvrSettings(switchboard, public, agent_user.properties["id"]))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving_ivr = asyncio.create_task(server.serve(sockets=[sock]))
    caller = new_phone()
    try:
        async with asyncio.timeout(90):  # ivr.log says how far it got when this expires
            number = await asyncio.to_thread(phone_number, switchboard)
            await asyncio.to_thread(
                subscribe_incoming_calls, switchboard, "ivr-test", f"{public}/events", number
            )
            await phone(node, caller, "dial", {"to": number})
            heard = await until_phone(node, caller, lambda s: loud_frames(s) >= 40)
            assert heard["state"] == "connected" and heard["peer"] == number
            await phone(node, caller, "press", {"keys": "1"})

            transferred = await agent.next_incoming_call()
            await transferred.accept()
            await transferred.wait_for_state(CallState.CONNECTED)
            assert "chose sales" in ivr.log

            # Audio both ways: the agent hears the phone speak; the phone hears the agent.
            before = (await phone(node, caller))["heard"]["loudFrames"]
            await phone(node, caller, "say", {"text": "Hello, I would like to buy a phone."})
            phone_participant = next(iter(transferred.remote_participants))
            probe = transferred.audio_of(phone_participant)
            async with asyncio.timeout(20):
                while probe.loud_frames < 25:
                    probe.changed.clear()
                    await probe.changed.wait()
            await until_phone(node, caller, lambda s: loud_frames(s) >= before + 50)
            assert "CallConnected" in ivr.log and "CallTransferAccepted" in ivr.log
            await transferred.hang_up()
            await until_phone(node, caller, lambda s: s["state"] == "idle")
    finally:
        print("ivr log:", ivr.log, "phone:", await phone(node, caller))
        server.should_exit = True
        await serving_ivr
        await agent.dispose()
