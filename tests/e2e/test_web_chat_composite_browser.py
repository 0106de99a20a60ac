"""Microsoft's UI library on Switchboard: ``@azure/communication-react``'s ``ChatComposite``
through ``createAzureCommunicationChatAdapter``, unchanged (examples/web_chat, bundled with
esbuild), two users in two Chromium contexts on the app's own origin: each sees the other's
messages, typing and reading, live over ACS's real-time channel (chat/trouter).

The closed ``@azure/communication-calling`` is never installed nor bundled: the sample's
.npmrc skips peer dependencies and esbuild resolves the import to src/no-calling-sdk.js.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
from azure.communication.chat import ChatParticipant
from playwright.sync_api import Browser, Page

from tests.e2e.web_chat_bundle import WEB_CHAT, built_bundle
from tests.e2e.web_origin import web_origin
from tests.integration.chat_clients import ChatUsers

OUTSIDE: list[str] = []  # requests the pages made beyond 127.0.0.1


def _outside(url: str) -> list[str]:
    return [] if urlsplit(url).hostname == "127.0.0.1" else [url]


CLOSED_SDKS = ("@azure/communication-calling", "@azure/communication-calling-effects")


@pytest.fixture(scope="module")
def app_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("composite")
    shutil.copy(built_bundle("composite.js"), root / "composite.js")
    shutil.copy(WEB_CHAT / "composite.html", root / "composite.html")
    with web_origin(root) as origin:
        yield origin


def test_the_closed_calling_sdk_is_neither_locked_installed_nor_bundled() -> None:
    lock = json.loads((WEB_CHAT / "package-lock.json").read_text())
    locked = {path.removeprefix("node_modules/") for path in lock["packages"]}
    assert not locked & set(CLOSED_SDKS)
    assert "@azure/communication-react" in locked
    for name in CLOSED_SDKS:
        assert not (WEB_CHAT / "node_modules" / name).exists()
    built_bundle("composite.js")
    inputs = json.loads((WEB_CHAT / "dist" / "composite.inputs.json").read_text())
    assert "src/no-calling-sdk.js" in inputs  # the imports resolved to our stand-in
    assert not [path for path in inputs if "communication-calling" in path]
    assert [path for path in inputs if "@azure/communication-react" in path]


def open_composite(
    browser: Browser, origin: str, endpoint: str, token: str, user_id: str, name: str, thread: str
) -> Page:
    page = browser.new_context().new_page()
    # The page reaches nothing but the two loopback origins (no fonts from a CDN, say).
    page.on("request", lambda request: OUTSIDE.extend(_outside(request.url)))
    query = urlencode(
        {
            "endpoint": endpoint,
            "token": token,
            "userId": user_id,
            "displayName": name,
            "threadId": thread,
        }
    )
    page.goto(f"{origin}/composite.html?{query}")
    page.get_by_role("textbox").first.wait_for(timeout=30_000)
    page.wait_for_function("window.adapter !== undefined", timeout=30_000)
    return page


def writes(page: Page, name: str, text: str, *, to: Page, reader_id: str) -> None:
    """``name`` types ``text`` (the other page shows them typing), sends it (it shows there),
    and the reader's composite marks it read (the writer's learns it live)."""
    box = page.get_by_role("textbox").first
    box.click()
    box.press_sequentially(text, delay=30)
    to.get_by_text(f"{name} is typing").wait_for(timeout=30_000)
    box.press("Enter")
    to.get_by_text(text, exact=True).wait_for(timeout=30_000)
    page.wait_for_function(
        """([readerId, text]) => {
          const thread = window.adapter.getState().thread;
          const message = Object.values(thread.chatMessages)
            .find((m) => m.content?.message === text);
          return message && thread.readReceipts.some((r) =>
            r.sender.communicationUserId === readerId && r.chatMessageId === message.id);
        }""",
        arg=[reader_id, text],
        timeout=30_000,
    )


def test_two_users_chat_and_see_each_other_typing_and_reading(
    browser: Browser, app_origin: str, users: ChatUsers
) -> None:
    alice, alice_token = users.new()
    bob, bob_token = users.new()
    created = (
        users.client(alice_token)
        .create_chat_thread(
            "Composite",
            thread_participants=[
                ChatParticipant(identifier=alice, display_name="Alice"),
                ChatParticipant(identifier=bob, display_name="Bob"),
            ],
        )
        .chat_thread
    )
    assert created is not None
    endpoint = users.server.endpoint
    alice_page = open_composite(
        browser, app_origin, endpoint, alice_token, alice.raw_id, "Alice", created.id
    )
    bob_page = open_composite(
        browser, app_origin, endpoint, bob_token, bob.raw_id, "Bob", created.id
    )

    writes(alice_page, "Alice", "hello bob", to=bob_page, reader_id=bob.raw_id)
    writes(bob_page, "Bob", "hi alice", to=alice_page, reader_id=alice.raw_id)
    participants = alice_page.evaluate(
        "Object.values(window.adapter.getState().thread.participants).map((p) => p.displayName)"
    )
    assert sorted(participants) == ["Alice", "Bob"]
    assert OUTSIDE == []
