"""The recording's sans-I/O parts: options ACS accepts, the timeline (mixed, unmixed with
channel affinity), and the recorder laying out frames by the clock (a fake one) and cutting
chunks that are whole files in a blob store."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from switchboard.media.opus import OpusEncoder
from switchboard.media.recording_leg import OPUS_PT, RtpPayload
from switchboard.media.streams import MediaKind
from switchboard.recording.models import (
    ChannelAffinity,
    ChunkEndReason,
    Manifest,
    RecordingChannel,
    RecordingContent,
    RecordingFormat,
    RecordingOptions,
    RecordingOptionsError,
    RecordingPhase,
    SessionEndReason,
)
from switchboard.recording.recorder import Recorder
from switchboard.recording.timeline import AudioTimeline
from switchboard.storage.blobs import FileBlobStore

pytestmark = pytest.mark.anyio
AUDIO = RecordingContent.AUDIO


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def tone_packets(frequency: float, count: int) -> list[bytes]:
    encoder = OpusEncoder()
    t = np.arange(960 * count) / 48_000
    pcm = (np.sin(2 * np.pi * frequency * t) * 8000).astype("<i2")
    return [encoder.encode(pcm[i * 960 : (i + 1) * 960].tobytes()) for i in range(count)]


def peak(samples: np.ndarray[Any, Any], rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize(
    ("content", "channel", "format_"),
    [
        (RecordingContent.AUDIO_VIDEO, RecordingChannel.UNMIXED, RecordingFormat.MP4),
        (RecordingContent.AUDIO_VIDEO, RecordingChannel.MIXED, RecordingFormat.WAV),
        (AUDIO, RecordingChannel.MIXED, RecordingFormat.MP4),
        (AUDIO, RecordingChannel.UNMIXED, RecordingFormat.MP3),
    ],
)
def test_combinations_acs_refuses_are_refused(
    content: RecordingContent, channel: RecordingChannel, format_: RecordingFormat
) -> None:
    with pytest.raises(RecordingOptionsError):
        RecordingOptions(content, channel, format_).check()


def test_channel_affinity_must_be_distinct_channels_0_to_4() -> None:
    twice = (ChannelAffinity("8:acs:a", 1), ChannelAffinity("8:acs:b", 1))
    with pytest.raises(RecordingOptionsError):
        RecordingOptions(
            AUDIO, RecordingChannel.UNMIXED, RecordingFormat.WAV, affinity=twice
        ).check()
    with pytest.raises(RecordingOptionsError):
        RecordingOptions(
            AUDIO,
            RecordingChannel.UNMIXED,
            RecordingFormat.WAV,
            affinity=(ChannelAffinity("8:acs:a", 5),),
        ).check()


def test_mixed_timeline_sums_every_publisher_into_one_channel() -> None:
    options = RecordingOptions(AUDIO, RecordingChannel.MIXED, RecordingFormat.WAV)
    timeline = AudioTimeline(options, lambda p: f"8:acs:{p}", chunk_frames=50)
    low, high = tone_packets(500, 50), tone_packets(1500, 50)
    chunk = None
    for a, b in zip(low, high, strict=True):
        timeline.opus("p1", a)
        timeline.opus("p2", b)
        filled = timeline.tick(True)
        if filled is not None:
            chunk = filled
    assert chunk is not None and chunk.shape == (50 * 320, 1)
    spectrum = np.abs(np.fft.rfft(chunk[:, 0].astype(np.float64)))
    freqs = np.fft.rfftfreq(len(chunk), 1 / 16000)
    for tone in (500, 1500):
        assert spectrum[np.abs(freqs - tone) < 20].max() > 0.3 * spectrum.max()


def test_unmixed_timeline_honours_affinity_then_takes_the_lowest_free_channel() -> None:
    options = RecordingOptions(
        AUDIO,
        RecordingChannel.UNMIXED,
        RecordingFormat.WAV,
        affinity=(ChannelAffinity("8:acs:p1", 0),),
    )
    timeline = AudioTimeline(options, lambda p: f"8:acs:{p}", chunk_frames=50)
    first, second, third = tone_packets(400, 50), tone_packets(800, 50), tone_packets(1200, 50)
    chunk = None
    for a, b, c in zip(first, second, third, strict=True):
        timeline.opus("p2", b)  # p2 speaks first but p1 has channel 0 by affinity
        timeline.opus("p1", a)
        timeline.opus("p3", c)
        filled = timeline.tick(True)
        if filled is not None:
            chunk = filled
    assert chunk is not None and chunk.shape[1] == 3
    assert timeline.channel_by_raw_id == {"8:acs:p1": 0, "8:acs:p2": 1, "8:acs:p3": 2}
    for channel, tone in enumerate((400, 800, 1200)):
        assert abs(peak(chunk[:, channel]) - tone) < 20


def test_a_paused_timeline_drains_audio_into_nothing() -> None:
    options = RecordingOptions(AUDIO, RecordingChannel.MIXED, RecordingFormat.WAV)
    timeline = AudioTimeline(options, lambda p: p, chunk_frames=10)
    for packet in tone_packets(500, 5):
        timeline.opus("p1", packet)
        assert timeline.tick(False) is None
    assert timeline.pending_frames == 0


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_recorder_lays_out_frames_by_the_clock_and_stores_whole_chunks(
    tmp_path: Path,
) -> None:
    blobs = FileBlobStore(tmp_path)
    options = RecordingOptions(AUDIO, RecordingChannel.MIXED, RecordingFormat.WAV)
    manifest = Manifest(
        recording_id="abc123",
        call_id="group:x",
        server_call_id="group:x",
        call_connection_id=None,
        correlation_id="c",
        options=options,
        node_id="n",
        started=1_800_000_000.0,
        phase=RecordingPhase.RECORDING,
    )
    clock = FakeMonotonic()
    recorder = Recorder(
        manifest,
        blobs,
        lambda p: f"8:acs:{p}",
        chunk_seconds=1.0,
        wall_clock=lambda: 1_800_000_000.0,
        monotonic=clock,
    )
    for index, packet in enumerate(tone_packets(600, 75)):
        recorder.on_packet(
            RtpPayload("p1", MediaKind.AUDIO, OPUS_PT, packet, index * 960, index, False, 1)
        )
        if index % 3 == 2:  # a late loop: one tick for three frames' worth of time
            clock.now += 0.06
            recorder.tick()
    done = recorder.finish(SessionEndReason.STOPPED)
    assert done is not None
    await recorder.write_forever()
    assert [c.end_reason for c in manifest.chunks] == [
        ChunkEndReason.CHUNK_MAXIMUM_TIME_EXCEEDED,
        ChunkEndReason.SESSION_ENDED,
    ]
    assert manifest.recorded_ms == 1500  # 75 frames of 20 ms, though only 25 ticks ran
    assert manifest.phase is RecordingPhase.FINISHED
    first = await blobs.get(manifest.chunks[0].content_key)
    with wave.open(io.BytesIO(first)) as file:
        assert (file.getnchannels(), file.getframerate(), file.getnframes()) == (1, 16000, 16000)
        samples = np.frombuffer(file.readframes(16000), dtype="<i2")
    assert abs(peak(samples) - 600) < 10
