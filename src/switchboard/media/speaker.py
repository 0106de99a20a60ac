"""Active-speaker detection from RFC 6464 audio levels: smoothed, with hysteresis.

Every audio packet adds its loudness (127 − level, so 0 is silence) to its track's sum; every
tick (``TICK_SECONDS``) each participant's mean loudness over the tick is folded into an
exponential moving average. The dominant speaker changes only when another participant is
louder than the current one by ``MARGIN`` for ``HOLD_TICKS`` ticks in a row (or the current one
fell silent): a cough or a word of agreement does not steal the video slots.

    packets ─▶ level_sum/level_count per track ─tick─▶ smoothed per participant
        ─▶ loudest above THRESHOLD, beating the current by MARGIN for HOLD_TICKS ─▶ new speaker
"""

from __future__ import annotations

from collections.abc import Iterable

from switchboard.media.streams import Track

TICK_SECONDS = 0.1
SMOOTHING = 0.3  # weight of the newest tick in the moving average
THRESHOLD = 25.0  # loudness below this (a level above ~100 -dBov) is silence
MARGIN = 8.0
HOLD_TICKS = 3


class SpeakerDetector:
    __slots__ = ("challenger", "current", "held", "smoothed")

    def __init__(self) -> None:
        self.smoothed: dict[str, float] = {}
        self.current: str | None = None
        self.challenger: str | None = None
        self.held = 0

    def forget(self, participant_id: str) -> None:
        self.smoothed.pop(participant_id, None)
        if self.current == participant_id:
            self.current = None
        if self.challenger == participant_id:
            self.challenger, self.held = None, 0

    def tick(self, audio_tracks: Iterable[Track]) -> str | None:
        """Fold one tick of levels in; the new dominant speaker if it changed, else None."""
        for track in audio_tracks:
            mean = track.level_sum / track.level_count if track.level_count else 0.0
            if track.muted:
                mean = 0.0
            track.level_sum = track.level_count = 0
            before = self.smoothed.get(track.participant_id, 0.0)
            self.smoothed[track.participant_id] = before + SMOOTHING * (mean - before)
        if not self.smoothed:
            return None
        loudest = max(self.smoothed, key=self.smoothed.__getitem__)
        level = self.smoothed[loudest]
        if loudest == self.current or level < THRESHOLD:
            self.challenger, self.held = None, 0
            return None
        current_level = self.smoothed.get(self.current, 0.0) if self.current else 0.0
        if current_level >= THRESHOLD and level < current_level + MARGIN:
            self.challenger, self.held = None, 0
            return None
        if loudest != self.challenger:
            self.challenger, self.held = loudest, 0
        self.held += 1
        if self.held < HOLD_TICKS and current_level >= THRESHOLD:
            return None
        self.current, self.challenger, self.held = loudest, None, 0
        return loudest
