"""The play queue of a media endpoint, sans-I/O: a paced driver asks for one 20 ms frame at
a time and gets the events that frame caused.

    enqueue(item) ─▶ [queued …] ─next_frame()─▶ current item ─▶ PlaybackFrame(pcm, audience,
                                                 operation_id, events)
    item:   Started with its first frame; Completed with its last (padded with silence);
            a looping item wraps around inside the frame and never completes by itself
    cancel(operation_id) / cancel_all() / barge_in() (the current item only) ─▶ Canceled
            events returned at once, for queued and current items alike
    idle:   silence frames with operation_id None

An item with no audio starts and completes in the same frame, and the next item plays in
that frame. Audience ``None`` is everyone; otherwise the participant ids the frame is for
(a play to chosen participants); the driver narrows the leg's audience frame by frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from switchboard.media.audio.frames import FRAME_BYTES, SILENT_FRAME

Encoded = tuple[bytes, int]  # an Opus payload and its RFC 6464 audio level


@dataclass(frozen=True, slots=True)
class PlaybackItem:
    operation_id: str
    pcm: bytes
    loop: bool = False
    audience: frozenset[str] | None = None
    # The same audio already encoded, one entry per 20 ms frame (the last padded with
    # silence): whatever a frame sends from here is not encoded again (see PlaybackFrame).
    encoded: Sequence[Encoded] | None = None


@dataclass(frozen=True, slots=True)
class PlaybackStarted:
    operation_id: str


@dataclass(frozen=True, slots=True)
class PlaybackCompleted:
    operation_id: str


@dataclass(frozen=True, slots=True)
class PlaybackCanceled:
    operation_id: str


PlaybackEvent = PlaybackStarted | PlaybackCompleted | PlaybackCanceled


@dataclass(frozen=True, slots=True)
class PlaybackFrame:
    pcm: bytes
    operation_id: str | None = None  # None: nothing is playing (silence)
    audience: frozenset[str] | None = None
    events: list[PlaybackEvent] = field(default_factory=list)
    encoded: Encoded | None = None  # the item's own encoding of exactly this frame, if any


class PlaybackQueue:
    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self._frame_bytes = frame_bytes
        self._silence = SILENT_FRAME if frame_bytes == FRAME_BYTES else bytes(frame_bytes)
        self._queue: deque[PlaybackItem] = deque()
        self._current: PlaybackItem | None = None
        self._position = 0

    @property
    def current(self) -> str | None:
        return self._current.operation_id if self._current else None

    @property
    def queued(self) -> list[str]:
        return [item.operation_id for item in self._queue]

    @property
    def idle(self) -> bool:
        return self._current is None and not self._queue

    def enqueue(self, item: PlaybackItem) -> None:
        self._queue.append(item)

    def next_frame(self) -> PlaybackFrame:
        events: list[PlaybackEvent] = []
        while True:
            if self._current is None:
                if not self._queue:
                    return PlaybackFrame(self._silence, events=events)
                self._current, self._position = self._queue.popleft(), 0
                events.append(PlaybackStarted(self._current.operation_id))
            item = self._current
            if item.pcm:
                break
            events.append(PlaybackCompleted(item.operation_id))  # nothing to play
            self._current = None
        start = self._position
        pcm = item.pcm[start : start + self._frame_bytes]
        self._position += len(pcm)
        encoded = None
        if item.encoded is not None and start % self._frame_bytes == 0:
            index = start // self._frame_bytes
            if index < len(item.encoded) and (len(pcm) == self._frame_bytes or not item.loop):
                encoded = item.encoded[index]
        if item.loop:
            while len(pcm) < self._frame_bytes:
                take = item.pcm[: self._frame_bytes - len(pcm)]
                pcm += take
                self._position = len(take)
        elif self._position >= len(item.pcm):
            pcm = pcm.ljust(self._frame_bytes, b"\x00")
            events.append(PlaybackCompleted(item.operation_id))
            self._current = None
        return PlaybackFrame(pcm, item.operation_id, item.audience, events, encoded)

    def cancel(self, operation_id: str) -> list[PlaybackEvent]:
        """Cancel every queued or playing item of the operation."""
        events: list[PlaybackEvent] = [
            PlaybackCanceled(item.operation_id)
            for item in self._queue
            if item.operation_id == operation_id
        ]
        self._queue = deque(item for item in self._queue if item.operation_id != operation_id)
        if self._current is not None and self._current.operation_id == operation_id:
            events.insert(0, PlaybackCanceled(operation_id))
            self._current = None
        return events

    def barge_in(self) -> list[PlaybackEvent]:
        """Stop what is playing now (the caller spoke or pressed a key); the queue goes on."""
        if self._current is None:
            return []
        canceled = PlaybackCanceled(self._current.operation_id)
        self._current = None
        return [canceled]

    def cancel_all(self) -> list[PlaybackEvent]:
        events = self.barge_in()
        events += [PlaybackCanceled(item.operation_id) for item in self._queue]
        self._queue.clear()
        return events
