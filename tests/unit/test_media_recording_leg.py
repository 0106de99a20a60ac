"""The recording leg on the forwarder, in process: it hears every publisher's audio as
undecoded payloads named by publisher, publishes nothing, and leaves with the call."""

from __future__ import annotations

import pytest

from switchboard.media.node import LocalMediaNode, MediaCallNotFoundError
from switchboard.media.opus import OpusDecoder
from switchboard.media.recording_leg import OPUS_PT, RtpPayload
from switchboard.media.streams import MediaKind
from tests.unit.test_media_local_leg import tone

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_it_hears_each_publisher_undecoded_and_publishes_nothing() -> None:
    node = LocalMediaNode()
    alice = await node.add_local_participant("group:g", "p1")
    bob = await node.add_local_participant("group:g", "p2")
    heard: list[RtpPayload] = []
    recorder = await node.add_recording_leg("group:g", "rec", heard.append, video=False)
    for frame in tone(440.0, 3):
        alice.send_audio(frame)
        bob.send_audio(frame)
    assert {(p.publisher_id, p.kind, p.payload_type) for p in heard} == {
        ("p1", MediaKind.AUDIO, OPUS_PT),
        ("p2", MediaKind.AUDIO, OPUS_PT),
    }
    assert len(OpusDecoder().decode(heard[0].payload)) == 1920  # a whole Opus frame
    forwarder = node.calls["group:g"].forwarder
    assert all(s.source_participant_id != "rec" for s in forwarder.streams("p1"))
    await node.end_call("group:g")
    assert recorder.closed


async def test_a_recorder_never_creates_the_call_it_records() -> None:
    node = LocalMediaNode()
    with pytest.raises(MediaCallNotFoundError):
        await node.add_recording_leg("group:none", "rec", lambda p: None, video=False)
    assert "group:none" not in node.calls
