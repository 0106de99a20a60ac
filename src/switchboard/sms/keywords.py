"""Opt-out keywords, as US carriers (CTIA) require of every sender number.

An inbound message whose whole text (trimmed, any case) is a keyword changes the handset's
opt-out state for the number it was sent to, and gets an automatic answer from that number.
"""

from __future__ import annotations

from enum import StrEnum


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


_KEYWORDS = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"),
        Keyword.STOP,
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP", "OPTIN"), Keyword.START),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}

REPLIES = {
    Keyword.STOP: "You have been unsubscribed and will receive no more messages from this "
    "number. Reply START to resubscribe.",
    Keyword.START: "You have been resubscribed to messages from this number. Reply STOP to "
    "unsubscribe.",
    Keyword.HELP: "Reply STOP to unsubscribe from messages from this number, START to resubscribe.",
}


def keyword_of(text: str) -> Keyword | None:
    return _KEYWORDS.get(text.strip().rstrip(".!").upper())
