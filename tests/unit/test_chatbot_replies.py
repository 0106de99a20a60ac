"""The chat bot sample's rules (examples/chatbot/replies.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from examples.chatbot.replies import HELP, reply_to


def test_help_lists_what_the_bot_understands() -> None:
    assert reply_to("Help", "Alice") == HELP


def test_time_is_told_in_utc() -> None:
    assert reply_to("time", "Alice", now=datetime(2026, 12, 7, 9, 5, tzinfo=UTC)) == (
        "It is 09:05 UTC."
    )


def test_echo_keeps_the_senders_words_and_case() -> None:
    assert reply_to("echo  Hello   World", "Alice") == "Hello World"


def test_html_from_the_web_client_is_read_as_words() -> None:
    assert reply_to("<p>hello</p>", "Alice") == "Hello Alice! Say help to see what I can do."


def test_anything_else_is_repeated_with_a_pointer_to_help() -> None:
    assert reply_to("What is Switchboard?", "") == (
        'You said "What is Switchboard?". Say help to see what I can do.'
    )
