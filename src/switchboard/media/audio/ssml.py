"""A documented SSML subset (docs/media-audio.md) → segments of speech and pauses → PCM.

    ssmlText ─▶ refuse DOCTYPE/ENTITY (no entity expansion, no external fetches) ─▶ XML parse
             ─▶ walk: <speak> (root; xml:lang), <voice name|xml:lang|gender>, <lang xml:lang>,
                <prosody rate> (nested rates multiply), <break time|strength>, <p>/<s>
                (segment boundaries), <say-as> (its text) — any other element: its text is
                spoken, the tag ignored
             ─▶ [SpokenText(text, VoiceRequest) | Pause(ms)] ─render─▶ TextToSpeech ─▶ PCM

Errors are ``SsmlError`` (400 InvalidSsml): malformed XML, a root other than <speak>, a
DOCTYPE, an unreadable break time or rate, a document over ``SSML_MAX_CHARS``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from switchboard.media.audio.errors import SsmlError
from switchboard.media.audio.frames import silence
from switchboard.media.audio.tts import TEXT_SOURCE_MAX_CHARS, TextToSpeech
from switchboard.media.audio.voices import VoiceKind, VoiceRequest, named_kind

SSML_MAX_CHARS = 5000
MAX_BREAK_MS = 20_000
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Azure's break strengths (ms); a <break/> with neither attribute is "medium".
BREAK_STRENGTHS = {
    "none": 0,
    "x-weak": 250,
    "weak": 500,
    "medium": 750,
    "strong": 1000,
    "x-strong": 1250,
}
RATE_WORDS = {
    "x-slow": 0.5,
    "slow": 0.64,
    "medium": 1.0,
    "default": 1.0,
    "fast": 1.55,
    "x-fast": 2.0,
}
MIN_RATE, MAX_RATE = 0.25, 4.0

# "<!" starts a DOCTYPE or ENTITY declaration unless it opens a comment or CDATA section.
_DECLARATION = re.compile(r"<!(?!--|\[CDATA\[)")
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class SpokenText:
    text: str
    voice: VoiceRequest


@dataclass(frozen=True, slots=True)
class Pause:
    ms: int


Segment = SpokenText | Pause


def parse_ssml(ssml: str, default: VoiceRequest | None = None) -> list[Segment]:
    if len(ssml) > SSML_MAX_CHARS:
        raise SsmlError(f"SSML of {len(ssml)} characters is over the limit of {SSML_MAX_CHARS}")
    if _DECLARATION.search(ssml):
        raise SsmlError("SSML with a DOCTYPE or entity declaration is refused")
    try:
        root = ET.fromstring(ssml)
    except ET.ParseError as exc:
        raise SsmlError(f"SSML is not well-formed XML: {exc}") from exc
    if _local(root.tag) != "speak":
        raise SsmlError(f"SSML's root element is <{_local(root.tag)}>, not <speak>")
    builder = _Builder()
    builder.visit(root, default or VoiceRequest())
    return builder.segments


async def render_ssml(
    ssml: str,
    tts: TextToSpeech,
    default: VoiceRequest | None = None,
    *,
    chunk_chars: int = TEXT_SOURCE_MAX_CHARS,
) -> bytes:
    """The SSML spoken: each text segment through ``tts`` (in chunks it accepts), each pause
    as silence."""
    parts: list[bytes] = []
    for segment in parse_ssml(ssml, default):
        if isinstance(segment, Pause):
            parts.append(silence(segment.ms))
        else:
            for chunk in chunk_text(segment.text, chunk_chars):
                parts.append(await tts.synthesize(chunk, segment.voice))
    return b"".join(parts)


def chunk_text(text: str, limit: int) -> list[str]:
    """Split text at spaces into pieces of at most ``limit`` characters (a word longer than
    the limit is cut)."""
    chunks: list[str] = []
    current = ""
    for word in text.split(" "):
        while len(word) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(word[:limit])
            word = word[limit:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) > limit:
            chunks.append(current)
            current = word
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


class _Builder:
    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self._text: list[str] = []
        self._voice: VoiceRequest | None = None

    def visit(self, element: ET.Element, voice: VoiceRequest) -> None:
        tag = _local(element.tag)
        voice = self._voice_for(tag, element, voice)
        if tag == "break":
            self._flush()
            self.segments.append(Pause(_break_ms(element)))
        elif tag in ("p", "s"):
            self._flush()
        self._say(element.text, voice)
        for child in element:
            self.visit(child, voice)
            self._say(child.tail, voice)
        if tag in ("p", "s", "voice", "lang", "speak"):
            self._flush()

    def _voice_for(self, tag: str, element: ET.Element, voice: VoiceRequest) -> VoiceRequest:
        lang = element.get(XML_LANG)
        if tag in ("speak", "lang") and lang:
            # another language drops the voice name but keeps its gender
            return replace(voice, locale=lang, name=None, kind=voice.kind or named_kind(voice.name))
        if tag == "voice":
            gender = (element.get("gender") or "").lower()
            kind = VoiceKind(gender) if gender in ("male", "female") else voice.kind
            name = element.get("name") or None
            return replace(voice, locale=lang or voice.locale, kind=kind, name=name)
        if tag == "prosody" and (rate := element.get("rate")) is not None:
            return replace(voice, rate=min(MAX_RATE, max(MIN_RATE, voice.rate * _rate(rate))))
        return voice

    def _say(self, text: str | None, voice: VoiceRequest) -> None:
        if not text or not text.strip():
            if text and self._text:
                self._text.append(" ")
            return
        if voice != self._voice:
            self._flush()
            self._voice = voice
        self._text.append(text)

    def _flush(self) -> None:
        text = _SPACE.sub(" ", "".join(self._text)).strip()
        if text and self._voice is not None:
            self.segments.append(SpokenText(text, self._voice))
        self._text = []


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _break_ms(element: ET.Element) -> int:
    time = element.get("time")
    if time is not None:
        match = _TIME.match(time)
        if match is None:
            raise SsmlError(f"break time {time!r} is not like '500ms' or '2s'")
        value = float(match.group(1)) * (1 if match.group(2) == "ms" else 1000)
        return min(MAX_BREAK_MS, round(value))
    strength = element.get("strength", "medium")
    if strength not in BREAK_STRENGTHS:
        raise SsmlError(f"break strength {strength!r} is not one of {sorted(BREAK_STRENGTHS)}")
    return BREAK_STRENGTHS[strength]


def _rate(value: str) -> float:
    """SSML rate: a word (x-slow … x-fast), a relative percentage (+20%, -30%), a
    percentage of the current rate (150%) or a multiplier (1.2)."""
    value = value.strip().lower()
    if value in RATE_WORDS:
        return RATE_WORDS[value]
    try:
        if value.endswith("%"):
            number = float(value[:-1])
            return 1 + number / 100 if value[0] in "+-" else number / 100
        return float(value)
    except ValueError:
        raise SsmlError(f"prosody rate {value!r} is not a word, percentage or number") from None
