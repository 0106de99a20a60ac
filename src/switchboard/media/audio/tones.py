"""DTMF tones: the one table of symbols, ACS names, RFC 4733 event codes and frequencies.

Everything that names a key press (the in-band detector and generator, the RFC 4733 codec, the
Call Automation wire format) goes through ``DtmfTone`` so the mappings live here only.
"""

from __future__ import annotations

from enum import Enum


class DtmfTone(Enum):
    """A DTMF key; the value is the symbol printed on the key."""

    ZERO = "0"
    ONE = "1"
    TWO = "2"
    THREE = "3"
    FOUR = "4"
    FIVE = "5"
    SIX = "6"
    SEVEN = "7"
    EIGHT = "8"
    NINE = "9"
    ASTERISK = "*"
    POUND = "#"
    A = "A"
    B = "B"
    C = "C"
    D = "D"

    @property
    def acs_name(self) -> str:
        """The name Call Automation uses on the wire (``"zero"``, ``"pound"``, ``"a"``, …)."""
        return self.name.lower()

    @classmethod
    def from_acs_name(cls, name: str) -> DtmfTone:
        """The tone an ACS name stands for (case-insensitive); ``ValueError`` if none."""
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"{name!r} is not an ACS DTMF tone name") from None

    @property
    def event_code(self) -> int:
        """RFC 4733 §3.2 event code: 0-9 the digits, 10 ``*``, 11 ``#``, 12-15 A-D."""
        return _EVENT_CODES[self]

    @classmethod
    def from_event_code(cls, code: int) -> DtmfTone | None:
        """The tone for an RFC 4733 event code; ``None`` for the non-DTMF events (16 and up)."""
        return _BY_EVENT_CODE.get(code)

    @property
    def frequencies(self) -> tuple[float, float]:
        """(low/row, high/column) frequency in Hz of the tone pair (ITU-T Q.23)."""
        return _FREQUENCIES[self]


ROW_HZ = (697.0, 770.0, 852.0, 941.0)
COLUMN_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
# The keypad, row by row: its position gives a key's frequency pair.
KEYPAD = (
    (DtmfTone.ONE, DtmfTone.TWO, DtmfTone.THREE, DtmfTone.A),
    (DtmfTone.FOUR, DtmfTone.FIVE, DtmfTone.SIX, DtmfTone.B),
    (DtmfTone.SEVEN, DtmfTone.EIGHT, DtmfTone.NINE, DtmfTone.C),
    (DtmfTone.ASTERISK, DtmfTone.ZERO, DtmfTone.POUND, DtmfTone.D),
)

_EVENT_CODES: dict[DtmfTone, int] = {tone: code for code, tone in enumerate(DtmfTone)}
_BY_EVENT_CODE: dict[int, DtmfTone] = {code: tone for tone, code in _EVENT_CODES.items()}
_FREQUENCIES: dict[DtmfTone, tuple[float, float]] = {
    tone: (ROW_HZ[r], COLUMN_HZ[c]) for r, row in enumerate(KEYPAD) for c, tone in enumerate(row)
}
