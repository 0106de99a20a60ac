"""WAV and MP3 bytes → 48 kHz mono PCM; limits and damage are typed errors."""

from __future__ import annotations

import contextlib
import io
import wave

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.media.audio.audiofile import decode_audio_file, sniff_format
from switchboard.media.audio.errors import AudioFileError, AudioFileProblem
from switchboard.media.audio.frames import duration_ms, rms_dbfs, samples


def sine(rate: int, seconds: float, hz: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * hz * t)


def encode(container: str, codec: str, rate: int, channels: int, seconds: float = 1.0) -> bytes:
    """A file made by FFmpeg's encoders through PyAV (as other tools would write it)."""
    buffer = io.BytesIO()
    layout = "mono" if channels == 1 else "stereo"
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        wave_ = np.tile(sine(rate, seconds).astype(np.float32), (channels, 1))
        frame = av.AudioFrame.from_ndarray(wave_, format="fltp", layout=layout)
        frame.sample_rate = rate
        for packet in (*stream.encode(frame), *stream.encode(None)):
            output.mux(packet)
    return buffer.getvalue()


def wav_file(rate: int, width: int, channels: int, seconds: float = 1.0) -> bytes:
    x = sine(rate, seconds)
    if width == 1:
        pcm = np.rint(x * 127 + 128).astype(np.uint8)
    else:
        pcm = np.rint(x * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(np.repeat(pcm, channels).tobytes())
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(wav_file(8000, 2, 1), id="wav-8k-16bit-mono"),
        pytest.param(wav_file(44_100, 2, 2), id="wav-44k1-16bit-stereo"),
        pytest.param(wav_file(16_000, 1, 1), id="wav-16k-8bit"),
        pytest.param(encode("wav", "pcm_s24le", 48_000, 2), id="wav-48k-24bit-stereo"),
        pytest.param(encode("wav", "pcm_f32le", 22_050, 1), id="wav-float"),
        pytest.param(encode("wav", "pcm_mulaw", 8000, 1), id="wav-mulaw"),
        pytest.param(encode("mp3", "libmp3lame", 44_100, 2), id="mp3-44k1-stereo"),
        pytest.param(encode("mp3", "libmp3lame", 24_000, 1), id="mp3-24k-mono"),
    ],
)
def test_a_one_second_tone_decodes_to_one_second_of_48_khz_audio(data: bytes) -> None:
    pcm = decode_audio_file(data)
    assert 950 <= duration_ms(pcm) <= 1100  # MP3 adds encoder delay and padding
    # a half-scale sine is -9 dBFS; µ-law and 8-bit lose a little
    assert -10.5 < rms_dbfs(pcm[9600:-9600]) < -8.0
    assert int(np.max(np.abs(samples(pcm)))) < 20_000


def test_the_format_is_sniffed_from_the_bytes_not_trusted() -> None:
    assert sniff_format(wav_file(8000, 2, 1)) == "wav"
    assert sniff_format(encode("mp3", "libmp3lame", 44_100, 1)) == "mp3"
    assert sniff_format(b"OggS\x00\x02") is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"<html>not found</html>", AudioFileProblem.UNSUPPORTED_FORMAT),
        (encode("ogg", "libopus", 48_000, 1), AudioFileProblem.UNSUPPORTED_FORMAT),
        (b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk", AudioFileProblem.CORRUPT),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200), AudioFileProblem.CORRUPT),
        (wav_file(8000, 2, 1, seconds=0.0), AudioFileProblem.NO_AUDIO),
    ],
)
def test_what_cannot_be_played_is_an_audio_file_error_with_a_reason(
    data: bytes, problem: AudioFileProblem
) -> None:
    with pytest.raises(AudioFileError) as caught:
        decode_audio_file(data)
    assert caught.value.problem is problem
    assert caught.value.sub_code == 8535
    assert caught.value.status == 400


def test_a_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    with pytest.raises(AudioFileError) as caught:
        decode_audio_file(wav_file(8000, 2, 1), max_bytes=1000)
    assert caught.value.problem is AudioFileProblem.TOO_LARGE


def test_audio_over_the_duration_limit_is_refused() -> None:
    with pytest.raises(AudioFileError) as caught:
        decode_audio_file(wav_file(8000, 2, 1, seconds=3.0), max_duration_s=2.0)
    assert caught.value.problem is AudioFileProblem.TOO_LONG


@settings(max_examples=50, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.binary(max_size=2000).map(lambda tail: wav_file(8000, 2, 1)[:60] + tail),
        st.binary(max_size=2000).map(lambda tail: b"\xff\xfb\x90\x00" + tail),
    )
)
def test_arbitrary_bytes_decode_or_raise_only_the_audio_file_error(data: bytes) -> None:
    with contextlib.suppress(AudioFileError):
        decode_audio_file(data)
