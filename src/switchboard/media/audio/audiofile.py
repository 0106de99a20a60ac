"""Audio files (a play's FileSource) → 48 kHz mono PCM, with PyAV, from bytes in memory.

    bytes ─▶ size limit ─▶ sniff the container (RIFF/WAVE or MP3: ID3 tag or frame sync;
             anything else is refused before FFmpeg sees it) ─▶ open with that demuxer only
          ─▶ decode the first audio stream ─▶ resample to s16 mono 48 kHz, counting the
             duration against its limit ─▶ PCM

WAV of any rate, width (8/16/24/32-bit, float, µ-law, A-law) and channel count; MP3 (MPEG
layer III). Fetching is not here: the caller hands over bytes it got through the URL guard.
Decoding is CPU work: call ``decode_audio_file`` in a thread. Every failure is an
``AudioFileError`` whose ``problem`` says why and whose ``sub_code`` is PlayFailed's.
"""

from __future__ import annotations

import io
import itertools

import av
import av.error

from switchboard.media.audio.errors import AudioFileError, AudioFileProblem
from switchboard.media.audio.frames import SAMPLE_BYTES, SAMPLE_RATE

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DURATION_S = 600


def sniff_format(data: bytes) -> str | None:
    """The demuxer for these bytes ("wav" or "mp3"), or None when they are neither."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3":
        return "mp3"
    # an MPEG audio frame header: 11 sync bits, then layer bits 01 (layer III)
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06 == 0x02:
        return "mp3"
    return None


def decode_audio_file(
    data: bytes,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_duration_s: float = MAX_DURATION_S,
) -> bytes:
    if len(data) > max_bytes:
        raise AudioFileError(
            AudioFileProblem.TOO_LARGE, f"file of {len(data)} bytes is over {max_bytes}"
        )
    container_format = sniff_format(data)
    if container_format is None:
        raise AudioFileError(AudioFileProblem.UNSUPPORTED_FORMAT, "the file is neither WAV nor MP3")
    max_pcm = int(max_duration_s * SAMPLE_RATE) * SAMPLE_BYTES
    try:
        with av.open(io.BytesIO(data), mode="r", format=container_format) as container:
            if not container.streams.audio:
                raise AudioFileError(AudioFileProblem.NO_AUDIO, "the file has no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            parts: list[bytes] = []
            size = 0
            for frame in itertools.chain(container.decode(audio=0), [None]):  # None: flush
                for out in resampler.resample(frame):
                    pcm = out.to_ndarray().astype("<i2").tobytes()
                    size += len(pcm)
                    if size > max_pcm:
                        raise AudioFileError(
                            AudioFileProblem.TOO_LONG,
                            f"the audio is longer than {max_duration_s:g} s",
                        )
                    parts.append(pcm)
    except av.error.FFmpegError as exc:
        raise AudioFileError(
            AudioFileProblem.CORRUPT, f"the file cannot be decoded: {exc}"
        ) from exc
    if size == 0:
        raise AudioFileError(AudioFileProblem.NO_AUDIO, "the file holds no audio samples")
    return b"".join(parts)
