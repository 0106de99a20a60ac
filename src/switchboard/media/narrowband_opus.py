"""Opus for phone legs: 8 kHz PCM ⇄ Opus packets, straight through libopus (ctypes).

A phone's audio is G.711: 8 kHz samples, nothing above 4 kHz. Coding it as such costs far
less than the 48 kHz path of media/opus.py (bench/sip.py, 2026-12-08):

- libopus takes 8 kHz input and decodes to 8 kHz output itself, so no resampling to 48 kHz
  and back in numpy, and no resampling inside libopus down to narrowband SILK's 8 kHz;
- complexity 3 (gateways use 3–5; 10 is libopus's default; 4 and 5 are the same SILK setup
  in libopus 1.6 and cost the same), 40 % less of the encoder's cost with no difference
  measured in the decoded speech;
- one C call per frame through ctypes, without PyAV's frame and packet objects;
- digital silence (what a trunk sends when nobody speaks: G.711's silence codes, which
  decode to 0 or ±8) is not coded: one silent packet, made once, stands for every such frame
  (it decodes to silence like any other), and the encoder starts afresh when sound comes
  back, as the decoder, which decoded silence meanwhile, does. Coding silence costs
  libopus nearly as much as speech.

The packets are ordinary Opus (RFC 6716: a packet does not say what rate it was coded
from): every subscriber decodes them at 48 kHz as it does any other participant's.

    NarrowbandOpusEncoder.encode(320 bytes: 20 ms of 8 kHz mono s16le) ─▶ one Opus packet
    NarrowbandOpusDecoder.decode(Opus packet) ─▶ 8 kHz mono s16le (160 samples per 20 ms)

libopus is the copy PyAV's wheel bundles (always there: PyAV's own "libopus" codec is it),
else the system's. Without either, the same classes fall back on PyAV (8 kHz encoding;
decoding at 48 kHz, then every six samples averaged): slower, same packets.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fractions
import glob
import logging
import os
from functools import cache

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext

log = logging.getLogger(__name__)

RATE = 8_000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_BYTES = FRAME_SAMPLES * 2
COMPLEXITY = 3
BIT_RATE = 32_000  # as before (24 kbit/s measured 0.4 dB less segmental SNR; CPU the same)
MAX_PACKET = 1_500
MAX_DECODED = 6 * FRAME_SAMPLES  # a packet holds at most 120 ms

_APPLICATION_VOIP = 2048
_OK = 0
_SET_BITRATE = 4002
_SET_MAX_BANDWIDTH = 4004
_SET_COMPLEXITY = 4010
_BANDWIDTH_NARROWBAND = 1101
_RESET_STATE = 4028
# 20 ms of digital silence as G.711 decodes it: μ-law's silence codes give 0, A-law's ±8
DIGITAL_SILENCE = frozenset(
    bytes(value.to_bytes(2, "little", signed=True) * FRAME_SAMPLES) for value in (0, 8, -8)
)


class NarrowbandFrameError(ValueError):
    """The PCM handed to the encoder is not one 20 ms frame at 8 kHz."""


class OpusLibraryError(RuntimeError):
    """libopus refused to create or configure an encoder or decoder."""


def _candidates() -> list[str]:
    """PyAV's bundled libopus (manylinux: av.libs/; macOS: av/.dylibs/), then the system's."""
    package = os.path.dirname(av.__file__)
    found: list[str] = []
    for pattern in ("../av.libs/libopus*", ".dylibs/libopus*", "../av.libs/opus*"):
        found += sorted(glob.glob(os.path.join(package, pattern)))
    system = ctypes.util.find_library("opus")
    if system:
        found.append(system)
    return found


@cache
def libopus() -> ctypes.CDLL | None:
    """The library, its signatures declared; None when there is none to load."""
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        pointer, int32 = ctypes.c_void_p, ctypes.c_int32
        lib.opus_encoder_create.restype = pointer
        lib.opus_encoder_create.argtypes = [int32, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
        lib.opus_encode.restype = int32
        lib.opus_encode.argtypes = [pointer, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, int32]
        lib.opus_encoder_destroy.argtypes = [pointer]
        lib.opus_decoder_create.restype = pointer
        lib.opus_decoder_create.argtypes = [int32, ctypes.c_int, ctypes.c_void_p]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [
            pointer,
            ctypes.c_char_p,
            int32,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.opus_decoder_destroy.argtypes = [pointer]
        return lib
    log.warning("libopus not found: phone legs code Opus through PyAV (slower)")
    return None


class NarrowbandOpusEncoder:
    """20 ms of 8 kHz mono s16le in, one Opus packet out (VoIP, narrowband, complexity 3)."""

    def __init__(self, *, use_libopus: bool = True) -> None:
        self._lib = libopus() if use_libopus else None
        self._state: int | None = None
        self._context: AudioCodecContext | None = None
        self._pts = 0
        self._silent = False  # the last frame was digital silence (not coded)
        if self._lib is not None:
            error = ctypes.c_int()
            state = self._lib.opus_encoder_create(RATE, 1, _APPLICATION_VOIP, ctypes.byref(error))
            if not state or error.value != _OK:
                raise OpusLibraryError(f"opus_encoder_create failed ({error.value})")
            self._state = state
            for request, value in (
                (_SET_COMPLEXITY, COMPLEXITY),
                (_SET_BITRATE, BIT_RATE),
                (_SET_MAX_BANDWIDTH, _BANDWIDTH_NARROWBAND),
            ):
                # opus_encoder_ctl is variadic: its one argument passes as a C int
                if self._lib.opus_encoder_ctl(ctypes.c_void_p(state), request, value) != _OK:
                    raise OpusLibraryError(f"opus_encoder_ctl({request}, {value}) failed")
            self._out = ctypes.create_string_buffer(MAX_PACKET)
        else:
            context = av.CodecContext.create("libopus", "w")
            assert isinstance(context, AudioCodecContext)
            context.sample_rate = RATE
            context.layout = "mono"
            context.format = "s16"
            context.bit_rate = BIT_RATE
            context.options = {
                "application": "voip",
                "frame_duration": "20",
                "compression_level": str(COMPLEXITY),
            }
            context.open()
            self._context = context

    def encode(self, pcm: bytes) -> bytes:
        if len(pcm) != FRAME_BYTES:
            raise NarrowbandFrameError(f"a frame is {FRAME_BYTES} bytes, not {len(pcm)}")
        if self._lib is not None:
            if pcm in DIGITAL_SILENCE:
                self._silent = True
                return silent_packet()
            if self._silent:  # sound again: start afresh, as the decoder is (it heard silence)
                self._silent = False
                self._lib.opus_encoder_ctl(ctypes.c_void_p(self._state), _RESET_STATE)
            return self._libopus_encode(pcm)
        assert self._context is not None
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(pcm)
        frame.sample_rate = RATE
        frame.time_base = _TIME_BASE
        frame.pts = self._pts
        self._pts += FRAME_SAMPLES
        return b"".join(bytes(packet) for packet in self._context.encode(frame))

    def _libopus_encode(self, pcm: bytes) -> bytes:
        assert self._lib is not None
        size = self._lib.opus_encode(self._state, pcm, FRAME_SAMPLES, self._out, MAX_PACKET)
        return ctypes.string_at(self._out, size) if size > 0 else b""

    def __del__(self) -> None:
        if self._lib is not None and self._state:
            self._lib.opus_encoder_destroy(self._state)
            self._state = None


@cache
def silent_packet() -> bytes:
    """What a fresh encoder makes of 20 ms of digital silence (a few bytes)."""
    return NarrowbandOpusEncoder()._libopus_encode(bytes(FRAME_BYTES))


class NarrowbandOpusDecoder:
    """Opus packets (any rate they were coded at) in, 8 kHz mono s16le out."""

    def __init__(self, *, use_libopus: bool = True) -> None:
        self._lib = libopus() if use_libopus else None
        self._state: int | None = None
        self._context: AudioCodecContext | None = None
        if self._lib is not None:
            error = ctypes.c_int()
            state = self._lib.opus_decoder_create(RATE, 1, ctypes.byref(error))
            if not state or error.value != _OK:
                raise OpusLibraryError(f"opus_decoder_create failed ({error.value})")
            self._state = state
            self._out = ctypes.create_string_buffer(MAX_DECODED * 2)
        else:
            context = av.CodecContext.create("libopus", "r")
            assert isinstance(context, AudioCodecContext)
            context.sample_rate = 48_000
            context.layout = "mono"
            context.format = "s16"
            context.open()
            self._context = context

    def decode(self, payload: bytes) -> bytes:
        """The PCM of one packet; empty if the packet was unusable (the stream goes on)."""
        if not payload:
            return b""  # (libopus would conceal a lost packet: nothing was lost)
        if self._lib is not None:
            samples = self._lib.opus_decode(
                self._state, payload, len(payload), self._out, MAX_DECODED, 0
            )
            return ctypes.string_at(self._out, samples * 2) if samples > 0 else b""
        assert self._context is not None
        try:
            frames = self._context.decode(av.Packet(payload))
        except av.error.FFmpegError:
            return b""
        wide = np.frombuffer(
            b"".join(bytes(f.planes[0])[: f.samples * 2] for f in frames), dtype="<i2"
        )
        usable = wide.size - wide.size % 6
        blocks = wide[:usable].reshape(-1, 6).sum(axis=1, dtype=np.int32) // 6
        narrow: bytes = blocks.astype("<i2").tobytes()
        return narrow

    def __del__(self) -> None:
        if self._lib is not None and self._state:
            self._lib.opus_decoder_destroy(self._state)
            self._state = None


_TIME_BASE = fractions.Fraction(1, RATE)
