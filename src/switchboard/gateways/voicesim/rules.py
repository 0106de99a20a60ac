"""How a virtual phone answers a call (its own module: ``switchboard sim call rules`` offers
these choices without importing the phones' media)."""

from __future__ import annotations

from enum import StrEnum


class AnswerRule(StrEnum):
    AUTO = "auto"  # answers after answer_after_ms
    MANUAL = "manual"  # rings until answered through the API
    NEVER = "never"  # rings until the caller gives up
    BUSY = "busy"  # 486
    DECLINE = "decline"  # 603
