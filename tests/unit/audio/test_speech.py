"""Speech: espeak-ng's voice recognised as the right choice by pocketsphinx; silence is None;
end of speech from energy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from switchboard.media.audio.dtmf import tone_pcm
from switchboard.media.audio.frames import SAMPLE_RATE, resample, silence, split_frames
from switchboard.media.audio.speech import (
    Choice,
    EndOfSpeech,
    PocketsphinxRecognizer,
    VoiceActivity,
    contains_speech,
)
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.audio.tts import EspeakTextToSpeech
from switchboard.media.audio.voices import VoiceKind, VoiceRequest

pytestmark = pytest.mark.anyio

MENU = [
    Choice("Billing", ("billing", "pay my bill")),
    Choice("Sales", ("sales", "I want sales")),
    Choice("Support", ("support please", "help")),
    Choice("Operator", ("operator", "agent")),
]


@pytest.fixture(scope="module")
def recognizer() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer()


async def test_spoken_choices_are_recognised_as_their_labels(
    recognizer: PocketsphinxRecognizer,
) -> None:
    tts = EspeakTextToSpeech()
    heard = []
    for text, voice in [
        ("billing", VoiceRequest()),
        ("I want sales", VoiceRequest(kind=VoiceKind.FEMALE)),
        ("support please", VoiceRequest("en-GB")),
        ("operator", VoiceRequest()),
    ]:
        pcm = silence(300) + await tts.synthesize(text, voice) + silence(300)
        result = await recognizer.recognize_choices(pcm, MENU)
        heard.append((result.label, result.phrase) if result else None)
        assert result is None or 0.0 < result.confidence <= 1.0
    assert heard == [
        ("Billing", "billing"),
        ("Sales", "I want sales"),
        ("Support", "support please"),
        ("Operator", "operator"),
    ]


async def test_16_khz_input_is_accepted_as_well(recognizer: PocketsphinxRecognizer) -> None:
    pcm = await EspeakTextToSpeech().synthesize("operator", VoiceRequest())
    result = await recognizer.recognize_choices(resample(pcm, SAMPLE_RATE, 16_000), MENU, 16_000)
    assert result is not None and result.label == "Operator"


async def test_silence_and_tones_are_no_choice(recognizer: PocketsphinxRecognizer) -> None:
    assert await recognizer.recognize_choices(silence(2000), MENU) is None
    assert await recognizer.recognize(silence(2000)) is None


async def test_phrases_with_unknown_words_are_left_out_not_fatal(
    recognizer: PocketsphinxRecognizer,
) -> None:
    pcm = await EspeakTextToSpeech().synthesize("billing", VoiceRequest())
    choices = [Choice("Odd", ("xyzzyqq plover",)), Choice("Billing", ("billing",))]
    result = await recognizer.recognize_choices(pcm, choices)
    assert result is not None and result.label == "Billing"
    assert await recognizer.recognize_choices(pcm, [Choice("Odd", ("xyzzyqq",))]) is None


async def test_dictation_hears_something_of_clear_speech(
    recognizer: PocketsphinxRecognizer,
) -> None:
    pcm = await EspeakTextToSpeech().synthesize("hello", VoiceRequest())
    result = await recognizer.recognize(pcm)
    assert result is not None and result.text.strip() != ""


def test_importing_the_recognizer_does_not_import_portaudio() -> None:
    code = (
        "import sys, switchboard.media.audio.speech, pocketsphinx\n"
        "assert 'sounddevice' not in sys.modules, 'sounddevice was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_end_of_speech_waits_for_speech_then_for_the_silence_after_it() -> None:
    detector = EndOfSpeech(end_silence_ms=400, preroll_ms=100)
    states = [detector.feed(f) for f in split_frames(silence(500))]
    assert set(states) == {VoiceActivity.WAITING}
    assert detector.utterance() == b""
    loud = tone_pcm(DtmfTone.FIVE, duration_ms=600, gap_ms=0, level_dbfs=-20.0)
    states = [detector.feed(f) for f in split_frames(loud)]
    assert states[:2] == [VoiceActivity.WAITING, VoiceActivity.WAITING]
    assert states[-1] is VoiceActivity.SPEAKING
    states = [detector.feed(f) for f in split_frames(silence(500))]
    assert VoiceActivity.ENDED in states
    assert states.index(VoiceActivity.ENDED) == 400 // 20 - 1
    # preroll + the speech + the end silence
    assert len(detector.utterance()) == (100 + 600 + 400) * SAMPLE_RATE // 1000 * 2


def test_an_utterance_is_cut_at_its_maximum_length() -> None:
    detector = EndOfSpeech(max_utterance_ms=1000)
    loud = tone_pcm(DtmfTone.ONE, duration_ms=3000, gap_ms=0, level_dbfs=-20.0)
    states = [detector.feed(f) for f in split_frames(loud)]
    assert states[-1] is VoiceActivity.ENDED
    assert states.count(VoiceActivity.SPEAKING) < 1000 // 20


def test_a_click_is_not_speech() -> None:
    click = tone_pcm(DtmfTone.ONE, duration_ms=20, gap_ms=500, level_dbfs=-6.0)
    assert not contains_speech(click)
