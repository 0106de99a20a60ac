"""What the caller says, cut into utterances: 20 ms frames of 16 kHz PCM in, whole utterances
out. Energy only (no model): speech starts after 60 ms above -40 dBFS and ends after 600 ms
below it, as a person pausing for an answer does."""

from __future__ import annotations

import math

import numpy as np

START_DBFS = -40.0
START_FRAMES = 3  # 60 ms of speech starts an utterance
END_FRAMES = 30  # 600 ms of quiet ends it
MAX_FRAMES = 500  # 10 s: a longer utterance is cut there


def level_dbfs(frame: bytes) -> float:
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(samples * samples))) / 32768.0
    return 20 * math.log10(rms) if rms > 0 else -120.0


class Utterances:
    def __init__(self) -> None:
        self._frames: list[bytes] = []
        self._loud = 0
        self._quiet = 0
        self._speaking = False

    def feed(self, frame: bytes) -> bytes | None:
        """Take one frame; returns an utterance when one has just ended."""
        loud = level_dbfs(frame) > START_DBFS
        if not self._speaking:
            self._loud = self._loud + 1 if loud else 0
            self._frames = [*self._frames[-(START_FRAMES - 1) :], frame] if loud else []
            if self._loud >= START_FRAMES:
                self._speaking, self._quiet = True, 0
            return None
        self._frames.append(frame)
        self._quiet = 0 if loud else self._quiet + 1
        if self._quiet >= END_FRAMES or len(self._frames) >= MAX_FRAMES:
            said = b"".join(self._frames)
            self._frames, self._loud, self._speaking = [], 0, False
            return said
        return None
