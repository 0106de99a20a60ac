"""Media streaming and transcription with the official SDKs against an in-process node over
TLS: a virtual phone (the simulator carrier) talks, the app's WebSocket server (a real one on
127.0.0.1) gets ACS's frames, read with the npm SDK's ``StreamingData.parse`` (the Python SDK
1.6.0 has no streaming parser); audio the app sends back is heard by the phone; an
unreachable transportUrl fails the stream, not the call; pocketsphinx transcribes espeak-ng
speech; start and stop from the Python SDK (sync and async) and the npm SDK."""

from __future__ import annotations

import asyncio
import base64
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.communication.callautomation import (
    AudioFormat,
    MediaStreamingAudioChannelType,
    MediaStreamingContentType,
    MediaStreamingOptions,
    PhoneNumberIdentifier,
    StreamingTransportType,
    TextSource,
    TranscriptionOptions,
)
from azure.communication.callautomation.aio import (
    CallAutomationClient as AsyncCallAutomationClient,
)
from azure.core.exceptions import HttpResponseError

from tests.callback_receiver import CallbackReceiver
from tests.event_receiver import EventReceiver
from tests.integration.calling_clients import closed_port, loopback_candidates
from tests.integration.inprocess_node import InProcessNode
from tests.integration.js_sdk import NodeClients
from tests.integration.test_voice_simulator import (
    client_of,
    events,
    incoming_call_from,
    node,
    our_number,
    receiver,
    sync,
)
from tests.integration.voice_phones import loud_frames, new_phone, phone, until_phone
from tests.stream_receiver import StreamConnection, StreamReceiver

pytestmark = pytest.mark.anyio
__all__ = ["events", "loopback_candidates", "node", "our_number", "receiver"]

MAX_PARSED = 40  # frames handed to the npm parser at once (they travel in an env variable)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def streams() -> AsyncIterator[StreamReceiver]:
    started = await StreamReceiver().start()
    yield started
    await started.stop()


def streaming(
    url: str,
    *,
    start: bool,
    unmixed: bool = False,
    rate24: bool = False,
    bidirectional: bool = False,
) -> MediaStreamingOptions:
    return MediaStreamingOptions(
        transport_url=url,
        transport_type=StreamingTransportType.WEBSOCKET,
        content_type=MediaStreamingContentType.AUDIO,
        audio_channel_type=MediaStreamingAudioChannelType.UNMIXED
        if unmixed
        else MediaStreamingAudioChannelType.MIXED,
        start_media_streaming=start,
        enable_bidirectional=bidirectional,
        audio_format=AudioFormat.PCM24_K_MONO if rate24 else AudioFormat.PCM16_K_MONO,
    )


async def phone_call(
    node: InProcessNode, number: str, receiver: CallbackReceiver, path: str, **options: Any
) -> tuple[str, str]:
    """A createCall to a new virtual phone that answers; (call connection id, phone number)."""
    caller = new_phone()
    await phone(node, caller, "put", {"answer": "auto"})
    created = await sync(
        lambda: client_of(node).create_call(
            PhoneNumberIdentifier(caller),
            receiver.url(path),
            source_caller_id_number=PhoneNumberIdentifier(number),
            **options,
        )
    )
    await receiver.event("CallConnected")
    await until_phone(node, caller, lambda s: s["state"] == "connected")
    return str(created.call_connection_id), caller


async def parse(node: InProcessNode, messages: list[str]) -> list[dict[str, Any]]:
    """The messages as the npm SDK's StreamingData.parse reads them."""
    js = NodeClients(node)
    parsed: list[dict[str, Any]] = await sync(
        lambda: js.run("streaming.mjs", {"step": "parse", "messages": messages})
    )
    return parsed


def loud_audio(connection: StreamConnection) -> list[int]:
    """Indexes of AudioData frames not flagged silent."""
    return [
        i
        for i, frame in enumerate(connection.frames())
        if frame["kind"] == "AudioData" and not frame["audioData"]["silent"]
    ]


def outbound(node: InProcessNode) -> tuple[str, str]:
    """The app's AudioData (with ``DATA`` where the base64 goes) and StopAudio messages, as
    the npm SDK's createOutboundAudioData / createOutboundStopAudioData write them."""
    built = NodeClients(node).run("streaming.mjs", {"step": "outbound", "data": "DATA"})
    return str(built["audio"]), str(built["stop"])


def tone_pcm(rate: int, seconds: float, hz: float = 440.0) -> bytes:
    count = int(rate * seconds)
    return struct.pack(
        f"<{count}h", *(int(12000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(count))
    )


async def test_a_phone_speaking_reaches_the_app_as_mixed_frames_the_sdk_parses(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    streams: StreamReceiver,
) -> None:
    async with asyncio.timeout(90):
        call_id, caller = await phone_call(
            node,
            our_number,
            receiver,
            "/mixed",
            media_streaming=streaming(streams.url("/mixed"), start=True),
        )
        started = await receiver.event("MediaStreamingStarted")
        assert started["mediaStreamingUpdate"]["mediaStreamingStatus"] == "mediaStreamingStarted"
        assert started["resultInformation"]["code"] == 200
        socket = await streams.connection("/mixed")
        await streams.wait_until(lambda: len(socket.messages) >= 5)
        assert not loud_audio(socket)  # nobody has spoken yet

        await phone(node, caller, "say", {"text": "hello world, this is the phone speaking"})
        await streams.wait_until(lambda: len(loud_audio(socket)) >= 10)

        loud = loud_audio(socket)
        chosen = [
            socket.messages[0],
            *socket.messages[1:4],
            *(socket.messages[i] for i in loud[:8]),
        ]
        parsed = await parse(node, chosen[:MAX_PARSED])
        metadata, *audio = parsed
        assert metadata["kind"] == "AudioMetadata"
        assert (metadata["sampleRate"], metadata["channels"], metadata["encoding"]) == (
            16000,
            1,
            "PCM",
        )
        assert all(frame["kind"] == "AudioData" for frame in audio)
        assert all(len(base64.b64decode(frame["data"])) == 640 for frame in audio)  # 20 ms
        assert [frame["isSilent"] for frame in audio[3:]] == [False] * 8
        assert all("participant" not in frame or frame["participant"] is None for frame in audio)
        assert all(frame["timestamp"].endswith("Z") for frame in audio)

        connection = client_of(node).get_call_connection(call_id)
        await sync(lambda: connection.stop_media_streaming(operation_context="enough"))
        stopped = await receiver.event("MediaStreamingStopped")
        assert stopped["operationContext"] == "enough"
        await asyncio.wait_for(socket.closed.wait(), 20)
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")


async def test_unmixed_audio_on_demand_and_the_apps_audio_is_heard_by_the_phone(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    streams: StreamReceiver,
) -> None:
    options = streaming(
        streams.url("/both"), start=False, unmixed=True, rate24=True, bidirectional=True
    )
    async with asyncio.timeout(90):
        call_id, caller = await phone_call(
            node, our_number, receiver, "/both", media_streaming=options
        )
        async with AsyncCallAutomationClient.from_connection_string(
            node.connection_string, connection_verify=node.ca_path
        ) as client:
            connection = client.get_call_connection(call_id)
            await connection.start_media_streaming(operation_context="listen")
            started = await receiver.event("MediaStreamingStarted")
            assert started["operationContext"] == "listen"
            socket = await streams.connection("/both")

            await phone(node, caller, "say", {"text": "one two three"})
            await streams.wait_until(lambda: len(loud_audio(socket)) >= 5)
            loud = loud_audio(socket)
            metadata, frame = await parse(node, [socket.messages[0], socket.messages[loud[0]]])
            assert metadata["sampleRate"] == 24000
            assert frame["participant"] == {
                "kind": "phoneNumber",
                "phoneNumber": caller,
                "isAnonymous": False,
            }
            assert len(base64.b64decode(frame["data"])) == 960  # 20 ms at 24 kHz

            until_quiet = await until_phone(node, caller, lambda s: not s["heard"]["speaking"])
            before = loud_frames(until_quiet)
            audio, stop = await sync(lambda: outbound(node))
            await socket.send(
                audio.replace("DATA", base64.b64encode(tone_pcm(24000, 1.0)).decode())
            )
            heard = await until_phone(node, caller, lambda s: loud_frames(s) >= before + 25)
            assert heard["heard"]["speaking"] or loud_frames(heard) >= before + 25

            # StopAudio drops what is queued: of 10 s sent, the phone hears far less
            await until_phone(node, caller, lambda s: not s["heard"]["speaking"])
            before = loud_frames(await phone(node, caller))
            long_tone = base64.b64encode(tone_pcm(24000, 10.0)).decode()
            await socket.send(audio.replace("DATA", long_tone))
            await until_phone(node, caller, lambda s: loud_frames(s) >= before + 10)
            await socket.send(stop)
            ended = await until_phone(node, caller, lambda s: not s["heard"]["speaking"])
            assert loud_frames(ended) - before < 250  # 10 s would be 500 frames

            await connection.stop_media_streaming()
            await receiver.event("MediaStreamingStopped")
            await connection.hang_up(is_for_everyone=True)
        await receiver.event("CallDisconnected")


async def test_an_answered_call_streams_from_the_start(
    node: InProcessNode,
    events: EventReceiver,
    our_number: str,
    receiver: CallbackReceiver,
    streams: StreamReceiver,
) -> None:
    caller = new_phone()
    async with asyncio.timeout(90):
        await phone(node, caller, "dial", {"to": our_number})
        incoming = await incoming_call_from(events, caller)
        answered = await sync(
            lambda: client_of(node).answer_call(
                incoming["incomingCallContext"],
                receiver.url("/answered"),
                media_streaming=streaming(streams.url("/answered"), start=True, unmixed=True),
            )
        )
        await receiver.event("MediaStreamingStarted")
        socket = await streams.connection("/answered")
        await phone(node, caller, "say", {"text": "hello"})
        await streams.wait_until(lambda: len(loud_audio(socket)) >= 3)
        first_loud = socket.frames()[loud_audio(socket)[0]]
        assert first_loud["audioData"]["participantRawID"] == f"4:{caller}"
        connection = client_of(node).get_call_connection(str(answered.call_connection_id))
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        await asyncio.wait_for(socket.closed.wait(), 20)  # the call's end closes its stream


async def test_an_unreachable_transport_url_fails_the_stream_and_the_call_goes_on(
    node: InProcessNode, our_number: str, receiver: CallbackReceiver
) -> None:
    nowhere = f"ws://127.0.0.1:{closed_port()}/gone"
    async with asyncio.timeout(90):
        call_id, caller = await phone_call(
            node, our_number, receiver, "/gone", media_streaming=streaming(nowhere, start=True)
        )
        failed = await receiver.event("MediaStreamingFailed")
        update = failed["mediaStreamingUpdate"]
        assert update["mediaStreamingStatus"] == "mediaStreamingFailed"
        assert update["mediaStreamingStatusDetails"] == "initialWebSocketConnectionFailed"
        assert failed["resultInformation"]["code"] >= 400

        connection = client_of(node).get_call_connection(call_id)
        await sync(lambda: connection.play_media(TextSource(text="Still here.")))
        await receiver.event("PlayCompleted")
        assert loud_frames(await phone(node, caller)) > 0
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")


async def test_transcription_of_the_phones_speech_and_its_start_update_stop(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    streams: StreamReceiver,
) -> None:
    options = TranscriptionOptions(
        transport_url=streams.url("/text"),
        transport_type=StreamingTransportType.WEBSOCKET,
        locale="en-US",
        start_transcription=True,
    )
    async with asyncio.timeout(120):
        call_id, caller = await phone_call(
            node, our_number, receiver, "/text", transcription=options
        )
        started = await receiver.event("TranscriptionStarted")
        assert started["transcriptionUpdate"]["transcriptionStatus"] == "transcriptionStarted"
        socket = await streams.connection("/text")
        await phone(node, caller, "say", {"text": "two three four"})
        await streams.wait_until(lambda: "TranscriptionData" in socket.kinds(), within=60)

        metadata, data = await parse(node, socket.messages[:2])
        assert metadata["kind"] == "TranscriptionMetadata"
        assert metadata["callConnectionId"] == call_id
        assert metadata["locale"] == "en-US"
        assert data["kind"] == "TranscriptionData"
        assert data["resultState"] == "Final"
        assert data["participant"]["phoneNumber"] == caller
        heard = data["text"].lower().split()
        # pocketsphinx's small model after Opus gets most, not always all, of espeak's words
        assert len({"two", "three", "four"} & set(heard)) >= 2, heard
        assert [word["text"] for word in data["words"]] == data["text"].split()
        assert data["words"] and data["words"][0]["durationInTicks"] > 0
        offsets = [word["offsetInTicks"] for word in data["words"]]
        assert offsets == sorted(offsets) and offsets[0] >= data["offsetInTicks"] >= 0
        assert 0 <= data["confidence"] <= 1

        connection = client_of(node).get_call_connection(call_id)
        await sync(lambda: connection.update_transcription(locale="en-GB", operation_context="uk"))
        updated = await receiver.event("TranscriptionUpdated")
        assert updated["operationContext"] == "uk"
        await sync(lambda: connection.stop_transcription(operation_context="done"))
        stopped = await receiver.event("TranscriptionStopped")
        assert stopped["operationContext"] == "done"
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")


async def test_the_npm_sdk_starts_and_stops_streaming_and_transcription(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    streams: StreamReceiver,
) -> None:
    text = TranscriptionOptions(
        transport_url=streams.url("/js-text"),
        transport_type=StreamingTransportType.WEBSOCKET,
        locale="en-US",
        start_transcription=False,
    )
    async with asyncio.timeout(90):
        call_id, _ = await phone_call(
            node,
            our_number,
            receiver,
            "/js",
            media_streaming=streaming(streams.url("/js-audio"), start=False),
            transcription=text,
        )
        js = NodeClients(node)
        await sync(lambda: js.run("streaming.mjs", {"step": "start", "callConnectionId": call_id}))
        started = {
            (await receiver.event("MediaStreamingStarted"))["operationContext"],
            (await receiver.event("TranscriptionStarted"))["operationContext"],
        }
        assert started == {"js-stream", "js-text"}
        await streams.connection("/js-audio")
        await streams.connection("/js-text")
        await sync(lambda: js.run("streaming.mjs", {"step": "stop", "callConnectionId": call_id}))
        assert (await receiver.event("TranscriptionUpdated"))["operationContext"] == "js-update"
        assert (await receiver.event("TranscriptionStopped"))["operationContext"] == "js-text-stop"
        stopped = await receiver.event("MediaStreamingStopped")
        assert stopped["operationContext"] == "js-stream-stop"
        await sync(lambda: client_of(node).get_call_connection(call_id).hang_up(True))
        await receiver.event("CallDisconnected")


async def test_bad_streaming_requests_are_4xx(
    node: InProcessNode, our_number: str, receiver: CallbackReceiver
) -> None:
    async with asyncio.timeout(60):
        call_id, _ = await phone_call(node, our_number, receiver, "/bad")
        connection = client_of(node).get_call_connection(call_id)
        with pytest.raises(HttpResponseError) as not_configured:
            await sync(lambda: connection.start_media_streaming())
        assert not_configured.value.status_code == 400
        with pytest.raises(HttpResponseError) as no_transcription:
            await sync(lambda: connection.stop_transcription())
        assert no_transcription.value.status_code == 400
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")

        with pytest.raises(HttpResponseError) as plain_http:
            await sync(
                lambda: client_of(node).create_call(
                    PhoneNumberIdentifier(new_phone()),
                    receiver.url("/bad"),
                    source_caller_id_number=PhoneNumberIdentifier(our_number),
                    media_streaming=streaming("http://127.0.0.1:1/not-a-socket", start=True),
                )
            )
        assert plain_http.value.status_code == 400
