"""EncodedAudio: played audio encoded once for every call that plays it.

A cached prompt (the same espeak-ng PCM for every call of an IVR) was encoded to Opus by each
call's leg, frame by frame — the largest cost of an automated call (bench/automation.py). Here
it is encoded once, by content, with an encoder of its own: the frames and their audio levels
are kept (bounded in bytes) and every leg sends the same payloads
(``LocalLeg.send_encoded``). A decoder meeting these frames mid-stream only hears the usual
seam of a new talkspurt.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence

from switchboard.media.audio.frames import FRAME_BYTES
from switchboard.media.audio.playback import Encoded
from switchboard.media.local_leg import audio_level
from switchboard.media.opus import OpusEncoder

MAX_ENCODED_BYTES = 16 * 1024 * 1024


class EncodedAudio:
    def __init__(self, max_bytes: int = MAX_ENCODED_BYTES) -> None:
        self._frames: OrderedDict[bytes, tuple[Encoded, ...]] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes

    def frames(self, pcm: bytes) -> Sequence[Encoded]:
        """One (payload, level) per 20 ms of ``pcm``, the last frame padded with silence."""
        key = hashlib.blake2b(pcm, digest_size=16).digest()
        found = self._frames.get(key)
        if found is not None:
            self._frames.move_to_end(key)
            return found
        encoder = OpusEncoder()
        made: list[Encoded] = []
        for start in range(0, len(pcm), FRAME_BYTES):
            chunk = pcm[start : start + FRAME_BYTES].ljust(FRAME_BYTES, b"\x00")
            made.append((encoder.encode(chunk), audio_level(chunk)))
        frames = tuple(made)
        self._frames[key] = frames
        self._bytes += sum(len(payload) for payload, _ in frames)
        while self._bytes > self._max_bytes and len(self._frames) > 1:
            _, gone = self._frames.popitem(last=False)
            self._bytes -= sum(len(payload) for payload, _ in gone)
        return frames
