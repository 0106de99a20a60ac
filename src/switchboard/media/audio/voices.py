"""Which espeak-ng voice speaks for an ACS voice request (locale, voice kind, voice name).

    VoiceRequest(locale, kind, name, rate) ──espeak_voice()──▶ EspeakVoice("en-us+f3", 175 wpm)

* A known Azure neural voice name (``en-US-NancyNeural``) picks its language and gender; an
  unknown name is read for its locale prefix (``xx-YY-…``) and falls back to that locale's
  default.
* A locale picks an espeak language (``LOCALES``); an unlisted locale tries its bare language
  (``de-AT`` → ``de``), then ``en-us``.
* ``VoiceKind.FEMALE`` adds a female variant (``+f3``); male or unspecified keeps espeak's
  base voice, which is male.
* ``rate`` multiplies espeak's 175 words per minute, clamped to 80-450.
The table is documented in docs/media-audio.md; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class VoiceKind(Enum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class VoiceRequest:
    """What Call Automation asks for: ``TextSource.sourceLocale``/``voiceKind``/``voiceName``,
    or an SSML ``<voice name>``/``xml:lang``; ``rate`` is a multiplier (SSML ``<prosody>``)."""

    locale: str = "en-US"
    kind: VoiceKind | None = None
    name: str | None = None
    rate: float = 1.0


@dataclass(frozen=True, slots=True)
class EspeakVoice:
    voice: str  # espeak-ng's -v argument: language[+variant]
    words_per_minute: int


DEFAULT_WPM = 175
MIN_WPM, MAX_WPM = 80, 450
FALLBACK_LANGUAGE = "en-us"

# ACS locale (lower case) → espeak-ng language
LOCALES: dict[str, str] = {
    "en-us": "en-us",
    "en-gb": "en-gb",
    "en-au": "en-gb",
    "en-ca": "en-us",
    "en-in": "en-gb",
    "en-ie": "en-gb",
    "de-de": "de",
    "de-at": "de",
    "de-ch": "de",
    "fr-fr": "fr-fr",
    "fr-ca": "fr-fr",
    "fr-be": "fr-be",
    "fr-ch": "fr-ch",
    "es-es": "es",
    "es-mx": "es-419",
    "es-us": "es-419",
    "it-it": "it",
    "pt-br": "pt-br",
    "pt-pt": "pt",
    "nl-nl": "nl",
    "sv-se": "sv",
    "da-dk": "da",
    "nb-no": "nb",
    "fi-fi": "fi",
    "pl-pl": "pl",
    "ru-ru": "ru",
    "ja-jp": "ja",
    "ko-kr": "ko",
    "zh-cn": "cmn",
    "zh-hk": "yue",
    "hi-in": "hi",
    "ar-sa": "ar",
    "tr-tr": "tr",
}
# bare languages espeak-ng has (for locales not listed above)
# fmt: off
LANGUAGES = frozenset({
    "af", "ar", "bg", "ca", "cs", "cy", "da", "de", "el", "es", "et", "fi", "ga", "he", "hi",
    "hr", "hu", "id", "is", "it", "ja", "ko", "lt", "lv", "mk", "ms", "nb", "nl", "pl", "pt",
    "ro", "ru", "sk", "sl", "sq", "sr", "sv", "sw", "ta", "th", "tr", "uk", "ur", "vi",
})
# fmt: on
_VARIANTS = {VoiceKind.FEMALE: "+f3"}

# Azure neural voice names ACS apps use → (locale, kind)
VOICE_NAMES: dict[str, tuple[str, VoiceKind]] = {
    "en-US-JennyNeural": ("en-US", VoiceKind.FEMALE),
    "en-US-AriaNeural": ("en-US", VoiceKind.FEMALE),
    "en-US-NancyNeural": ("en-US", VoiceKind.FEMALE),
    "en-US-AvaNeural": ("en-US", VoiceKind.FEMALE),
    "en-US-EmmaNeural": ("en-US", VoiceKind.FEMALE),
    "en-US-GuyNeural": ("en-US", VoiceKind.MALE),
    "en-US-DavisNeural": ("en-US", VoiceKind.MALE),
    "en-US-TonyNeural": ("en-US", VoiceKind.MALE),
    "en-US-AndrewNeural": ("en-US", VoiceKind.MALE),
    "en-US-BrianNeural": ("en-US", VoiceKind.MALE),
    "en-GB-SoniaNeural": ("en-GB", VoiceKind.FEMALE),
    "en-GB-LibbyNeural": ("en-GB", VoiceKind.FEMALE),
    "en-GB-RyanNeural": ("en-GB", VoiceKind.MALE),
    "de-DE-KatjaNeural": ("de-DE", VoiceKind.FEMALE),
    "de-DE-AmalaNeural": ("de-DE", VoiceKind.FEMALE),
    "de-DE-ConradNeural": ("de-DE", VoiceKind.MALE),
    "fr-FR-DeniseNeural": ("fr-FR", VoiceKind.FEMALE),
    "fr-FR-HenriNeural": ("fr-FR", VoiceKind.MALE),
    "es-ES-ElviraNeural": ("es-ES", VoiceKind.FEMALE),
    "es-ES-AlvaroNeural": ("es-ES", VoiceKind.MALE),
    "es-MX-DaliaNeural": ("es-MX", VoiceKind.FEMALE),
    "es-MX-JorgeNeural": ("es-MX", VoiceKind.MALE),
    "it-IT-ElsaNeural": ("it-IT", VoiceKind.FEMALE),
    "it-IT-DiegoNeural": ("it-IT", VoiceKind.MALE),
    "pt-BR-FranciscaNeural": ("pt-BR", VoiceKind.FEMALE),
    "pt-BR-AntonioNeural": ("pt-BR", VoiceKind.MALE),
    "nl-NL-ColetteNeural": ("nl-NL", VoiceKind.FEMALE),
    "nl-NL-MaartenNeural": ("nl-NL", VoiceKind.MALE),
    "ja-JP-NanamiNeural": ("ja-JP", VoiceKind.FEMALE),
    "ja-JP-KeitaNeural": ("ja-JP", VoiceKind.MALE),
    "zh-CN-XiaoxiaoNeural": ("zh-CN", VoiceKind.FEMALE),
    "zh-CN-YunxiNeural": ("zh-CN", VoiceKind.MALE),
}
_NAMES_FOLDED = {name.lower(): value for name, value in VOICE_NAMES.items()}


def espeak_language(locale: str) -> str:
    folded = locale.strip().lower().replace("_", "-")
    if folded in LOCALES:
        return LOCALES[folded]
    language = folded.split("-", 1)[0]
    return language if language in LANGUAGES else FALLBACK_LANGUAGE


def named_kind(name: str | None) -> VoiceKind | None:
    """The gender of a known Azure voice name."""
    known = _NAMES_FOLDED.get(name.strip().lower()) if name else None
    return known[1] if known else None


def espeak_voice(request: VoiceRequest) -> EspeakVoice:
    locale, kind = request.locale, request.kind
    if request.name:
        known = _NAMES_FOLDED.get(request.name.strip().lower())
        if known is not None:
            locale, kind = known
        else:
            parts = request.name.split("-")
            if len(parts) >= 3 and len(parts[0]) == 2:  # "xx-YY-SomeNeural": its locale
                locale = f"{parts[0]}-{parts[1]}"
    variant = _VARIANTS.get(kind, "") if kind is not None else ""
    wpm = min(MAX_WPM, max(MIN_WPM, round(DEFAULT_WPM * request.rate)))
    return EspeakVoice(espeak_language(locale) + variant, wpm)
