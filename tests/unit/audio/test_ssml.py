"""The SSML subset: segments, refusals, rendering through a TextToSpeech."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.media.audio.errors import SsmlError
from switchboard.media.audio.frames import SAMPLE_RATE, silence
from switchboard.media.audio.ssml import (
    Pause,
    SpokenText,
    chunk_text,
    parse_ssml,
    render_ssml,
)
from switchboard.media.audio.voices import VoiceKind, VoiceRequest

NS = 'xmlns="http://www.w3.org/2001/10/synthesis" version="1.0"'


def test_voices_rates_breaks_and_languages_become_segments() -> None:
    ssml = f"""<speak {NS} xml:lang="en-US">
      <voice name="en-US-JennyNeural">Hello <emphasis>there</emphasis>.<break time="500ms"/>
        <prosody rate="+50%">Press <say-as interpret-as="digits">1</say-as> for
          <prosody rate="slow">sales</prosody>.</prosody>
        <lang xml:lang="de-DE">Guten Tag</lang>
      </voice><break strength="strong"/><break/><break time="1.5s"/>Bye</speak>"""
    jenny = VoiceRequest("en-US", name="en-US-JennyNeural")
    assert parse_ssml(ssml) == [
        SpokenText("Hello there.", jenny),
        Pause(500),
        SpokenText("Press 1 for", VoiceRequest("en-US", name="en-US-JennyNeural", rate=1.5)),
        SpokenText("sales", VoiceRequest("en-US", name="en-US-JennyNeural", rate=1.5 * 0.64)),
        SpokenText(".", VoiceRequest("en-US", name="en-US-JennyNeural", rate=1.5)),
        SpokenText("Guten Tag", VoiceRequest("de-DE", VoiceKind.FEMALE)),
        Pause(1000),
        Pause(750),
        Pause(1500),
        SpokenText("Bye", VoiceRequest("en-US")),
    ]


def test_paragraphs_and_sentences_are_separate_segments() -> None:
    ssml = f"<speak {NS}><p><s>One.</s><s>Two.</s></p><p>Three.</p></speak>"
    assert [s.text for s in parse_ssml(ssml) if isinstance(s, SpokenText)] == [
        "One.",
        "Two.",
        "Three.",
    ]


def test_unknown_elements_are_ignored_but_their_text_is_spoken() -> None:
    style = '<mstts:express-as xmlns:mstts="x" style="cheerful">Hi</mstts:express-as>'
    ssml = f"<speak {NS}>{style} you</speak>"
    assert parse_ssml(ssml) == [SpokenText("Hi you", VoiceRequest())]


def test_the_default_voice_applies_until_the_document_names_one() -> None:
    default = VoiceRequest("fr-FR", VoiceKind.FEMALE)
    assert parse_ssml(f"<speak {NS}>Bonjour</speak>", default) == [SpokenText("Bonjour", default)]


@pytest.mark.parametrize(
    ("ssml", "problem"),
    [
        ("<speak>unclosed", "well-formed"),
        ("<voice>Hi</voice>", "not <speak>"),
        ('<!DOCTYPE speak [<!ENTITY a "aaaa">]><speak>&a;</speak>', "DOCTYPE"),
        ("<speak>&undefined;</speak>", "well-formed"),
        ('<speak><break time="soon"/></speak>', "break time"),
        ('<speak><break strength="huge"/></speak>', "break strength"),
        ('<speak><prosody rate="zippy">x</prosody></speak>', "prosody rate"),
        ("<speak>" + "a" * 5000 + "</speak>", "over the limit"),
    ],
)
def test_bad_ssml_is_a_typed_error(ssml: str, problem: str) -> None:
    with pytest.raises(SsmlError, match=problem):
        parse_ssml(ssml)


def test_comments_and_cdata_are_allowed() -> None:
    ssml = "<speak><!-- note --><![CDATA[a < b]]></speak>"
    assert parse_ssml(ssml) == [SpokenText("a < b", VoiceRequest())]


pieces = [*"<>/!&;=\"' ab", "speak", "break", "time", "voice", "<!--", "]]>", "&amp;"]
markup = st.lists(st.sampled_from(pieces), max_size=40).map("".join)


@given(st.one_of(markup, markup.map(lambda body: f"<speak>{body}</speak>")))
def test_any_text_parses_or_raises_only_the_ssml_error(text: str) -> None:
    with contextlib.suppress(SsmlError):
        parse_ssml(text)


@given(st.lists(st.text("ab", min_size=1, max_size=30), max_size=30), st.integers(5, 40))
def test_chunks_keep_the_words_and_respect_the_limit(words: list[str], limit: int) -> None:
    text = " ".join(words)
    chunks = chunk_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")


class FakeTextToSpeech:
    """One 10 ms "sample" per character, so the output shows what was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, VoiceRequest]] = []

    async def synthesize(self, text: str, voice: VoiceRequest) -> bytes:
        self.calls.append((text, voice))
        return b"\x01\x00" * (SAMPLE_RATE // 100) * len(text)


@pytest.mark.anyio
async def test_rendering_speaks_text_in_accepted_chunks_and_pauses_as_silence() -> None:
    tts = FakeTextToSpeech()
    long_text = " ".join(["word"] * 100)  # 499 characters
    pcm = await render_ssml(f'<speak>{long_text}<break time="200ms"/>end</speak>', tts)
    assert [len(text) for text, _ in tts.calls] == [399, 99, 3]
    assert pcm.endswith(silence(200) + b"\x01\x00" * (SAMPLE_RATE // 100) * 3)
