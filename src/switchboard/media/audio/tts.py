"""Text to speech: the ``TextToSpeech`` Protocol and espeak-ng behind it.

synthesize(text, VoiceRequest)
  ─▶ limit check (TextTooLongError) ─▶ LRU cache by (text, espeak voice) ─hit─▶ PCM
  ─▶ one run per key in flight (concurrent callers of the same prompt share it)
  ─▶ espeak-ng -w <tmp.wav> -v <voice> -s <wpm> --stdin  (asyncio subprocess; text on
     stdin so it can never be read as an option; never --stdout: its WAV header carries
     a bogus length)
  ─▶ read the WAV (22,050 Hz), resample to 48 kHz in a thread ─▶ PCM (s16le mono)
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import tempfile
import wave
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from switchboard.media.audio.errors import SpeechSynthesisError, TextTooLongError
from switchboard.media.audio.frames import SAMPLE_BYTES, resample
from switchboard.media.audio.voices import EspeakVoice, VoiceRequest, espeak_voice

logger = logging.getLogger(__name__)

TEXT_SOURCE_MAX_CHARS = 400  # ACS's limit on a TextSource's text


class TextToSpeech(Protocol):
    async def synthesize(self, text: str, voice: VoiceRequest) -> bytes:
        """The text spoken, as 48 kHz PCM. Raises TextTooLongError, SpeechSynthesisError."""
        ...


class PcmCache:
    """Least-recently-used PCM by key, bounded by the bytes it holds."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, EspeakVoice], bytes] = OrderedDict()
        self.size = 0

    def get(self, key: tuple[str, EspeakVoice]) -> bytes | None:
        pcm = self._items.get(key)
        if pcm is not None:
            self._items.move_to_end(key)
        return pcm

    def put(self, key: tuple[str, EspeakVoice], pcm: bytes) -> None:
        if len(pcm) > self._max_bytes:
            return
        if (old := self._items.pop(key, None)) is not None:
            self.size -= len(old)
        self._items[key] = pcm
        self.size += len(pcm)
        while self.size > self._max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)


class EspeakTextToSpeech:
    def __init__(
        self,
        *,
        executable: str = "espeak-ng",
        max_chars: int = TEXT_SOURCE_MAX_CHARS,
        cache_bytes: int = 32 * 1024 * 1024,
        timeout: float = 20.0,
    ) -> None:
        self._executable = executable
        self._max_chars = max_chars
        self._timeout = timeout
        self._cache = PcmCache(cache_bytes)
        self._in_flight: dict[tuple[str, EspeakVoice], asyncio.Future[bytes]] = {}
        self.runs = 0  # espeak-ng processes started (for tests and metrics)

    @property
    def max_chars(self) -> int:
        return self._max_chars

    async def synthesize(self, text: str, voice: VoiceRequest) -> bytes:
        if len(text) > self._max_chars:
            raise TextTooLongError(
                f"text of {len(text)} characters is over the limit of {self._max_chars}"
            )
        if not text.strip():
            return b""
        key = (text, espeak_voice(voice))
        while True:
            if (cached := self._cache.get(key)) is not None:
                return cached
            leader = self._in_flight.get(key)
            if leader is None:
                break
            try:
                return await asyncio.shield(leader)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not leader.cancelled() or (task is not None and task.cancelling()):
                    raise
                # the caller that ran espeak-ng was canceled, not us: run it ourselves
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            pcm = await self._run(*key)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without followers
            raise
        else:
            self._cache.put(key, pcm)
            future.set_result(pcm)
            return pcm
        finally:
            del self._in_flight[key]

    async def _run(self, text: str, voice: EspeakVoice) -> bytes:
        fd, name = tempfile.mkstemp(prefix="switchboard-tts-", suffix=".wav")
        os.close(fd)
        path = Path(name)
        try:
            self.runs += 1
            process = await asyncio.create_subprocess_exec(
                self._executable,
                *("-w", name, "-v", voice.voice, "-s", str(voice.words_per_minute), "--stdin"),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                async with asyncio.timeout(self._timeout):
                    _, stderr = await process.communicate(text.encode())
            except TimeoutError:
                raise SpeechSynthesisError(
                    f"espeak-ng took longer than {self._timeout} s"
                ) from None
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            if process.returncode != 0:
                message = stderr.decode(errors="replace").strip()
                raise SpeechSynthesisError(f"espeak-ng exited {process.returncode}: {message}")
            data = await asyncio.to_thread(path.read_bytes)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)  # a local unlink; not worth a thread hop
        return await asyncio.to_thread(wav_to_pcm, data)


def wav_to_pcm(data: bytes) -> bytes:
    """espeak-ng's WAV (16-bit mono, 22,050 Hz) as 48 kHz PCM."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            if wav.getsampwidth() != SAMPLE_BYTES or wav.getnchannels() != 1:
                raise SpeechSynthesisError("espeak-ng wrote a WAV that is not 16-bit mono")
            rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise SpeechSynthesisError(f"espeak-ng wrote an unreadable WAV: {exc}") from exc
    return resample(pcm, rate)
