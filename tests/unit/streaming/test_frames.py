"""The streaming frames: what we write (ACS's shapes) and what we read from apps."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.automation.streaming import frames


def test_audio_metadata_names_the_format_and_the_frame_length() -> None:
    decoded = json.loads(frames.audio_metadata("sub-1", 24_000))
    assert decoded == {
        "kind": "AudioMetadata",
        "audioMetadata": {
            "subscriptionId": "sub-1",
            "encoding": "PCM",
            "sampleRate": 24000,
            "channels": 1,
            "length": 960,
        },
    }


def test_audio_data_carries_the_participant_only_when_unmixed() -> None:
    unmixed = json.loads(frames.audio_data(b"\x01\x00" * 320, 0.25, False, "4:+13125550123"))
    body = unmixed["audioData"]
    assert unmixed["kind"] == "AudioData"
    assert body["participantRawID"] == "4:+13125550123"
    assert body["timestamp"] == "1970-01-01T00:00:00.250Z"
    assert body["silent"] is False
    assert base64.b64decode(body["data"]) == b"\x01\x00" * 320
    mixed = json.loads(frames.audio_data(bytes(640), 0.0, True, None))
    assert "participantRawID" not in mixed["audioData"]
    assert mixed["audioData"]["silent"] is True


def test_transcription_data_counts_offsets_and_durations_in_ticks() -> None:
    words = [frames.Word("two", 500, 300), frames.Word("three", 800, 400)]
    decoded = json.loads(frames.transcription_data("two three", words, 0.8, "4:+1312", final=True))[
        "transcriptionData"
    ]
    assert decoded["offset"] == 500 * 10_000
    assert decoded["duration"] == 700 * 10_000
    assert decoded["words"] == [
        {"text": "two", "offset": 5_000_000, "duration": 3_000_000},
        {"text": "three", "offset": 8_000_000, "duration": 4_000_000},
    ]
    assert (decoded["resultStatus"], decoded["format"]) == ("Final", "display")
    partial = frames.transcription_data("two", words[:1], 0.5, "4:+1312", final=False)
    assert json.loads(partial)["transcriptionData"]["resultStatus"] == "Intermediate"


@pytest.mark.parametrize(
    "message",
    [
        # @azure/communication-call-automation createOutboundAudioData
        '{"kind":"audioData","audioData":{"data":"AQACAA==","isSilent":false},"stopAudio":{}}',
        # the .NET / Java SDKs
        '{"Kind":"AudioData","AudioData":{"Data":"AQACAA=="},"StopAudio":null}',
    ],
)
def test_the_apps_audio_is_read_in_either_spelling(message: str) -> None:
    assert frames.parse_app_frame(message) == frames.OutboundAudio(b"\x01\x00\x02\x00")


def test_stop_audio_in_either_spelling() -> None:
    npm = '{"kind":"stopAudio","stopAudio":{}}'
    dotnet = '{"Kind":"StopAudio","AudioData":null,"StopAudio":{}}'
    assert frames.parse_app_frame(npm) == frames.parse_app_frame(dotnet) == frames.StopAudio()


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[]",
        '{"kind":"DtmfData"}',
        '{"kind":"AudioData"}',
        '{"kind":"AudioData","audioData":{"data":12}}',
        '{"kind":"AudioData","audioData":{"data":"%%%"}}',
    ],
)
def test_anything_else_is_a_frame_error(message: str) -> None:
    with pytest.raises(frames.FrameError):
        frames.parse_app_frame(message)


def test_an_odd_trailing_byte_is_dropped() -> None:
    message = json.dumps({"kind": "AudioData", "audioData": {"data": "AQAC"}})
    assert frames.parse_app_frame(message) == frames.OutboundAudio(b"\x01\x00")


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_input_raises_only_frame_error(message: bytes | str) -> None:
    with contextlib.suppress(frames.FrameError):
        frames.parse_app_frame(message)
