"""RecordingService with the real media node and file store, fakes for the rest: a node that
stops finishes and announces its recordings; one that died has them marked interrupted and
announced at its next start; what may not be recorded is refused."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from switchboard.automation.ports import CallbackData
from switchboard.core.clock import SystemClock
from switchboard.core.events import IntegrationEvent
from switchboard.media.node import LocalMediaNode
from switchboard.recording.models import (
    RecordingChannel,
    RecordingContent,
    RecordingFormat,
    RecordingOptions,
    RecordingPhase,
)
from switchboard.recording.ports import ConnectedCall
from switchboard.recording.service import (
    CallNotRecordableError,
    RecordingLinks,
    RecordingService,
    RecordingTarget,
)
from switchboard.storage.blobs import FileBlobStore

pytestmark = pytest.mark.anyio
WAV = RecordingOptions(RecordingContent.AUDIO, RecordingChannel.MIXED, RecordingFormat.WAV)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Calls:
    def __init__(self, node: LocalMediaNode) -> None:
        self._node = node

    def runs_here(self, call_id: str) -> bool:
        return call_id in self._node.calls

    def raw_id(self, call_id: str, participant_id: str) -> str | None:
        return f"8:acs:{participant_id}"


class NoConnections:
    async def call_of(self, call_connection_id: str) -> ConnectedCall:
        raise AssertionError("not used")


class Callbacks:
    def __init__(self) -> None:
        self.sent: list[CallbackData] = []

    async def enqueue(self, key: str, url: str, events: Sequence[CallbackData]) -> None:
        self.sent += events


class AnyUrl:
    async def check_callback_uri(self, url: str) -> None:
        return None


class Events:
    def __init__(self) -> None:
        self.published: list[IntegrationEvent] = []

    async def publish(self, event: IntegrationEvent) -> None:
        self.published.append(event)


def service(
    root: Path, node: LocalMediaNode, events: Events, callbacks: Callbacks
) -> RecordingService:
    return RecordingService(
        FileBlobStore(root),
        node,
        Calls(node),
        NoConnections(),
        callbacks,
        AnyUrl(),
        events,
        RecordingLinks(lambda document: f"https://rec.asm.skype.com/v1/objects/{document}"),
        SystemClock(),
        node_id="node-a",
        chunk_seconds=60.0,
    )


async def test_a_stopping_node_finishes_and_announces_what_it_records(tmp_path: Path) -> None:
    node, events, callbacks = LocalMediaNode(), Events(), Callbacks()
    await node.add_local_participant("group:g", "p1")
    recordings = service(tmp_path, node, events, callbacks)
    await recordings.start()
    options = RecordingOptions(
        RecordingContent.AUDIO,
        RecordingChannel.MIXED,
        RecordingFormat.WAV,
        state_callback_uri="https://app.example/recording",
    )
    started = await recordings.start_recording(RecordingTarget(call_id="group:g"), options)
    await recordings.stop()
    stored = await recordings.read_manifest(started.recording_id)
    assert stored.phase is RecordingPhase.FINISHED
    [event] = events.published
    assert event.data["sessionEndReason"] == "NodeStopped"
    assert [c.data["state"] for c in callbacks.sent] == ["active", "inactive"]


async def test_recordings_a_dead_node_left_live_are_interrupted_at_its_next_start(
    tmp_path: Path,
) -> None:
    node, events = LocalMediaNode(), Events()
    await node.add_local_participant("group:g", "p1")
    first = service(tmp_path, node, events, Callbacks())
    await first.start()
    started = await first.start_recording(RecordingTarget(call_id="group:g"), WAV)
    # the process dies here: nothing is finished or announced

    again = service(tmp_path, LocalMediaNode(), Events(), Callbacks())
    await again.start()
    stored = await again.get(started.recording_id)
    assert stored.phase is RecordingPhase.INTERRUPTED and stored.state.value == "inactive"
    await again.stop()
    await first.stop()


async def test_a_call_that_does_not_run_here_is_not_recorded(tmp_path: Path) -> None:
    recordings = service(tmp_path, LocalMediaNode(), Events(), Callbacks())
    await recordings.start()
    with pytest.raises(CallNotRecordableError):
        await recordings.start_recording(RecordingTarget(call_id="group:nobody"), WAV)
    await recordings.stop()
