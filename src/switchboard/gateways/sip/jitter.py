"""A small jitter buffer for 20 ms G.711 packets, sans-I/O.

    push(seq, payload) as packets arrive (any order, duplicates, late ones)
    pop() once per 20 ms tick ─▶ the next payload in sequence, or None (a gap: lost or late)

Playout starts once ``depth`` packets wait (40 ms by default), so packets reordered within
that window come out in order. A packet older than the playout point, or one already played
(a duplicate, even after a pause), is late: dropped; a new SSRC is a new stream (``reset``). When
the buffer runs dry it waits for ``depth`` packets again (a new talkspurt or a stall). More
than ``max_packets`` waiting (the far end sends faster than we play): the oldest are dropped.
"""

from __future__ import annotations

DEFAULT_DEPTH = 2
MAX_PACKETS = 50


class JitterBuffer:
    def __init__(self, depth: int = DEFAULT_DEPTH, max_packets: int = MAX_PACKETS) -> None:
        self._depth = depth
        self._max = max_packets
        self._packets: dict[int, bytes] = {}
        self._next: int | None = None  # the sequence number to play next
        self._playing = False
        self._last_played: int | None = None
        self.late = 0
        self.lost = 0

    def reset(self) -> None:
        """A new stream (the sender's SSRC changed): its numbers start afresh."""
        self._packets.clear()
        self._next = self._last_played = None
        self._playing = False

    def push(self, seq: int, payload: bytes) -> None:
        played = self._last_played
        if (self._next is not None and self._playing and _before(seq, self._next)) or (
            played is not None and not _before(played, seq)
        ):
            self.late += 1  # behind the playout point, or played already (a duplicate)
            return
        self._packets[seq] = payload
        if self._next is None or (not self._playing and _before(seq, self._next)):
            self._next = seq
        if len(self._packets) > self._max:
            while len(self._packets) > self._max:
                self._skip_to_oldest()
                self._packets.pop(self._next, None)
                self._next = (self._next + 1) & 0xFFFF if self._next is not None else None

    def pop(self) -> bytes | None:
        if self._next is None:
            return None
        if not self._playing:
            if len(self._packets) < self._depth:
                return None
            self._playing = True
        if not self._packets:
            self._playing = False
            return None
        payload = self._packets.pop(self._next, None)
        if payload is None:
            self.lost += 1
        self._last_played = self._next
        self._next = (self._next + 1) & 0xFFFF
        return payload

    def _skip_to_oldest(self) -> None:
        if self._next is None or self._next in self._packets:
            return
        self._next = min(self._packets, key=lambda s: (s - (self._next or 0)) & 0xFFFF)


def _before(a: int, b: int) -> bool:
    """``a`` precedes ``b`` in 16-bit sequence space."""
    return a != b and ((b - a) & 0xFFFF) < 0x8000
