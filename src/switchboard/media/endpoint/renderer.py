"""SourceRenderer: play sources to PCM (48 kHz mono s16le), or the PlayFailed outcome why not.

    TextSource ─▶ VoiceRequest (locale, kind, name) ─▶ TextToSpeech (espeak-ng, cached)
    SsmlSource ─▶ the SSML subset ─▶ TextToSpeech per segment, pauses as silence
    FileSource ─▶ FileFetcher (SSRF-guarded https fetch, size-limited) ─▶ WAV/MP3 decode
        decoded files are cached by URI (or playSourceCacheId), bounded in bytes

Failures keep the source's index (PlayFailed.failedPlaySourceIndex) and ACS's subcodes:
8535 invalid file format, 8536 file could not be downloaded, 8565 (text/SSML could not be
spoken).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from switchboard.core.errors import SwitchboardError
from switchboard.media.audio.audiofile import decode_audio_file
from switchboard.media.audio.errors import AudioFileError, AudioInputError
from switchboard.media.audio.ssml import render_ssml
from switchboard.media.audio.tts import TextToSpeech
from switchboard.media.audio.voices import VoiceKind, VoiceRequest
from switchboard.media.endpoint.models import (
    FileSource,
    Outcome,
    PlaySource,
    SsmlSource,
    TextSource,
)

FILE_NOT_DOWNLOADED = 8536
FILE_INVALID = 8535
SPEECH_FAILED = 8565
MAX_FILE_CACHE_BYTES = 64 * 1024 * 1024


class FileFetchError(Exception):
    """The file could not be fetched (refused by the URL guard, network, status, size)."""


class FileFetcher(Protocol):
    async def fetch(self, uri: str) -> bytes:
        """The file's bytes; FileFetchError if they cannot be had."""
        ...


class PlaySourceError(Exception):
    def __init__(self, outcome: Outcome, index: int) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome
        self.index = index


class SourceRenderer:
    def __init__(
        self,
        tts: TextToSpeech,
        fetcher: FileFetcher,
        *,
        max_cache_bytes: int = MAX_FILE_CACHE_BYTES,
    ) -> None:
        self._tts = tts
        self._fetcher = fetcher
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._max_cache_bytes = max_cache_bytes

    async def render(self, sources: Sequence[PlaySource]) -> bytes:
        parts: list[bytes] = []
        for index, source in enumerate(sources):
            parts.append(await self._one(source, index))
        return b"".join(parts)

    async def _one(self, source: PlaySource, index: int) -> bytes:
        try:
            if isinstance(source, TextSource):
                return await self._tts.synthesize(source.text, voice_of(source))
            if isinstance(source, SsmlSource):
                return await render_ssml(source.ssml, self._tts)
            return await self._file(source)
        except FileFetchError as error:
            message = f"Action failed, file could not be downloaded: {error}"
            raise PlaySourceError(Outcome(400, FILE_NOT_DOWNLOADED, message), index) from None
        except AudioFileError as error:
            message = f"Action failed, invalid file format: {error.message}"
            raise PlaySourceError(Outcome(400, FILE_INVALID, message), index) from None
        except (AudioInputError, SwitchboardError) as error:
            message = f"Action failed, the text could not be spoken: {error.message}"
            raise PlaySourceError(Outcome(400, SPEECH_FAILED, message), index) from None

    async def _file(self, source: FileSource) -> bytes:
        key = source.cache_id or source.uri
        cached = self._files.get(key)
        if cached is not None:
            self._files.move_to_end(key)
            return cached
        pcm = decode_audio_file(await self._fetcher.fetch(source.uri))
        self._files[key] = pcm
        self._cached_bytes += len(pcm)
        while self._cached_bytes > self._max_cache_bytes and len(self._files) > 1:
            _, gone = self._files.popitem(last=False)
            self._cached_bytes -= len(gone)
        return pcm


def voice_of(source: TextSource) -> VoiceRequest:
    kind = None
    if source.voice_kind:
        try:
            kind = VoiceKind(source.voice_kind.lower())
        except ValueError:
            kind = None
    return VoiceRequest(locale=source.locale or "en-US", kind=kind, name=source.voice_name)
