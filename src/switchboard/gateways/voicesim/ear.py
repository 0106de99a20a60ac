"""Ear: what a virtual phone heard in its call. Sans-I/O (time comes in as ``now``).

decoded frames, per publisher ─▶ DtmfDetector each (in-band tones) ─▶ keys, in order
                               └▶ rms_dbfs ≥ SPEAKING_DBFS? ─▶ loud frames, last loud time
tick(now): no loud frame for SILENT_AFTER seconds ─▶ silent
the timeline: [(ms since the call started, speaking?)] at every change
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.media.audio.dtmf import DtmfDetector
from switchboard.media.audio.frames import rms_dbfs

SPEAKING_DBFS = -45.0  # espeak's speech sits around -20 dBFS; Opus's silence far below this
SILENT_AFTER = 0.2  # seconds without a loud frame: the far end is silent


@dataclass(frozen=True, slots=True)
class EnergyChange:
    at_ms: int  # since the call was connected
    speaking: bool


@dataclass(slots=True)
class Ear:
    started_at: float
    tones: list[str] = field(default_factory=list)  # "1", "#", … as heard
    loud_frames: int = 0
    frames: int = 0
    speaking: bool = False
    timeline: list[EnergyChange] = field(default_factory=list)
    _last_loud: float = 0.0
    _detectors: dict[str, DtmfDetector] = field(default_factory=dict)

    def hear(self, publisher: str, pcm: bytes, now: float) -> None:
        self.frames += 1
        detector = self._detectors.get(publisher)
        if detector is None:
            detector = self._detectors[publisher] = DtmfDetector()
        self.tones.extend(tone.value for tone in detector.feed(pcm))
        if rms_dbfs(pcm) >= SPEAKING_DBFS:
            self.loud_frames += 1
            self._last_loud = now
            if not self.speaking:
                self._change(True, now)

    def tick(self, now: float) -> None:
        if self.speaking and now - self._last_loud >= SILENT_AFTER:
            self._change(False, self._last_loud + SILENT_AFTER)

    def _change(self, speaking: bool, at: float) -> None:
        self.speaking = speaking
        self.timeline.append(EnergyChange(max(0, round((at - self.started_at) * 1000)), speaking))
