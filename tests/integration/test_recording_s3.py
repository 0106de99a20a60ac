"""A recording stored in S3-compatible object storage (moto's server mode on 127.0.0.1): a
Room call recorded by its roomId, its chunk announced, downloaded through the SDK and found
in the bucket, not in the data dir."""

from __future__ import annotations

import asyncio
import io
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from azure.communication.callautomation import CallAutomationClient
from azure.communication.rooms import ParticipantRole
from moto.server import ThreadedMotoServer

from switchboard.client.calling import CallState
from switchboard.storage.s3_blobs import S3BlobStore, S3Settings
from tests.event_receiver import EventReceiver
from tests.integration.admin_http import subscribe
from tests.integration.calling_clients import (
    GroupUsers,
    all_hear_each_other,
    closed_port,
    loopback_candidates,
    make_room,
    start_without_turn,
)
from tests.recording_hosts import pinned_sync_transport

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]

FILE_STATUS = "Microsoft.Communication.RecordingFileStatusUpdated"
TONES = [600.0, 1000.0]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = closed_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


async def test_a_room_call_recorded_into_s3_downloads_through_the_sdk(
    tmp_path: Path, s3_endpoint: str
) -> None:
    bucket = f"rec{uuid.uuid4().hex[:10]}"
    env = {
        "SWITCHBOARD_RECORDING_S3_ENDPOINT": s3_endpoint,
        "SWITCHBOARD_RECORDING_S3_BUCKET": bucket,
        "SWITCHBOARD_RECORDING_S3_ACCESS_KEY": "test",
        "SWITCHBOARD_RECORDING_S3_SECRET_KEY": "test",
    }
    server = await asyncio.to_thread(start_without_turn, tmp_path, env=env)
    users = GroupUsers(server)
    receiver = await EventReceiver().start()
    try:
        await subscribe(
            server,
            "recordings",
            {"endpointUrl": receiver.url("/recordings"), "includedEventTypes": [FILE_STATUS]},
        )
        async with asyncio.timeout(60):
            agents = [await users.agent(tone) for tone in TONES]
            room_id = await make_room(users, {a: ParticipantRole.PRESENTER for a in agents})
            calls = [await agent.join(room_id=room_id) for agent in agents]
            for call in calls:
                await call.wait_for_state(CallState.CONNECTED)
            await all_hear_each_other(calls, agents, TONES)
            client = CallAutomationClient.from_connection_string(
                server.connection_string, transport=pinned_sync_transport(server.ca_path)
            )
            started = await asyncio.to_thread(
                lambda: client.start_recording(
                    room_id=room_id, recording_content_type="audio", recording_format_type="wav"
                )
            )
            recording_id = str(started.recording_id)
            await asyncio.sleep(1.5)
            await asyncio.to_thread(client.stop_recording, recording_id)

            def announced() -> list[dict[str, Any]]:
                return [
                    e["data"]
                    for n in receiver.notifications
                    for e in n.events()
                    if e["subject"].endswith(recording_id)
                ]

            await receiver.wait_until(lambda: bool(announced()), within=30)
            [chunk] = announced()[0]["recordingStorageInfo"]["recordingChunks"]
            response: Any = await asyncio.to_thread(
                client.download_recording, chunk["contentLocation"]
            )
            data = response.read()
            with wave.open(io.BytesIO(data)) as file:
                samples = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
            spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
            freqs = np.fft.rfftfreq(len(samples), 1 / 16000)
            for tone in TONES:
                assert spectrum[np.abs(freqs - tone) < tone * 0.03].max() > 0.1 * spectrum.max()

        store = S3BlobStore(S3Settings(s3_endpoint, bucket, "us-east-1", "test", "test"))
        try:
            keys = await store.list_keys(f"recordings/{recording_id}/")
            content = [k for k in keys if k.endswith(".wav")]
            assert len(content) == 1 and await store.get(content[0]) == data
        finally:
            await store.close()
        assert not (tmp_path / "recordings").exists()
    finally:
        await users.dispose()
        await receiver.stop()
        assert server.stop() == 0, "\n".join(server.output)
