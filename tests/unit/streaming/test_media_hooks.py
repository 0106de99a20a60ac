"""The media side of streaming: the leg's tap hears every publisher (even one a recognize
listens to on its own), and the endpoint's tick plays the stream's audio when no play is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard.media.endpoint.endpoint import MediaEndpoint
from switchboard.media.endpoint.hold_music import hold_music
from switchboard.media.endpoint.models import Play, TextSource
from switchboard.media.endpoint.renderer import SourceRenderer
from tests.unit.test_media_endpoint import (
    LOUD,
    FakeLeg,
    FakeRecognizer,
    Fetcher,
    FramesTts,
    settle,
)
from tests.unit.test_media_local_leg import Clock, call, frequency_of, publish_opus, tone

pytestmark = pytest.mark.anyio
STREAMED = b"\x01\x00" * 960


def test_the_tap_hears_every_publisher_alongside_a_listener() -> None:
    clock = Clock()
    forwarder, _, leg = call({"alice": {"opus": 109}, "bob": {"opus": 109}}, clock)
    alone: list[bytes] = []
    tapped: list[tuple[str, bytes]] = []
    leg.listen("alice", alone.append)  # a recognize on alice
    leg.tap(lambda who, pcm: tapped.append((who, pcm)))
    publish_opus(forwarder, "alice", 0xA0, tone(1000, 6), clock)
    publish_opus(forwarder, "bob", 0xB0, tone(700, 6), clock)
    assert len(alone) == 6
    assert [who for who, _ in tapped] == ["alice"] * 6 + ["bob"] * 6
    assert tapped[:6] == [("alice", pcm) for pcm in alone]  # one decode, both hear it
    assert abs(frequency_of(b"".join(pcm for _, pcm in tapped[-4:])) - 700) < 15
    leg.tap(None)
    publish_opus(forwarder, "bob", 0xB1, tone(700, 2), clock)
    assert len(tapped) == 12


class Stream:
    def __init__(self) -> None:
        self.ticks: list[bool] = []

    def tick(self, playing: bool) -> bytes | None:
        self.ticks.append(playing)
        return STREAMED


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[MediaEndpoint, FakeLeg]]:
    leg = FakeLeg()
    made = MediaEndpoint(
        leg,
        SourceRenderer(FramesTts(), Fetcher()),
        FakeRecognizer(),
        lambda event: None,
        hold_music=hold_music(),
    )
    await made.start()
    yield made, leg
    await made.stop()


async def test_the_stream_plays_to_everyone_between_plays(
    endpoint: tuple[MediaEndpoint, FakeLeg],
) -> None:
    media, leg = endpoint
    stream = Stream()
    media.set_stream(stream)
    media.tick()
    media.play(Play("op", (TextSource("one two"),), audience=frozenset({"alice"})))
    await settle()
    media.tick()
    media.tick()
    media.tick()
    assert stream.ticks == [False, True, True, False]
    assert leg.sent == [
        (STREAMED, None),
        (LOUD, frozenset({"alice"})),
        (LOUD, frozenset({"alice"})),
        (STREAMED, None),
    ]
    media.set_stream(None)
    media.tick()
    assert len(leg.sent) == 4
