"""The default hold music: a soft four-note arpeggio, generated once (48 kHz mono s16le)."""

from __future__ import annotations

import numpy as np

from switchboard.media.audio.frames import SAMPLE_RATE, to_pcm

NOTES_HZ = (261.63, 329.63, 392.0, 523.25)  # C major: C4 E4 G4 C5
NOTE_SECONDS = 0.5
LEVEL = 0.1  # about -20 dBFS: quiet enough to talk over


def hold_music() -> bytes:
    """Two seconds that loop without a click (each note fades in and out)."""
    samples = int(SAMPLE_RATE * NOTE_SECONDS)
    t = np.arange(samples) / SAMPLE_RATE
    envelope = np.sin(np.pi * np.arange(samples) / samples)  # 0 → 1 → 0
    notes = [LEVEL * envelope * np.sin(2 * np.pi * hz * t) for hz in NOTES_HZ]
    return to_pcm(np.concatenate(notes))  # floats in [-1, 1]
