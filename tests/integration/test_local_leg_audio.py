"""Issue 14's local legs with a real client: a Python client (aiortc) in a group call on a node
served in this process, and a ``LocalLeg`` added to the call on that node's SFU.

The leg plays a 440 Hz tone (the client's decoded audio from the leg's m-line carries it);
the leg listens to the client (its decoded PCM carries the client's 520 Hz); the client's
``send_dtmf("1")`` reaches the leg as RFC 4733 telephone events for digit 1.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import CallAgent, CallClient, CallState
from switchboard.media.local_leg import LocalLeg
from switchboard.media.opus import FRAME_SAMPLES, SAMPLE_RATE
from tests.integration.calling_clients import hears, loopback_candidates
from tests.integration.inprocess_node import InProcessNode, serving

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

LEG_TONE = 440.0
CLIENT_TONE = 520.0


@pytest.fixture
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    async with serving(tmp_path_factory.mktemp("local-leg")) as served:
        yield served


async def agent_for(node: InProcessNode, tone: float) -> CallAgent:
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    _, token = await asyncio.to_thread(identity.create_user_and_token, scopes=["voip"])
    client = CallClient(node.endpoint, ssl=node.ca_path, tone_hz=tone)
    return await client.create_call_agent(token.token)


async def play(leg: LocalLeg, frequency: float) -> None:
    """A sine into the leg, paced one 20 ms frame at a time as a media endpoint would."""
    loop = asyncio.get_running_loop()
    start, n = loop.time(), 0
    step = 2 * math.pi * frequency / SAMPLE_RATE
    while True:
        t = np.arange(n * FRAME_SAMPLES, (n + 1) * FRAME_SAMPLES)
        leg.send_audio((8000 * np.sin(step * t)).astype("<i2").tobytes())
        n += 1
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))


class Heard:
    """What the leg decoded from one publisher: loud frames and their frequency."""

    def __init__(self) -> None:
        self.frequencies: list[float] = []
        self.changed = asyncio.Event()

    def frame(self, pcm: bytes) -> None:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        if np.sqrt(np.mean(samples * samples)) > 500:
            spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
            self.frequencies.append(float(np.argmax(spectrum)) * SAMPLE_RATE / samples.size)
        self.changed.set()

    async def until(self, frequency: float, frames: int = 25) -> None:
        """Until ``frames`` more loud frames arrived, the latest ones of ``frequency``."""
        start = len(self.frequencies)

        def ok() -> bool:
            recent = self.frequencies[start:][-frames:]
            return len(recent) >= frames and abs(float(np.median(recent)) - frequency) < 30

        while not ok():
            self.changed.clear()
            await self.changed.wait()


async def test_a_local_leg_and_a_python_client_hear_each_other_and_dtmf_reaches_the_leg(
    node: InProcessNode,
) -> None:
    agent = await agent_for(node, CLIENT_TONE)
    player: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(40):
            group_id = str(uuid.uuid4())
            call = await agent.join(group_id=group_id)
            await call.wait_for_state(CallState.CONNECTED)
            assert call.participant_id is not None

            leg = await node.node.calling.conferences.media.add_local_participant(
                f"group:{group_id}", "media-endpoint"
            )
            heard = Heard()
            leg.listen(call.participant_id, heard.frame)
            events: list[tuple[str, bytes, int]] = []
            arrived = asyncio.Event()

            def on_event(who: str, payload: bytes, timestamp: int) -> None:
                events.append((who, payload, timestamp))
                arrived.set()

            leg.on_telephone_event(on_event)
            player = asyncio.create_task(play(leg, LEG_TONE))

            await hears(call.audio_of("media-endpoint"), LEG_TONE)
            await heard.until(CLIENT_TONE)

            await call.send_dtmf("1")
            while not any(p[1] & 0x80 for _, p, _ in events):  # until the end packet
                arrived.clear()
                await arrived.wait()
            assert {who for who, _, _ in events} == {call.participant_id}
            assert {payload[0] for _, payload, _ in events} == {1}
            assert len({ts for _, _, ts in events}) == 1  # one event, one timestamp
            durations = [int.from_bytes(p[2:4], "big") for _, p, _ in events]
            assert durations == sorted(durations) and durations[-1] == 4800  # 100 ms at 48 kHz

            # The client's audio resumes after the tone, and the leg still decodes it.
            await heard.until(CLIENT_TONE)
            leg.close()
    finally:
        if player is not None:
            player.cancel()
        await agent.dispose()
