"""What the bot understands and what it answers: a handful of questions, recognised offline
by pocketsphinx with a grammar of exactly those questions (which it gets right far more often
than free dictation), and the answers as text.

    "what is the time"  → the time (UTC)
    "hello"            → a greeting
    "tell me a joke"   → a joke
    "goodbye"          → a goodbye, and the call ends
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

QUESTIONS = ("what is the time", "hello", "tell me a joke", "goodbye")
GREETING = "Hello, I am the Switchboard voice bot. Ask me what is the time, or say goodbye."
GRAMMAR = "#JSGF V1.0;\ngrammar bot;\npublic <question> = " + " | ".join(QUESTIONS) + " ;\n"


@dataclass(frozen=True)
class Answer:
    heard: str
    text: str
    hang_up: bool = False


def answer_to(question: str, *, now: datetime | None = None) -> Answer:
    if question == "what is the time":
        at = now or datetime.now(UTC)
        return Answer(question, f"It is {at:%H} {at:%M} U T C.")
    if question == "tell me a joke":
        return Answer(question, "Why did the packet cross the network? To get to the other side.")
    if question == "goodbye":
        return Answer(question, "Goodbye, and thank you for calling.", hang_up=True)
    return Answer(question, "Hello! Ask me what is the time.")


class Recognizer:
    """pocketsphinx's bundled English model, searching only QUESTIONS. One decode at a time:
    call it from one worker thread."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder  # type: ignore[import-untyped]  # no type hints

        # ("what time is it" comes back as "what time" from this model: the questions are
        # phrased so that each one is recognised whole)
        self._decoder: Any = Decoder(samprate=16000, dither=True, loglevel="FATAL")
        self._decoder.add_jsgf_string("bot", GRAMMAR)
        self._decoder.activate_search("bot")

    def question_in(self, pcm_16k: bytes) -> str | None:
        self._decoder.start_utt()
        self._decoder.process_raw(pcm_16k, full_utt=True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        text = "" if hypothesis is None else " ".join(hypothesis.hypstr.split())
        return text if text in QUESTIONS else None
