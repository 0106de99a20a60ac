"""ACS's own real-time channel for chat (chat/trouter, docs/trouter.md), proven with the
unmodified npm browser bundle of ``@azure/communication-chat`` 1.6.0 in Chromium.

The page lives on its own origin (tests/e2e/web_origin.py) and loads the SDK as a web app
bundles it (examples/web_chat, esbuild). It reaches the server through a TCP link the test can
cut (tests/e2e/cuttable_link.py), so "a killed socket" and "offline for 10 s" are the network
failing, not a server hook. Changes are made by another user with the Python SDK.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.chat import ChatParticipant
from playwright.sync_api import Browser, Page

from tests.e2e.cuttable_link import CuttableLink, cuttable_link
from tests.e2e.web_chat_bundle import START_REALTIME, built_bundle
from tests.e2e.web_origin import web_origin
from tests.integration.chat_clients import ChatUsers
from tests.integration.server import RunningServer

EVENT_NAMES = [
    "chatMessageReceived",
    "chatMessageEdited",
    "chatMessageDeleted",
    "typingIndicatorReceived",
    "readReceiptReceived",
    "chatThreadCreated",
    "chatThreadPropertiesUpdated",
    "chatThreadDeleted",
    "participantsAdded",
    "participantsRemoved",
]


@pytest.fixture(scope="module")
def link(server: RunningServer) -> Iterator[CuttableLink]:
    with cuttable_link(server.port) as running:
        yield running


@pytest.fixture(scope="module")
def app_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("web-chat")
    shutil.copy(built_bundle(), root / "chat-sdk.js")
    with web_origin(root) as origin:
        yield origin


def endpoint_via(link: CuttableLink) -> str:
    return f"https://127.0.0.1:{link.port}"


def open_page(browser: Browser, app_origin: str, link: CuttableLink, token: str) -> Page:
    page = browser.new_context().new_page()
    page.on("console", lambda message: print("[page]", message.text))
    page.goto(f"{app_origin}/index.html")  # "?log": the SDK's verbose log
    assert page.evaluate(START_REALTIME, [endpoint_via(link), token, EVENT_NAMES]) == "started"
    wait_for(page, "realTimeNotificationConnected")
    return page


def records(page: Page, name: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate("window.records")
    return [r for r in found if name is None or r["name"] == name]


def wait_for(
    page: Page, name: str, count: int = 1, timeout_ms: int = 30_000
) -> list[dict[str, Any]]:
    page.wait_for_function(
        "([name, count]) => window.records.filter((r) => r.name === name).length >= count",
        arg=[name, count],
        timeout=timeout_ms,
    )
    return records(page, name)


def test_the_unmodified_sdk_receives_every_chat_event(
    browser: Browser, app_origin: str, link: CuttableLink, users: ChatUsers
) -> None:
    bob, bob_token = users.new()
    alice, alice_token = users.new()
    carol, _ = users.new()
    page = open_page(browser, app_origin, link, bob_token)

    alice_chat = users.client(alice_token)
    created = alice_chat.create_chat_thread(
        "Trouter", thread_participants=[ChatParticipant(identifier=bob, display_name="Bob")]
    ).chat_thread
    assert created is not None
    thread = alice_chat.get_chat_thread_client(created.id)
    [thread_created] = wait_for(page, "chatThreadCreated")
    assert thread_created["event"]["threadId"] == created.id
    assert thread_created["event"]["properties"]["topic"] == "Trouter"
    members = {p["id"]["communicationUserId"] for p in thread_created["event"]["participants"]}
    assert members == {alice.raw_id, bob.raw_id}

    message_id = thread.send_message("hello bob", sender_display_name="Alice").id
    [received] = wait_for(page, "chatMessageReceived")
    assert received["event"]["message"] == "hello bob"
    assert received["event"]["id"] == message_id
    assert received["event"]["senderDisplayName"] == "Alice"
    assert received["event"]["sender"]["communicationUserId"] == alice.raw_id
    assert received["event"]["recipient"]["communicationUserId"] == bob.raw_id

    thread.update_message(message_id, content="hello again")
    [edited] = wait_for(page, "chatMessageEdited")
    assert edited["event"]["message"] == "hello again" and edited["event"]["editedOn"]

    thread.send_typing_notification(sender_display_name="Alice")
    [typing] = wait_for(page, "typingIndicatorReceived")
    assert typing["event"]["sender"]["communicationUserId"] == alice.raw_id

    thread.send_read_receipt(message_id)
    [receipt] = wait_for(page, "readReceiptReceived")
    assert receipt["event"]["chatMessageId"] == message_id

    thread.update_topic("Renamed")
    [updated] = wait_for(page, "chatThreadPropertiesUpdated")
    assert updated["event"]["properties"]["topic"] == "Renamed"

    thread.add_participants([ChatParticipant(identifier=carol, display_name="Carol")])
    [added] = wait_for(page, "participantsAdded")
    assert added["event"]["participantsAdded"][0]["displayName"] == "Carol"

    thread.remove_participant(carol)
    [removed] = wait_for(page, "participantsRemoved")
    assert removed["event"]["participantsRemoved"][0]["id"]["communicationUserId"] == carol.raw_id

    thread.delete_message(message_id)
    [deleted] = wait_for(page, "chatMessageDeleted")
    assert deleted["event"]["id"] == message_id

    alice_chat.delete_chat_thread(created.id)
    [thread_deleted] = wait_for(page, "chatThreadDeleted")
    assert thread_deleted["event"]["threadId"] == created.id
    page.close()


def received_texts(page: Page) -> list[str]:
    return [r["event"]["message"] for r in records(page, "chatMessageReceived")]


def wait_for_distinct(page: Page, count: int, timeout_ms: int = 30_000) -> None:
    """Until ``count`` different messages arrived: delivery is at least once, so a count of
    events could be reached by repeats alone."""
    page.wait_for_function(
        """(count) => new Set(window.records.filter((r) => r.name === "chatMessageReceived")
              .map((r) => r.event.message)).size >= count""",
        arg=count,
        timeout=timeout_ms,
    )


# The SDK backs off between failed attempts, up to 50 s (its maxBackoffMs): after 10 s of
# refused connections its next attempt may be that far away.
RECONNECT_MS = 75_000


def test_a_killed_socket_and_ten_seconds_offline_lose_no_message(
    browser: Browser, app_origin: str, link: CuttableLink, users: ChatUsers
) -> None:
    bob, bob_token = users.new()
    _, alice_token = users.new()
    page = open_page(browser, app_origin, link, bob_token)
    alice_chat = users.client(alice_token)
    created = alice_chat.create_chat_thread(
        "Offline", thread_participants=[ChatParticipant(identifier=bob)]
    ).chat_thread
    assert created is not None
    thread = alice_chat.get_chat_thread_client(created.id)
    sent: list[str] = []

    def send(count: int) -> None:
        for _ in range(count):
            sent.append(f"m{len(sent)}")
            thread.send_message(sent[-1])

    send(3)
    wait_for_distinct(page, 3)

    link.cut()  # the socket dies under the client; messages go on meanwhile
    send(5)
    wait_for(page, "realTimeNotificationConnected", 2, RECONNECT_MS)
    wait_for_distinct(page, len(sent), RECONNECT_MS)

    link.offline()  # 10 s without a network: every attempt to reconnect is refused
    page.wait_for_timeout(1_000)
    send(5)
    page.wait_for_timeout(9_000)
    send(2)
    link.online()
    wait_for_distinct(page, len(sent), RECONNECT_MS)
    send(1)  # and live again after the catch-up
    wait_for_distinct(page, len(sent))
    texts = received_texts(page)
    assert [t for i, t in enumerate(texts) if t not in texts[:i]] == sent  # none lost, in order
    assert records(page, "realTimeNotificationDisconnected")
    page.close()
