"""Country names and calling codes, for listings and operator information (no external data)."""

from __future__ import annotations

# ISO 3166-1 alpha-2 -> (English name, country calling code)
COUNTRIES: dict[str, tuple[str, str]] = {
    "AT": ("Austria", "43"),
    "AU": ("Australia", "61"),
    "BE": ("Belgium", "32"),
    "BR": ("Brazil", "55"),
    "CA": ("Canada", "1"),
    "CH": ("Switzerland", "41"),
    "CN": ("China", "86"),
    "DE": ("Germany", "49"),
    "DK": ("Denmark", "45"),
    "ES": ("Spain", "34"),
    "FI": ("Finland", "358"),
    "FR": ("France", "33"),
    "GB": ("United Kingdom", "44"),
    "IE": ("Ireland", "353"),
    "IN": ("India", "91"),
    "IT": ("Italy", "39"),
    "JP": ("Japan", "81"),
    "MX": ("Mexico", "52"),
    "NL": ("Netherlands", "31"),
    "NO": ("Norway", "47"),
    "NZ": ("New Zealand", "64"),
    "PL": ("Poland", "48"),
    "PR": ("Puerto Rico", "1"),
    "PT": ("Portugal", "351"),
    "SE": ("Sweden", "46"),
    "SG": ("Singapore", "65"),
    "US": ("United States", "1"),
    "ZA": ("South Africa", "27"),
}


def country_name(code: str) -> str:
    return COUNTRIES.get(code, (code, ""))[0]


def country_of(phone_number: str) -> str | None:
    """The country an E.164 number most likely belongs to (+1 is taken as US)."""
    digits = phone_number.removeprefix("+")
    best: tuple[int, str] | None = None
    for code, (_, calling) in COUNTRIES.items():
        if digits.startswith(calling) and (best is None or len(calling) > best[0]):
            if calling == "1" and code != "US":
                continue
            best = (len(calling), code)
    return None if best is None else best[1]


def formats(phone_number: str, country: str | None) -> tuple[str, str]:
    """(national, international) renderings; NANP gets its usual punctuation."""
    digits = phone_number.removeprefix("+")
    calling = COUNTRIES.get(country or "", ("", ""))[1]
    if calling == "1" and len(digits) == 11:
        area, exchange, line = digits[1:4], digits[4:7], digits[7:]
        return f"({area}) {exchange}-{line}", f"+1 {area}-{exchange}-{line}"
    if calling and digits.startswith(calling):
        rest = digits[len(calling) :]
        return f"0{rest}", f"+{calling} {rest}"
    return digits, phone_number
