"""The bot's voice: espeak-ng (a Debian package) to 16 kHz mono PCM, the stream's format."""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 16000


def speak(text: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "said.wav"
        # text on stdin: it can never be read as an option
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), "--stdin"],
            input=text.encode(),
            check=True,
            capture_output=True,
        )
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    if rate == RATE:
        return bytes(samples.tobytes())
    count = int(len(samples) * RATE / rate)
    resampled = np.interp(np.arange(count) * rate / RATE, np.arange(len(samples)), samples)
    return bytes(resampled.astype("<i2").tobytes())
