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
from tests.e2e.webapp import befriend, send_chat, sign_in
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
    yield sign_in(context, sample_app.url, "Alice")
    context.close()
    context.close()


def test_a_user_of_the_sample_app_talks_with_the_chat_bot(
    alice: Page, chatbot: ExampleProcess
) -> None:
    name, user_id, _ = chatbot.ready.split(" ")
    assert name == "Bot" and user_id.startswith("8:acs:")
    befriend(alice, "Bot")
    alice.get_by_role("button", name="Chat with Bot").click()

    send_chat(alice, "hello")
    expect(alice.locator("#messages .text")).to_have_text(
        ["hello", "Hello Alice! Say help to see what I can do."], timeout=20_000
    )
    expect(alice.locator("#messages .sender")).to_have_text(["You", "Bot"])
    send_chat(alice, "help")
    expect(alice.locator("#messages .text").last).to_have_text(HELP, timeout=20_000)
    send_chat(alice, "echo Switchboard works")
    expect(alice.locator("#messages .text").last).to_have_text("Switchboard works", timeout=20_000)
    # Each message was answered once: three questions, three answers, in order.
    expect(alice.locator("#messages .bubble")).to_have_count(6)
    expect(alice.locator("#messages .bubble.theirs .sender")).to_have_text(["Bot"] * 3)
