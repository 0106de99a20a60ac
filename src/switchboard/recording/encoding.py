"""A chunk's PCM as a playable file: WAV (stdlib), MP3 (PyAV's libmp3lame), MP4 (AAC audio,
H.264 video from the frames the recorder decoded; mp4.py).

Each chunk is a whole file on its own (its own header), so one written before a crash plays
without the ones after it. Encoding runs in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import fractions
import io
import wave

import av
import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000  # what recordings hold (ACS records speech at 16 kHz)
FRAME_SAMPLES = 320  # 20 ms at 16 kHz

Pcm = npt.NDArray[np.int16]  # (samples, channels), interleaved when written


def wav_bytes(pcm: Pcm) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(pcm.shape[1])
        file.setsampwidth(2)
        file.setframerate(SAMPLE_RATE)
        file.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
    return out.getvalue()


def mp3_bytes(pcm: Pcm) -> bytes:
    """Mono (MP3 recordings are mixed)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(_mono(pcm).reshape(1, -1)), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _mono(pcm: Pcm) -> Pcm:
    if pcm.shape[1] == 1:
        mono: Pcm = np.ascontiguousarray(pcm[:, 0])
        return mono
    summed: Pcm = np.clip(pcm.sum(axis=1, dtype=np.int32), -32768, 32767).astype(np.int16)
    return summed


def mp4_bytes(pcm: Pcm, video: list[av.VideoFrame] | None = None) -> bytes:
    """AAC audio (mono mix) and, when the call had video, H.264 of the frames given (already
    decoded by the recorder, with ``pts`` in milliseconds of the chunk)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        picture = None
        if video:
            first = video[0]
            picture = container.add_stream("libx264", rate=30)
            picture.width = first.width - first.width % 2
            picture.height = first.height - first.height % 2
            picture.pix_fmt = "yuv420p"
            picture.time_base = fractions.Fraction(1, 1000)
            picture.codec_context.time_base = fractions.Fraction(1, 1000)
            picture.options = {"preset": "ultrafast", "tune": "zerolatency"}
        sound = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(_mono(pcm).reshape(1, -1)), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        if picture is not None and video:
            last_pts = -1
            for image in video:
                if image.pts is None or image.pts <= last_pts:
                    continue
                last_pts = image.pts
                scaled = image.reformat(picture.width, picture.height, "yuv420p")
                scaled.pts = image.pts
                scaled.time_base = fractions.Fraction(1, 1000)
                for packet in picture.encode(scaled):
                    container.mux(packet)
            for packet in picture.encode(None):
                container.mux(packet)
        for packet in sound.encode(frame):
            container.mux(packet)
        for packet in sound.encode(None):
            container.mux(packet)
    return out.getvalue()
