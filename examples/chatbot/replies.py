"""What the bot says: a few commands and a friendly fallback, as plain rules (no cloud service).

"help"           → what it understands
"time"           → the time now (UTC)
"echo <text>"    → <text>
"hello" / "hi"   → a greeting with the sender's name
anything else    → it says what it heard and points at "help"
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

HELP = "I understand: help, time, echo <text>, hello."


def reply_to(text: str, sender_name: str, *, now: datetime | None = None) -> str:
    words = _plain(text)
    command, _, rest = words.partition(" ")
    if command == "help":
        return HELP
    if command == "time":
        at = now or datetime.now(UTC)
        return f"It is {at:%H:%M} UTC."
    if command == "echo" and rest:
        return _plain(text, lower=False).partition(" ")[2]
    if command in ("hello", "hi", "hey"):
        return f"Hello {sender_name or 'there'}! Say help to see what I can do."
    return f'You said "{_plain(text, lower=False)}". Say help to see what I can do.'


def _plain(text: str, *, lower: bool = True) -> str:
    """The message as words: HTML tags dropped (the web client may send HTML), spaces squeezed."""
    words = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return words.lower() if lower else words
