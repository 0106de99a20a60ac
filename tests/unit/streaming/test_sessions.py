"""MediaStreams: the five operations on fakes (media, callbacks, sockets, engine): what the
app hears back, what the endpoint is given, and what happens when the app is not there."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import numpy as np
import pytest

from switchboard.automation.control_ops import StreamingOp
from switchboard.automation.models import CallConnection, CallConnectionState
from switchboard.automation.streaming.models import (
    AudioChannel,
    MediaStreamingNotConfiguredError,
    StreamingAction,
    StreamingOptions,
    StreamStateError,
    TranscriptionOptions,
    UnsupportedLocaleError,
)
from switchboard.automation.streaming.sessions import MediaStreams, StreamingEngines
from switchboard.media.audio.frames import FRAME_BYTES, SILENT_FRAME
from switchboard.media.audio.transcriber import TranscribedWord, Transcript
from tests.unit.automation_fakes import FakeMedia
from tests.unit.streaming.fakes import FakeConnector, WaitableCallbacks

pytestmark = pytest.mark.anyio
AUDIO_URL, TEXT_URL = "wss://app.example/audio", "wss://app.example/text"
LOUD = (8000 * np.sin(2 * np.pi * 500 * np.arange(960) / 48_000)).astype("<i2").tobytes()


class AllowAll:
    async def check_callback_uri(self, url: str) -> None:
        return None


class Transcriber:
    """Hears "hello world" in anything; counts what it was given."""

    def __init__(self) -> None:
        self.heard_ms: list[int] = []

    @property
    def locales(self) -> frozenset[str]:
        return frozenset({"en"})

    async def transcribe(
        self, pcm: bytes, sample_rate: int = 48_000, locale: str = "en-us"
    ) -> Transcript | None:
        self.heard_ms.append(len(pcm) // 2 * 1000 // sample_rate)
        words = (TranscribedWord("hello", 200, 300), TranscribedWord("world", 500, 300))
        return Transcript("hello world", 0.9, words)


class Parts:
    def __init__(self) -> None:
        self.callbacks = WaitableCallbacks()
        self.connector = FakeConnector()
        self.transcriber = Transcriber()
        self.media = FakeMedia()
        self.streams = MediaStreams(
            self.callbacks,
            AllowAll(),
            StreamingEngines(self.connector, self.transcriber),
            new_id=lambda: "sub-1",
        )
        self.call = CallConnection(
            "call-1", "server:1", "corr-1", "https://app.example/cb", CallConnectionState.CONNECTED
        )

    async def callback(self, kind: str) -> None:
        await self.callbacks.until(kind)


@pytest.fixture
async def parts() -> AsyncIterator[Parts]:
    made = Parts()
    await made.streams.start()
    yield made
    await made.streams.stop()


def streaming(**changes: object) -> StreamingOptions:
    options = {"channel": AudioChannel.MIXED, "sample_rate": 16_000, **changes}
    return StreamingOptions(AUDIO_URL, **options)  # type: ignore[arg-type]  # test options


async def test_start_streams_the_calls_audio_and_stop_says_stopped(parts: Parts) -> None:
    parts.streams.attach(parts.call, parts.media, streaming(), None)
    assert parts.media.stream is None  # nothing decoded for nobody
    await parts.streams.start_media_streaming(parts.call, "go", None)
    await parts.callback("MediaStreamingStarted")
    sink = parts.media.stream
    assert sink is not None
    sink.heard("4:+1312", LOUD)
    assert sink.tick(False) is None  # not bidirectional: nothing to play
    connection = parts.connector.connections[AUDIO_URL]
    await connection.until(lambda sent: len(sent) >= 2)
    metadata, audio = (json.loads(m) for m in connection.sent[:2])
    assert metadata["audioMetadata"]["subscriptionId"] == "sub-1"
    assert audio["audioData"]["silent"] is False
    with pytest.raises(StreamStateError):
        await parts.streams.start_media_streaming(parts.call, None, None)

    await parts.streams.stop_media_streaming(parts.call, "halt", "https://app.example/op")
    await parts.callback("MediaStreamingStopped")
    assert parts.media.stream is None
    started, stopped = parts.callbacks.sent
    assert started[2].operation_context == "go"
    assert (stopped[1], stopped[2].operation_context) == ("https://app.example/op", "halt")
    assert stopped[2].data["mediaStreamingUpdate"]["mediaStreamingStatus"] == (
        "mediaStreamingStopped"
    )


async def test_an_unreachable_app_fails_the_stream_and_frees_the_endpoint(parts: Parts) -> None:
    parts.connector.refused.add(AUDIO_URL)
    parts.streams.attach(parts.call, parts.media, streaming(start=True), None)
    parts.streams.connected(parts.call)  # startMediaStreaming: true
    await parts.callback("MediaStreamingFailed")
    [(_, _, failed)] = parts.callbacks.sent
    assert failed.result is not None and failed.result.code >= 400
    assert failed.data["mediaStreamingUpdate"] == {
        "contentType": "Audio",
        "mediaStreamingStatus": "mediaStreamingFailed",
        "mediaStreamingStatusDetails": "initialWebSocketConnectionFailed",
    }
    assert parts.media.stream is None
    with pytest.raises(StreamStateError):  # nothing runs to stop
        await parts.streams.stop_media_streaming(parts.call, None, None)


async def test_the_apps_audio_plays_when_no_play_has_the_voice(parts: Parts) -> None:
    parts.streams.attach(parts.call, parts.media, streaming(bidirectional=True), None)
    await parts.streams.start_media_streaming(parts.call, None, None)
    await parts.callback("MediaStreamingStarted")
    connection = parts.connector.connections[AUDIO_URL]
    pcm16 = base64.b64encode(bytes(range(256)) * 5).decode()  # 40 ms at 16 kHz
    connection.incoming.put_nowait(json.dumps({"kind": "audioData", "audioData": {"data": pcm16}}))
    await connection.incoming.join()  # the socket's reader has taken it in
    sink = parts.media.stream
    assert sink is not None
    frame = sink.tick(False)
    assert frame is not None and len(frame) == FRAME_BYTES
    assert sink.tick(True) is None  # a play has the voice: the app's audio waits
    assert sink.tick(False) is not None  # 40 ms: a second frame
    connection.incoming.put_nowait(json.dumps({"kind": "audioData", "audioData": {"data": pcm16}}))
    connection.incoming.put_nowait('{"kind":"stopAudio","stopAudio":{}}')
    await connection.incoming.join()
    assert sink.tick(False) is None  # StopAudio dropped what was queued


async def test_operations_need_the_options_and_a_known_locale(parts: Parts) -> None:
    parts.streams.attach(parts.call, parts.media, None, None)
    with pytest.raises(MediaStreamingNotConfiguredError):
        await parts.streams.apply(
            parts.call, StreamingOp("call-1", StreamingAction.START_MEDIA_STREAMING)
        )
    with pytest.raises(UnsupportedLocaleError):
        await parts.streams.check_options(None, TranscriptionOptions(TEXT_URL, locale="fr-FR"))
    with pytest.raises(Exception, match="wss://"):
        await parts.streams.check_options(StreamingOptions("https://app.example/x"), None)


async def test_transcription_sends_words_when_a_speaker_falls_silent(parts: Parts) -> None:
    options = TranscriptionOptions(TEXT_URL, locale="en-US", start=True)
    parts.streams.attach(parts.call, parts.media, None, options)
    parts.streams.connected(parts.call)
    await parts.callback("TranscriptionStarted")
    sink = parts.media.stream
    assert sink is not None
    for _ in range(10):
        sink.tick(False)  # 200 ms of the call before anyone speaks
    for _ in range(25):
        sink.heard("4:+1312", LOUD)
        sink.tick(False)
    for _ in range(40):
        sink.tick(False)  # the phone sends nothing: silence, so the utterance ends
    connection = parts.connector.connections[TEXT_URL]
    await connection.until(lambda sent: len(sent) >= 2)
    metadata, data = (json.loads(m) for m in connection.sent[:2])
    assert metadata["transcriptionMetadata"]["callConnectionId"] == "call-1"
    body = data["transcriptionData"]
    assert (body["text"], body["resultStatus"], body["participantRawID"]) == (
        "hello world",
        "Final",
        "4:+1312",
    )
    # the utterance starts with the speech, 200 ms into the transcription (nothing was heard
    # before it to preroll); the engine put the words 200 and 500 ms into the utterance
    assert [w["offset"] for w in body["words"]] == [400 * 10_000, 700 * 10_000]

    await parts.streams.apply(
        parts.call, StreamingOp("call-1", StreamingAction.UPDATE_TRANSCRIPTION, locale="en-GB")
    )
    await parts.streams.apply(parts.call, StreamingOp("call-1", StreamingAction.STOP_TRANSCRIPTION))
    await parts.callback("TranscriptionStopped")
    assert parts.callbacks.types() == [
        "TranscriptionStarted",
        "TranscriptionUpdated",
        "TranscriptionStopped",
    ]
    assert parts.media.stream is None
    sink.heard("4:+1312", SILENT_FRAME)  # late audio after the stop goes nowhere


async def test_the_call_ending_closes_its_streams_without_more_callbacks(parts: Parts) -> None:
    parts.streams.attach(parts.call, parts.media, streaming(start=True), None)
    parts.streams.connected(parts.call)
    await parts.callback("MediaStreamingStarted")
    parts.streams.detach("call-1")
    connection = parts.connector.connections[AUDIO_URL]
    await connection.until(lambda _: connection.closed)
    assert parts.callbacks.types() == ["MediaStreamingStarted"]
    assert parts.media.stream is None


async def test_a_socket_the_app_closes_as_the_call_ends_brings_no_callback_after_it(
    parts: Parts,
) -> None:
    """An app closes its media socket as it hangs up: the failure the node notices then must
    not reach the app after CallDisconnected (the service detaches the streams first)."""
    parts.streams.attach(parts.call, parts.media, streaming(start=True), None)
    parts.streams.connected(parts.call)
    await parts.callback("MediaStreamingStarted")
    connection = parts.connector.connections[AUDIO_URL]
    connection.app_hangs_up()
    await connection.until(lambda _: connection.closed)  # noticed: a failure is on its way
    parts.streams.detach("call-1")  # the call ended before that was delivered
    await parts.streams.stop()  # (delivers whatever is queued)
    assert parts.callbacks.types() == ["MediaStreamingStarted"]
