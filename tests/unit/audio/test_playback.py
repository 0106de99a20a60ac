"""The play queue: frames and their events, loops, audiences, cancel and barge-in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from switchboard.media.audio.frames import FRAME_BYTES, SILENT_FRAME
from switchboard.media.audio.playback import (
    PlaybackCanceled,
    PlaybackCompleted,
    PlaybackEvent,
    PlaybackFrame,
    PlaybackItem,
    PlaybackQueue,
    PlaybackStarted,
)


def audio(frames: float, byte: int = 1) -> bytes:
    return bytes([byte]) * int(FRAME_BYTES * frames)


def run(queue: PlaybackQueue, n: int) -> list[PlaybackFrame]:
    return [queue.next_frame() for _ in range(n)]


def test_an_idle_queue_gives_silence_and_no_events() -> None:
    frame = PlaybackQueue().next_frame()
    assert frame == PlaybackFrame(SILENT_FRAME)


def test_an_item_starts_with_its_first_frame_and_completes_with_its_padded_last() -> None:
    queue = PlaybackQueue()
    queue.enqueue(PlaybackItem("op1", audio(2.5)))
    frames = run(queue, 4)
    assert [f.events for f in frames] == [
        [PlaybackStarted("op1")],
        [],
        [PlaybackCompleted("op1")],
        [],
    ]
    assert [f.operation_id for f in frames] == ["op1", "op1", "op1", None]
    assert frames[2].pcm == audio(0.5) + bytes(FRAME_BYTES // 2)
    assert all(len(f.pcm) == FRAME_BYTES for f in frames)


def test_items_play_in_order_with_their_audiences() -> None:
    queue = PlaybackQueue()
    queue.enqueue(PlaybackItem("a", audio(1, 1)))
    queue.enqueue(PlaybackItem("b", audio(1, 2), audience=frozenset({"alice"})))
    first, second = run(queue, 2)
    assert (first.operation_id, first.audience, first.pcm[0]) == ("a", None, 1)
    assert (second.operation_id, second.audience, second.pcm[0]) == ("b", frozenset({"alice"}), 2)
    assert queue.idle


def test_a_looping_item_wraps_inside_the_frame_and_never_completes() -> None:
    queue = PlaybackQueue()
    queue.enqueue(PlaybackItem("hold", audio(0.75, 1) + audio(0.5, 2), loop=True))
    frames = run(queue, 10)
    joined = b"".join(f.pcm for f in frames)
    assert joined == ((audio(0.75, 1) + audio(0.5, 2)) * 8)[: 10 * FRAME_BYTES]
    assert [e for f in frames for e in f.events] == [PlaybackStarted("hold")]
    assert queue.current == "hold"


def test_an_empty_item_starts_and_completes_and_the_next_plays_in_that_frame() -> None:
    queue = PlaybackQueue()
    queue.enqueue(PlaybackItem("empty", b""))
    queue.enqueue(PlaybackItem("next", audio(1)))
    frame = queue.next_frame()
    assert frame.events == [
        PlaybackStarted("empty"),
        PlaybackCompleted("empty"),
        PlaybackStarted("next"),
        PlaybackCompleted("next"),
    ]
    assert frame.operation_id == "next"


def test_barge_in_cancels_the_current_item_and_the_queue_goes_on() -> None:
    queue = PlaybackQueue()
    queue.enqueue(PlaybackItem("prompt", audio(5)))
    queue.enqueue(PlaybackItem("after", audio(1)))
    run(queue, 2)
    assert queue.barge_in() == [PlaybackCanceled("prompt")]
    assert queue.current is None
    assert queue.barge_in() == []
    assert queue.next_frame().events == [PlaybackStarted("after"), PlaybackCompleted("after")]


def test_cancel_by_operation_reaches_queued_and_current_items() -> None:
    queue = PlaybackQueue()
    queue.enqueue(PlaybackItem("x", audio(3)))
    queue.enqueue(PlaybackItem("y", audio(1)))
    queue.enqueue(PlaybackItem("x", audio(1)))
    queue.next_frame()
    assert queue.cancel("x") == [PlaybackCanceled("x"), PlaybackCanceled("x")]
    assert queue.current is None
    assert queue.queued == ["y"]
    assert queue.cancel("nothing") == []


def test_cancel_all_cancels_everything_once() -> None:
    queue = PlaybackQueue()
    for name in "abc":
        queue.enqueue(PlaybackItem(name, audio(2)))
    queue.next_frame()
    assert queue.cancel_all() == [PlaybackCanceled(n) for n in "abc"]
    assert queue.idle
    assert queue.next_frame() == PlaybackFrame(SILENT_FRAME)


@given(st.lists(st.integers(0, 5 * FRAME_BYTES // 2), max_size=6))
def test_every_item_that_is_not_canceled_starts_once_and_completes_once(
    items: list[int],
) -> None:
    """Played to the end: non-looping items complete in order; audio comes out whole."""
    queue = PlaybackQueue()
    for i, samples in enumerate(items):
        queue.enqueue(PlaybackItem(str(i), bytes([i + 1]) * (samples * 2)))
    events: list[PlaybackEvent] = []
    out = b""
    while not queue.idle:
        frame = queue.next_frame()
        events += frame.events
        out += frame.pcm.rstrip(b"\x00")
    expected: list[PlaybackEvent] = []
    for i in range(len(items)):
        expected += [PlaybackStarted(str(i)), PlaybackCompleted(str(i))]
    assert events == expected
    assert out == b"".join(bytes([i + 1]) * (s * 2) for i, s in enumerate(items))
