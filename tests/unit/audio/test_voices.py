"""ACS voice requests → espeak-ng voices (the table in docs/media-audio.md)."""

from __future__ import annotations

import subprocess

import pytest

from switchboard.media.audio.voices import (
    LOCALES,
    EspeakVoice,
    VoiceKind,
    VoiceRequest,
    espeak_voice,
)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (VoiceRequest(), EspeakVoice("en-us", 175)),
        (VoiceRequest("en-US", VoiceKind.FEMALE), EspeakVoice("en-us+f3", 175)),
        (VoiceRequest("de-DE", VoiceKind.MALE), EspeakVoice("de", 175)),
        (VoiceRequest("fr-FR", VoiceKind.FEMALE), EspeakVoice("fr-fr+f3", 175)),
        (VoiceRequest("es-ES"), EspeakVoice("es", 175)),
        (VoiceRequest(name="en-US-NancyNeural"), EspeakVoice("en-us+f3", 175)),
        (VoiceRequest("fr-FR", name="en-us-guyneural"), EspeakVoice("en-us", 175)),
        (VoiceRequest("en-US", name="de-DE-SomeNewNeural"), EspeakVoice("de", 175)),
        (VoiceRequest("it-IT", VoiceKind.FEMALE, name="Unknown"), EspeakVoice("it+f3", 175)),
        (VoiceRequest("de-AT"), EspeakVoice("de", 175)),
        (VoiceRequest("xx-YY"), EspeakVoice("en-us", 175)),
        (VoiceRequest(rate=1.5), EspeakVoice("en-us", 262)),
        (VoiceRequest(rate=0.1), EspeakVoice("en-us", 80)),
        (VoiceRequest(rate=9.0), EspeakVoice("en-us", 450)),
    ],
)
def test_voice_requests_map_to_espeak_voices(request_: VoiceRequest, expected: EspeakVoice) -> None:
    assert espeak_voice(request_) == expected


def test_every_language_in_the_locale_table_is_an_installed_espeak_voice() -> None:
    listing = subprocess.run(
        ["espeak-ng", "--voices"], check=True, capture_output=True, text=True
    ).stdout
    installed = {line.split()[1] for line in listing.splitlines()[1:]}
    assert set(LOCALES.values()) <= installed
