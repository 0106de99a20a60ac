"""The chat bot sample (examples/chatbot) with a user of the sample web app in Chromium.

The bot runs as its README says, beside the sample app: it signs in to the sample app as "Bot",
subscribes the ChatMessageReceived events addressed to it, and answers in the thread with the
official chat SDK. Alice adds Bot as a friend in the page and writes to it; the bot's answer
reaches her page through chat's real-time channel.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from examples.chatbot.__main__ import READY_PREFIX
from examples.chatbot.replies import HELP
from playwright.sync_api import Browser, Page, expect

from tests.e2e.calling_peers import ExampleProcess, SampleApp
from tests.integration.server import RunningServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("chatbot-browser"))
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(scope="module")
def chatbot(server: RunningServer, sample_app: SampleApp) -> Iterator[ExampleProcess]:
    args = ["--switchboard", server.connection_string, "--ca", server.ca_path]
    args += ["--sample-app", sample_app.url, "--port", "0"]
    bot = ExampleProcess("examples.chatbot", args, READY_PREFIX)
    yield bot
    bot.stop()
    print("\n".join(bot.output))


@pytest.fixture
def alice(browser: Browser, sample_app: SampleApp) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    page.goto(sample_app.url)
    page.fill("#name", "Alice")
    page.click("#signin button")
    expect(page.locator("#status")).to_have_text("Ready", timeout=15_000)
    yield page
    context.close()


def test_a_user_of_the_sample_app_talks_with_the_chat_bot(
    alice: Page, chatbot: ExampleProcess
) -> None:
    name, user_id, _ = chatbot.ready.split(" ")
    assert name == "Bot" and user_id.startswith("8:acs:")
    alice.fill("#friend-name", "Bot")
    alice.click("#add-friend button")
    expect(alice.locator("#friend-Bot")).to_be_visible()
    alice.click("#friend-Bot .chat")

    alice.fill("#chat-input", "hello")
    alice.press("#chat-input", "Enter")
    expect(alice.locator("#messages li")).to_have_text(
        ["hello", "Bot: Hello Alice! Say help to see what I can do."], timeout=20_000
    )
    alice.fill("#chat-input", "help")
    alice.press("#chat-input", "Enter")
    expect(alice.locator("#messages li").last).to_have_text(f"Bot: {HELP}", timeout=20_000)
    alice.fill("#chat-input", "echo Switchboard works")
    alice.press("#chat-input", "Enter")
    expect(alice.locator("#messages li").last).to_have_text(
        "Bot: Switchboard works", timeout=20_000
    )
    # Each message was answered once: three questions, three answers, in order.
    expect(alice.locator("#messages li")).to_have_count(6)
