"""Streaming requests reach the node that runs the call (the bus), and transport URLs go
through the guard: wss only in production, internal addresses refused at connect time."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import msgspec
import pytest

from switchboard.automation import control_ops as ops
from switchboard.automation.store_memory import MemoryCallConnectionStore
from switchboard.automation.streaming.models import (
    AudioChannel,
    InvalidTransportUrlError,
    StreamingAction,
    StreamingOptions,
    TranscriptionOptions,
)
from switchboard.automation.streaming.sessions import MediaStreams, StreamingEngines
from switchboard.automation.streaming.socket import StreamConnectError
from switchboard.automation.streaming.transport import GuardedWebSocketConnector
from switchboard.bus.memory import MemoryBus
from switchboard.core.clock import FakeClock
from switchboard.core.errors import SwitchboardError
from switchboard.core.sections import Mode
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy
from switchboard.media.audio.transcriber import PocketsphinxTranscriber
from tests.unit.automation_fakes import ALICE, AutomationNode, FakeCallbacks, HttpsOnly
from tests.unit.streaming.fakes import FakeConnector

pytestmark = pytest.mark.anyio


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[AutomationNode, AutomationNode]]:
    bus, store, counter = MemoryBus(), MemoryCallConnectionStore(), itertools.count()
    await bus.start()
    made = [
        await AutomationNode.start(name, bus, store, FakeClock(), lambda: f"id{next(counter)}")
        for name in ("node-a", "node-b")
    ]
    yield made[0], made[1]
    for node in made:
        await node.stop()
    await bus.stop()


async def test_a_streaming_request_on_another_node_is_answered_by_the_owner(
    nodes: tuple[AutomationNode, AutomationNode],
) -> None:
    owner, other = nodes
    call = await owner.service.create_call([ALICE], "https://app.example/cb")
    with pytest.raises(SwitchboardError) as refused:
        await other.control.streaming(
            ops.StreamingOp(call.call_connection_id, StreamingAction.START_MEDIA_STREAMING)
        )
    assert (refused.value.status, refused.value.error_code) == (400, "MediaStreamingNotConfigured")


def test_answer_options_travel_between_nodes() -> None:
    op = ops.AnswerOp(
        "",
        "context",
        "https://app.example/cb",
        media_streaming=StreamingOptions("wss://app.example/a", AudioChannel.UNMIXED, 24_000),
        transcription=TranscriptionOptions("wss://app.example/t", "en-GB", intermediate=True),
    )
    request = ops.Request("r1", "node-a", op)
    decoded = msgspec.json.decode(msgspec.json.encode(request), type=ops.Request)
    assert decoded.op == op


async def test_production_takes_wss_only() -> None:
    streams = MediaStreams(
        FakeCallbacks(), HttpsOnly(), StreamingEngines(FakeConnector(), PocketsphinxTranscriber())
    )
    await streams.check_options(StreamingOptions("wss://app.example/audio"), None)
    with pytest.raises(InvalidTransportUrlError) as refused:
        await streams.check_options(StreamingOptions("ws://app.example/audio"), None)
    assert refused.value.target == "mediaStreamingOptions.transportUrl"


async def test_the_connector_refuses_internal_addresses_in_production() -> None:
    production = GuardedWebSocketConnector(EndpointGuard(EndpointPolicy.for_mode(Mode.PRODUCTION)))
    with pytest.raises(StreamConnectError, match=r"127\.0\.0\.1"):
        await production.connect("wss://127.0.0.1:9/stream")
    with pytest.raises(StreamConnectError, match="ws:// or wss://"):
        await production.connect("https://app.example/stream")
