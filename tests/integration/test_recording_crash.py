"""A recording across a ``kill -9``: every chunk stored before the kill downloads and plays
after the restart, the recording reads as inactive, and RecordingFileStatusUpdated announces
those chunks (sessionEndReason NodeStopped)."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from azure.communication.callautomation import CallAutomationClient

from switchboard.client.calling import CallState
from tests.event_receiver import EventReceiver
from tests.integration.admin_http import subscribe
from tests.integration.calling_clients import (
    GroupUsers,
    all_hear_each_other,
    closed_port,
    loopback_candidates,
)
from tests.integration.server import start_server
from tests.recording_hosts import pinned_sync_transport

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]

FILE_STATUS = "Microsoft.Communication.RecordingFileStatusUpdated"
TONES = [500.0, 900.0]
ENV = {
    "SWITCHBOARD_RECORDING_CHUNK_SECONDS": "1",
    "SWITCHBOARD_EVENTS_RETRY_SCALE": "0.01",
    "SWITCHBOARD_TURN_PORT": str(closed_port()),
}


async def stored_chunks(data_dir: Path, recording_id: str, at_least: int) -> None:
    """Until the recording's manifest (its durable state) names ``at_least`` chunks."""
    manifest = data_dir / "recordings" / "recordings" / recording_id / "manifest.json"
    while True:
        try:
            if len(json.loads(manifest.read_bytes())["chunks"]) >= at_least:
                return
        except (FileNotFoundError, ValueError):
            pass
        await asyncio.sleep(0.1)  # the manifest is a file: nothing to wait on but the file


async def test_chunks_written_before_a_kill_9_download_and_play_after_the_restart(
    tmp_path: Path,
) -> None:
    receiver = await EventReceiver().start()
    server = await asyncio.to_thread(start_server, tmp_path, env=ENV)
    users = GroupUsers(server)
    try:
        await subscribe(
            server,
            "recordings",
            {"endpointUrl": receiver.url("/recordings"), "includedEventTypes": [FILE_STATUS]},
        )
        group_id = str(uuid.uuid4())
        async with asyncio.timeout(60):
            agents = [await users.agent(tone) for tone in TONES]
            calls = [await agent.join(group_id=group_id) for agent in agents]
            for call in calls:
                await call.wait_for_state(CallState.CONNECTED)
            await all_hear_each_other(calls, agents, TONES)
            client = CallAutomationClient.from_connection_string(
                server.connection_string, transport=pinned_sync_transport(server.ca_path)
            )
            started = await asyncio.to_thread(
                lambda: client.start_recording(
                    group_call_id=group_id,
                    recording_content_type="audio",
                    recording_format_type="wav",
                )
            )
            recording_id = str(started.recording_id)
            await stored_chunks(tmp_path, recording_id, 2)

            server = await asyncio.to_thread(server.crash_and_restart)
            await users.dispose()
            users = GroupUsers(server)

            properties = await asyncio.to_thread(client.get_recording_properties, recording_id)
            assert properties.recording_state == "inactive"

            def announced() -> list[dict[str, Any]]:
                return [
                    e["data"]
                    for n in receiver.notifications
                    for e in n.events()
                    if e["subject"].endswith(recording_id)
                ]

            await receiver.wait_until(lambda: bool(announced()), within=30)
            [found] = announced()
            assert found["sessionEndReason"] == "NodeStopped"
            chunks = found["recordingStorageInfo"]["recordingChunks"]
            assert len(chunks) >= 2
            for chunk in chunks:
                response: Any = await asyncio.to_thread(
                    client.download_recording, chunk["contentLocation"]
                )
                with wave.open(io.BytesIO(response.read())) as file:
                    assert file.getframerate() == 16000
                    samples = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
                assert len(samples) == 16000  # one whole second, as written
                spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
                freqs = np.fft.rfftfreq(len(samples), 1 / 16000)
                for tone in TONES:
                    near = spectrum[np.abs(freqs - tone) < tone * 0.03]
                    assert near.max() > 0.1 * spectrum.max()
    finally:
        await users.dispose()
        await receiver.stop()
        assert server.stop() == 0, "\n".join(server.output)
