"""Call recording through the official azure-communication-callautomation SDK (sync and async)
against a running server over TLS: Python calling clients (aiortc) in a group call, each
sending its own tone; recordings started by groupCallLocator, paused, resumed, stopped;
RecordingStateChanged callbacks; the RecordingFileStatusUpdated event at a real webhook; the
chunks downloaded (whole and by range) and deleted through the SDK at the recording host name,
which the tests resolve to 127.0.0.1 in the SDK's transport (tests/recording_hosts.py).

"Holds a tone" means the channel's spectrum peaks at that frequency (±3%)."""

from __future__ import annotations

import asyncio
import io
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from typing import Any

import av
import numpy as np
import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    ChannelAffinity,
    CommunicationUserIdentifier,
)
from azure.communication.callautomation.aio import CallAutomationClient as AsyncCallAutomationClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from switchboard.client.calling import CallAgent, CallState
from tests.callback_receiver import CallbackReceiver
from tests.event_receiver import EventReceiver
from tests.integration.admin_http import signed_request, subscribe
from tests.integration.calling_clients import (
    GroupUsers,
    all_hear_each_other,
    loopback_candidates,
    start_without_turn,
)
from tests.integration.js_sdk import NodeClients
from tests.integration.server import RunningServer
from tests.recording_hosts import pinned_async_transport, pinned_sync_transport

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

FILE_STATUS = "Microsoft.Communication.RecordingFileStatusUpdated"
TONES = [440.0, 700.0, 1100.0]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_without_turn(
        tmp_path_factory.mktemp("recording"),
        env={"SWITCHBOARD_RECORDING_CHUNK_SECONDS": "30", "SWITCHBOARD_EVENTS_RETRY_SCALE": "0.01"},
    )
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
async def users(server: RunningServer) -> AsyncIterator[GroupUsers]:
    found = GroupUsers(server)
    try:
        yield found
    finally:
        await found.dispose()


@pytest.fixture
async def events(server: RunningServer) -> AsyncIterator[EventReceiver]:
    receiver = await EventReceiver().start()
    await subscribe(
        server,
        f"recordings-{receiver.port}",
        {"endpointUrl": receiver.url("/recordings"), "includedEventTypes": [FILE_STATUS]},
    )
    yield receiver
    await signed_request(server, "DELETE", f"/admin/eventSubscriptions/recordings-{receiver.port}")
    await receiver.stop()


@pytest.fixture
async def callbacks() -> AsyncIterator[CallbackReceiver]:
    started = await CallbackReceiver().start()
    yield started
    await started.stop()


async def sync(call: Any) -> Any:
    return await asyncio.to_thread(call)


async def group_call(users: GroupUsers, tones: list[float], *, video: bool = False) -> str:
    group_id = str(uuid.uuid4())
    agents: list[CallAgent] = [await users.agent(tone) for tone in tones]
    calls = [await agent.join(group_id=group_id, video=video) for agent in agents]
    for call in calls:
        await call.wait_for_state(CallState.CONNECTED)
    await all_hear_each_other(calls, agents, tones)
    return group_id


async def file_event(receiver: EventReceiver, recording_id: str) -> dict[str, Any]:
    def found() -> list[dict[str, Any]]:
        return [
            e["data"]
            for n in receiver.notifications
            for e in n.events()
            if e.get("eventType") == FILE_STATUS and e["subject"].endswith(recording_id)
        ]

    await receiver.wait_until(lambda: bool(found()), within=30)
    return found()[0]


def downloaded(client: CallAutomationClient, url: str, **ranged: int) -> bytes:
    """The SDK's download, read whole: 1.6.0 returns the transport's response, not the byte
    iterator it documents (its own "issue #42835")."""
    response: Any = client.download_recording(url, **ranged)
    return bytes(response.read())


def peak(samples: np.ndarray[Any, Any], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def strong(samples: np.ndarray[Any, Any], rate: int, frequency: float) -> bool:
    """``frequency`` stands out of the spectrum: at least a tenth of the strongest peak."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    near = spectrum[np.abs(freqs - frequency) < frequency * 0.03]
    return bool(near.size) and float(near.max()) > 0.1 * float(spectrum.max())


def wav_channels(data: bytes) -> tuple[np.ndarray[Any, Any], int]:
    with wave.open(io.BytesIO(data)) as file:
        frames = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
        return frames.reshape(-1, file.getnchannels()), file.getframerate()


async def test_unmixed_and_mixed_wav_hold_each_tone_and_the_sync_sdk_downloads_and_deletes(
    server: RunningServer,
    users: GroupUsers,
    events: EventReceiver,
    callbacks: CallbackReceiver,
) -> None:
    client = CallAutomationClient.from_connection_string(
        server.connection_string, transport=pinned_sync_transport(server.ca_path)
    )
    async with asyncio.timeout(90):
        group_id = await group_call(users, TONES)
        first = CommunicationUserIdentifier(str(users.agents[0].user_id))
        clock = asyncio.get_running_loop().time
        start_called = clock()
        unmixed = await sync(
            lambda: client.start_recording(
                group_call_id=group_id,
                recording_content_type="audio",
                recording_channel_type="unmixed",
                recording_format_type="wav",
                channel_affinity=[ChannelAffinity(first, 2)],
                recording_state_callback_url=callbacks.url("/recording"),
            )
        )
        mixed = await sync(
            lambda: client.start_recording(
                group_call_id=group_id,
                recording_content_type="audio",
                recording_channel_type="mixed",
                recording_format_type="wav",
                pause_on_start=True,
            )
        )
        start_returned = clock()
        assert unmixed.recording_state == "active"
        assert mixed.recording_state == "inactive"  # pauseOnStart
        state = await callbacks.event("RecordingStateChanged")
        assert state["recordingId"] == unmixed.recording_id and state["state"] == "active"

        await sync(lambda: client.resume_recording(mixed.recording_id))
        properties = await sync(lambda: client.get_recording_properties(mixed.recording_id))
        assert properties.recording_state == "active"
        await asyncio.sleep(2.0)  # two seconds of tones recorded
        pause_called = clock()
        await sync(lambda: client.pause_recording(unmixed.recording_id))
        pause_returned = clock()
        paused = await sync(lambda: client.get_recording_properties(unmixed.recording_id))
        assert paused.recording_state == "inactive"
        await asyncio.sleep(1.0)  # a second that the unmixed recording leaves out
        resume_called = clock()
        await sync(lambda: client.resume_recording(unmixed.recording_id))
        resume_returned = clock()
        await asyncio.sleep(1.0)
        stop_called = clock()
        await sync(lambda: client.stop_recording(unmixed.recording_id))
        stop_returned = clock()
        await sync(lambda: client.stop_recording(mixed.recording_id))

        await callbacks.wait_for_events(4)
        states = [
            e["data"]["state"]
            for c in callbacks.accepted
            for e in c.events
            if e["data"].get("recordingId") == unmixed.recording_id
        ]
        assert states == ["active", "inactive", "active", "inactive"]

        found = await file_event(events, unmixed.recording_id)
        assert found["recordingContentType"] == "Audio"
        assert found["recordingChannelType"] == "Unmixed"
        assert found["recordingFormatType"] == "Wav"
        [chunk] = found["recordingStorageInfo"]["recordingChunks"]
        assert chunk["endReason"] == "SessionEnded"
        assert chunk["contentLocation"].startswith("https://recordings.switchboard.asm.skype.com")
        # The paused second is left out: the recording lasts what ran between the requests,
        # less the pause, within the bounds the client saw (and a frame of rounding).
        longest = (stop_returned - start_called) - (resume_called - pause_returned)
        shortest = (stop_called - start_returned) - (resume_returned - pause_called)
        assert shortest - 0.1 <= found["recordingDurationMs"] / 1000 <= longest + 0.1

        data = await sync(lambda: downloaded(client, chunk["contentLocation"]))
        channels, rate = wav_channels(data)
        assert rate == 16000 and channels.shape[1] == 3
        # channelAffinity put the first user on channel 2; the others got 0 and 1
        assert abs(peak(channels[:, 2], rate) - TONES[0]) < TONES[0] * 0.03
        others = sorted(peak(channels[:, c], rate) for c in (0, 1))
        assert all(abs(f - t) < t * 0.03 for f, t in zip(others, TONES[1:], strict=True))

        part = await sync(
            lambda: downloaded(client, chunk["contentLocation"], offset=10, length=100)
        )
        assert part == data[10:110]
        metadata = await sync(lambda: downloaded(client, chunk["metadataLocation"]))
        assert first.raw_id.encode() in metadata

        mixed_event = await file_event(events, mixed.recording_id)
        [mixed_chunk] = mixed_event["recordingStorageInfo"]["recordingChunks"]
        mixed_data = await sync(lambda: downloaded(client, mixed_chunk["contentLocation"]))
        mono, rate = wav_channels(mixed_data)
        assert mono.shape[1] == 1
        assert all(strong(mono[:, 0], rate, tone) for tone in TONES)

        await sync(lambda: client.delete_recording(chunk["deleteLocation"]))
        with pytest.raises(ResourceNotFoundError):
            await sync(lambda: downloaded(client, chunk["contentLocation"]))

        # The same location as a plain signed GET on the endpoint's own host name.
        plain = mixed_chunk["contentLocation"].split("/v1/", 1)[1]
        response = await signed_request(server, "GET", f"/v1/{plain}")
        assert response.status_code == 200 and response.content == mixed_data


async def test_the_async_sdk_records_mp3_and_downloads_it(
    server: RunningServer, users: GroupUsers, events: EventReceiver
) -> None:
    async with asyncio.timeout(60):
        group_id = await group_call(users, TONES[:2])
        client = AsyncCallAutomationClient.from_connection_string(
            server.connection_string, transport=pinned_async_transport(server.ca_path)
        )
        async with client:
            started = await client.start_recording(
                group_call_id=group_id,
                recording_content_type="audio",
                recording_channel_type="mixed",
                recording_format_type="mp3",
            )
            recording_id = str(started.recording_id)
            await asyncio.sleep(1.5)
            await client.stop_recording(recording_id)
            found = await file_event(events, recording_id)
            assert found["recordingFormatType"] == "Mp3"
            [chunk] = found["recordingStorageInfo"]["recordingChunks"]
            # 1.6.0 returns the transport's response, not the byte iterator it documents
            # (its own "issue #42835"): read it whole.
            response: Any = await client.download_recording(chunk["contentLocation"])
            data = await response.read()
            with av.open(io.BytesIO(data), "r") as container:
                pcm = np.concatenate(
                    [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
                )
            assert len(pcm) > 16000  # more than a second decoded
            assert all(strong(pcm, 16000, tone) for tone in TONES[:2])
            with pytest.raises(HttpResponseError) as gone:
                await client.pause_recording(recording_id)
            assert gone.value.status_code == 400


async def test_recording_a_call_that_is_not_running_is_a_4xx(server: RunningServer) -> None:
    client = CallAutomationClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    with pytest.raises(HttpResponseError) as ended:
        await sync(
            lambda: client.start_recording(
                group_call_id=str(uuid.uuid4()), recording_content_type="audio"
            )
        )
    assert ended.value.status_code == 404
    with pytest.raises(HttpResponseError) as unmixed_mp3:
        await sync(
            lambda: client.start_recording(
                group_call_id=str(uuid.uuid4()),
                recording_content_type="audio",
                recording_channel_type="unmixed",
                recording_format_type="mp3",
            )
        )
    assert unmixed_mp3.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        await sync(lambda: client.get_recording_properties("0123abcd"))


async def test_an_audio_video_mp4_of_a_video_call_decodes_with_frames(
    server: RunningServer, users: GroupUsers, events: EventReceiver
) -> None:
    client = CallAutomationClient.from_connection_string(
        server.connection_string, transport=pinned_sync_transport(server.ca_path)
    )
    async with asyncio.timeout(60):
        group_id = await group_call(users, TONES[:2], video=True)
        started = await sync(lambda: client.start_recording(group_call_id=group_id))
        recording_id = str(started.recording_id)
        await asyncio.sleep(3.0)
        await sync(lambda: client.stop_recording(recording_id))
        found = await file_event(events, recording_id)
        assert (found["recordingContentType"], found["recordingFormatType"]) == (
            "AudioVideo",
            "Mp4",
        )
        [chunk] = found["recordingStorageInfo"]["recordingChunks"]
        data = await sync(lambda: downloaded(client, chunk["contentLocation"]))
        with av.open(io.BytesIO(data), "r") as container:
            pictures = list(container.decode(video=0))
        with av.open(io.BytesIO(data), "r") as container:
            sound = np.concatenate(
                [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
            )
        assert len(pictures) >= 10
        assert pictures[0].width > 0 and pictures[0].height > 0
        assert len(sound) > 16000


async def test_the_npm_sdk_starts_pauses_resumes_stops_and_downloads(
    server: RunningServer, users: GroupUsers, events: EventReceiver
) -> None:
    async with asyncio.timeout(90):
        group_id = await group_call(users, TONES[:2])
        js = NodeClients(server)
        result = await asyncio.to_thread(js.run, "recording.mjs", {"groupCallId": group_id})
        assert result["states"] == ["active", "active", "inactive", "inactive"]
        found = await file_event(events, result["recordingId"])
        [chunk] = found["recordingStorageInfo"]["recordingChunks"]
        fetched = await asyncio.to_thread(
            js.run, "recording.mjs", {"contentLocation": chunk["contentLocation"]}
        )
        assert fetched["length"] > 16000  # about a second of 16-bit PCM, and its header
        assert fetched["partHex"] == fetched["headHex"]


async def test_a_call_connection_is_recorded_by_its_id_and_its_ended_call_is_refused(
    server: RunningServer, users: GroupUsers, events: EventReceiver, callbacks: CallbackReceiver
) -> None:
    client = CallAutomationClient.from_connection_string(
        server.connection_string, transport=pinned_sync_transport(server.ca_path)
    )
    async with asyncio.timeout(60):
        alice = await users.agent(TONES[1])
        alice_user = CommunicationUserIdentifier(str(alice.user_id))
        created = await sync(lambda: client.create_call(alice_user, callbacks.url("/calls")))
        incoming = await alice.next_incoming_call()
        await incoming.accept()
        await callbacks.event("CallConnected")
        connection_id = str(created.call_connection_id)
        started = await sync(
            lambda: client.start_recording(
                call_connection_id=connection_id,
                recording_content_type="audio",
                recording_format_type="wav",
                recording_state_callback_url=callbacks.url("/recording"),
            )
        )
        recording_id = str(started.recording_id)
        state = await callbacks.event("RecordingStateChanged")
        assert state["callConnectionId"] == connection_id
        assert state["serverCallId"].startswith("server:")
        await asyncio.sleep(1.5)
        # Hanging up for everyone ends the call, and so the recording (sessionEndReason).
        await sync(lambda: client.get_call_connection(connection_id).hang_up(True))
        found = await file_event(events, recording_id)
        assert found["sessionEndReason"] == "CallEnded"
        [chunk] = found["recordingStorageInfo"]["recordingChunks"]
        channels, rate = wav_channels(
            await sync(lambda: downloaded(client, chunk["contentLocation"]))
        )
        assert strong(channels[:, 0], rate, TONES[1])
        with pytest.raises(HttpResponseError) as ended:
            await sync(
                lambda: client.start_recording(
                    call_connection_id=connection_id, recording_content_type="audio"
                )
            )
        assert ended.value.status_code is not None and 400 <= ended.value.status_code < 500


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"callLocator": {"kind": "groupCallLocator"}},
        {"callLocator": {"groupCallId": "g"}, "callConnectionId": "c"},
        {"callLocator": {"groupCallId": "g"}, "recordingFormatType": "ogg"},
        {"callLocator": {"groupCallId": "g"}, "recordingContentType": 7},
        {
            "callLocator": {"groupCallId": "g"},
            "recordingContentType": "audio",
            "recordingChannelType": "unmixed",
            "channelAffinity": [{"participant": {"rawId": "8:acs:x"}, "channel": 9}],
        },
        {"callLocator": {"groupCallId": "g"}, "channelAffinity": [{"channel": 1}]},
        {
            "callLocator": {"groupCallId": "g"},
            "externalStorage": {"recordingStorageKind": "azureBlobStorage"},
        },
        [],
    ],
)
async def test_bad_start_requests_are_acs_shaped_400s(server: RunningServer, body: Any) -> None:
    response = await signed_request(
        server, "POST", "/calling/recordings?api-version=2025-06-15", body
    )
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) >= {"code", "message"}


async def test_unknown_documents_and_bad_ranges_are_acs_shaped_4xx(server: RunningServer) -> None:
    for target in ("/v1/objects/0abc_0/content/media", "/v1/objects/nothing/content/media"):
        response = await signed_request(server, "GET", target)
        assert response.status_code == 404, response.text
        assert "code" in response.json()["error"]
    response = await signed_request(server, "GET", "/v1/objects/0abc_0/content/video")
    assert response.status_code in (400, 404)
