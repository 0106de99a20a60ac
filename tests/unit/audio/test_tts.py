"""espeak-ng text to speech: 48 kHz PCM, the text limit, the cache, shared runs."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.media.audio.errors import SpeechSynthesisError, TextTooLongError
from switchboard.media.audio.frames import SAMPLE_BYTES, duration_ms, rms_dbfs
from switchboard.media.audio.tts import EspeakTextToSpeech, PcmCache
from switchboard.media.audio.voices import EspeakVoice, VoiceKind, VoiceRequest

pytestmark = pytest.mark.anyio


async def test_text_is_spoken_as_48_khz_pcm_of_a_plausible_length() -> None:
    pcm = await EspeakTextToSpeech().synthesize("Press one for sales.", VoiceRequest())
    assert len(pcm) % SAMPLE_BYTES == 0
    assert 700 < duration_ms(pcm) < 4000
    assert rms_dbfs(pcm) > -40.0


async def test_text_that_looks_like_options_is_spoken_not_obeyed() -> None:
    pcm = await EspeakTextToSpeech().synthesize("--help -w /etc/passwd", VoiceRequest())
    assert duration_ms(pcm) > 500


async def test_a_faster_rate_gives_shorter_audio() -> None:
    tts = EspeakTextToSpeech()
    text = "Thank you for calling the help line."
    normal = await tts.synthesize(text, VoiceRequest())
    fast = await tts.synthesize(text, VoiceRequest(rate=2.0))
    assert len(fast) < 0.75 * len(normal)


async def test_text_over_the_limit_is_a_typed_error_before_any_run() -> None:
    tts = EspeakTextToSpeech()
    with pytest.raises(TextTooLongError) as caught:
        await tts.synthesize("a" * 401, VoiceRequest())
    assert caught.value.status == 400
    assert tts.runs == 0


async def test_blank_text_is_no_audio() -> None:
    assert await EspeakTextToSpeech().synthesize("  \n", VoiceRequest()) == b""


async def test_the_same_text_and_voice_is_synthesized_once() -> None:
    tts = EspeakTextToSpeech()
    voice = VoiceRequest("en-US", VoiceKind.FEMALE)
    first = await tts.synthesize("Welcome.", voice)
    again = await tts.synthesize("Welcome.", VoiceRequest(name="en-US-JennyNeural"))
    other = await tts.synthesize("Welcome.", VoiceRequest("de-DE"))
    assert again == first
    assert other != first
    assert tts.runs == 2


async def test_concurrent_requests_for_one_prompt_share_one_run() -> None:
    tts = EspeakTextToSpeech()
    results = await asyncio.gather(
        *(tts.synthesize("Please hold.", VoiceRequest()) for _ in range(20))
    )
    assert tts.runs == 1
    assert len(set(results)) == 1


async def test_a_failing_engine_is_a_speech_synthesis_error() -> None:
    tts = EspeakTextToSpeech(executable="false")
    with pytest.raises(SpeechSynthesisError, match="exited 1"):
        await tts.synthesize("hello", VoiceRequest())


def test_the_cache_evicts_the_least_recently_used_to_stay_within_its_bytes() -> None:
    cache = PcmCache(max_bytes=10)
    keys = [(str(i), EspeakVoice("en-us", 175)) for i in range(3)]
    cache.put(keys[0], b"aaaa")
    cache.put(keys[1], b"bbbb")
    assert cache.get(keys[0]) == b"aaaa"  # 0 is now the most recent
    cache.put(keys[2], b"cccc")
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) == b"aaaa"
    assert cache.size == 8
    cache.put(keys[1], b"x" * 11)  # larger than the whole cache: not kept
    assert len(cache) == 2
