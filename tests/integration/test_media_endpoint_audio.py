"""Issue 14's media endpoint with real parts: espeak-ng speech played through a LocalLeg to a
Python client (aiortc) in a group call on a node served in this process, and the client's
``send_dtmf("1")`` ending a recognize with tone 1."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import CallAgent, CallClient, CallState
from switchboard.media.audio.speech import PocketsphinxRecognizer
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.audio.tts import EspeakTextToSpeech
from switchboard.media.endpoint.endpoint import MediaEndpoint
from switchboard.media.endpoint.hold_music import hold_music
from switchboard.media.endpoint.models import (
    DtmfOptions,
    MediaEvent,
    Play,
    PlayCompleted,
    PlayStarted,
    Recognize,
    RecognizeCompleted,
    RecognizeInput,
    TextSource,
)
from switchboard.media.endpoint.renderer import FileFetchError, SourceRenderer
from switchboard.media.endpoint.ticker import EndpointTicker
from tests.integration.calling_clients import loopback_candidates
from tests.integration.inprocess_node import InProcessNode, serving

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

ENDPOINT = "app-endpoint"


class NoFiles:
    async def fetch(self, uri: str) -> bytes:
        raise FileFetchError("no files in this test")


@pytest.fixture
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    async with serving(tmp_path_factory.mktemp("media-endpoint")) as served:
        yield served


async def agent_for(node: InProcessNode) -> CallAgent:
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    _, token = await asyncio.to_thread(identity.create_user_and_token, scopes=["voip"])
    client = CallClient(node.endpoint, ssl=node.ca_path, tone_hz=0.0)
    return await client.create_call_agent(token.token)


class Events:
    def __init__(self) -> None:
        self.seen: list[MediaEvent] = []
        self.changed = asyncio.Event()

    def __call__(self, event: MediaEvent) -> None:
        self.seen.append(event)
        self.changed.set()

    async def until(self, wanted: type[MediaEvent]) -> MediaEvent:
        while True:
            for event in self.seen:
                if isinstance(event, wanted):
                    return event
            self.changed.clear()
            await self.changed.wait()


async def test_speech_reaches_the_client_and_its_key_press_ends_a_recognize(
    node: InProcessNode,
) -> None:
    agent = await agent_for(node)
    ticker = EndpointTicker()
    await ticker.start()
    endpoint: MediaEndpoint | None = None
    try:
        async with asyncio.timeout(60):
            group_id = str(uuid.uuid4())
            call = await agent.join(group_id=group_id)
            await call.wait_for_state(CallState.CONNECTED)
            assert call.participant_id is not None
            leg = await node.node.calling.conferences.media.add_local_participant(
                f"group:{group_id}", ENDPOINT
            )
            events = Events()
            endpoint = MediaEndpoint(
                leg,
                SourceRenderer(EspeakTextToSpeech(), NoFiles()),
                PocketsphinxRecognizer(),
                events,
                hold_music=hold_music(),
            )
            await endpoint.start()
            ticker.add(endpoint)

            probe = call.audio_of(ENDPOINT)
            endpoint.play(Play("welcome", (TextSource("Welcome to Switchboard."),)))
            await events.until(PlayStarted)
            loud_before = probe.loud_frames
            await events.until(PlayCompleted)
            await asyncio.sleep(0.3)  # the last packets' way to the client
            assert probe.loud_frames - loud_before >= 20  # speech, not silence, arrived

            endpoint.recognize(
                Recognize(
                    "menu",
                    RecognizeInput.DTMF,
                    call.participant_id,
                    prompts=(TextSource("Press one for sales."),),
                    interrupt_prompt=True,
                    dtmf=DtmfOptions(max_tones=1),
                )
            )
            await asyncio.sleep(0.5)
            await call.send_dtmf("1")
            done = await events.until(RecognizeCompleted)
            assert isinstance(done, RecognizeCompleted)
            assert done.tones == (DtmfTone.ONE,) and done.operation_id == "menu"
    finally:
        if endpoint is not None:
            ticker.remove(endpoint)
            await endpoint.stop()
        await ticker.stop()
        await agent.dispose()
