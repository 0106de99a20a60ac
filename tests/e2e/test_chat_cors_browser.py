"""A web app on its own origin calls the chat REST API from Chromium with a user token: CORS
(http/cors.py) for real, with the operator's list of allowed origins.

One server allows exactly one origin (``SWITCHBOARD_CORS_ALLOWED_ORIGINS``); a page there
calls the API with ``fetch`` and with the unmodified npm ``@azure/communication-chat`` (its
browser build, through an import map: tests/e2e/web_origin.py); a page on a second origin is
refused by the browser. Users and tokens come from the Python identity SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.web_origin import web_origin
from tests.integration.chat_clients import ChatUsers
from tests.integration.server import RunningServer, start_server


@pytest.fixture(scope="module")
def app_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with web_origin(tmp_path_factory.mktemp("app")) as origin:
        yield origin


@pytest.fixture(scope="module")
def other_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with web_origin(tmp_path_factory.mktemp("other")) as origin:
        yield origin


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, app_origin: str) -> Iterator[RunningServer]:
    """Overrides conftest's: this server allows the app's origin and no other."""
    env = {"SWITCHBOARD_CORS_ALLOWED_ORIGINS": app_origin}
    running = start_server(tmp_path_factory.mktemp("switchboard"), env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


def page_at(browser: Browser, origin: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{origin}/index.html")
    return page


FETCH_CHAT = """
async ([endpoint, token]) => {
  const version = "api-version=2025-03-15";
  const headers = {
    Authorization: `Bearer ${token}`,
    "Content-Type": "application/json",
    "x-ms-client-request-id": crypto.randomUUID(),
    "repeatability-request-id": crypto.randomUUID(),
    "repeatability-first-sent": new Date().toUTCString(),
  };
  const created = await fetch(`${endpoint}/chat/threads?${version}`, {
    method: "POST", headers,
    body: JSON.stringify({ topic: "From the browser", metadata: { page: "app" } }),
  });
  const thread = (await created.json()).chatThread;
  const path = `${endpoint}/chat/threads/${encodeURIComponent(thread.id)}`;
  const patched = await fetch(`${path}?${version}`, {
    method: "PATCH", headers: { ...headers, "Content-Type": "application/merge-patch+json" },
    body: JSON.stringify({ metadata: { step: "2" } }),
  });
  const sent = await fetch(`${path}/messages?${version}`, {
    method: "POST", headers, body: JSON.stringify({ content: "hello" }),
  });
  const listed = await (await fetch(`${path}/messages?${version}`, { headers })).json();
  const me = await fetch(`${endpoint}/me`, { headers: { Authorization: `Bearer ${token}` } });
  const refused = await fetch(`${endpoint}/me`);  // no token: an ACS error the page can read
  return {
    created: created.status,
    location: created.headers.get("location"),
    metadata: (await (await fetch(`${path}?${version}`, { headers })).json()).metadata,
    patched: patched.status,
    sent: sent.status,
    messageLocation: sent.headers.get("location"),
    messages: listed.value.map((m) => [m.type, m.sequenceId]),
    me: me.status,
    refused: [refused.status, (await refused.json()).error.code],
  };
}
"""


def test_a_page_on_an_allowed_origin_uses_the_chat_rest_api_with_fetch(
    browser: Browser, app_origin: str, users: ChatUsers
) -> None:
    _, token = users.new()
    page = page_at(browser, app_origin)
    result: dict[str, Any] = page.evaluate(FETCH_CHAT, [users.server.endpoint, token])
    assert result["created"] == 201 and result["patched"] == 204 and result["sent"] == 201
    assert result["location"].startswith(f"{users.server.endpoint}/chat/threads/19%3A")
    assert result["messageLocation"].startswith(result["location"] + "/messages/")
    assert result["metadata"] == {"page": "app", "step": "2"}
    assert result["messages"] == [["text", "3"], ["topicUpdated", "2"], ["participantAdded", "1"]]
    assert result["me"] == 200
    assert result["refused"] == [401, "Unauthorized"]


BLOCKED = """
async ([endpoint, token]) => {
  try {
    await fetch(`${endpoint}/chat/threads?api-version=2025-03-15`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    return "answered";
  } catch (error) {
    return `blocked: ${error.name}`;
  }
}
"""


def test_a_page_on_another_origin_is_blocked_by_the_browser(
    browser: Browser, other_origin: str, users: ChatUsers
) -> None:
    _, token = users.new()
    page = page_at(browser, other_origin)
    assert page.evaluate(BLOCKED, [users.server.endpoint, token]) == "blocked: TypeError"


SDK_CHAT = """
async ([endpoint, aliceToken, bobId]) => {
  const { ChatClient } = await import("@azure/communication-chat");
  const { AzureCommunicationTokenCredential } = await import("@azure/communication-common");
  const chat = new ChatClient(endpoint, new AzureCommunicationTokenCredential(aliceToken));
  const { chatThread } = await chat.createChatThread(
    { topic: "SDK in the browser" },
    {
      metadata: { from: "chromium" },
      retentionPolicy: { kind: "threadCreationDate", deleteThreadAfterDays: 60 },
      participants: [{ id: { communicationUserId: bobId }, displayName: "Bob" }],
    },
  );
  const thread = chat.getChatThreadClient(chatThread.id);
  const { id } = await thread.sendMessage({ content: "hi from the SDK" }, { metadata: { n: "1" } });
  await thread.updateProperties({ topic: "Renamed", metadata: { step: "2" } });
  const properties = await thread.getProperties();
  const messages = [];
  for await (const m of thread.listMessages({ maxPageSize: 2 })) {
    messages.push([m.type, m.sequenceId]);
  }
  const participants = [];
  for await (const p of thread.listParticipants()) participants.push(p.displayName ?? null);
  return {
    id,
    topic: properties.topic,
    metadata: properties.metadata,
    retentionPolicy: properties.retentionPolicy,
    messages,
    participants: participants.sort(),
  };
}
"""


def test_the_npm_chat_sdk_runs_unmodified_in_a_page_on_its_own_origin(
    browser: Browser, app_origin: str, users: ChatUsers
) -> None:
    _, token = users.new()
    bob, _ = users.new()
    page = page_at(browser, app_origin)
    result: dict[str, Any] = page.evaluate(SDK_CHAT, [users.server.endpoint, token, bob.raw_id])
    assert result["topic"] == "Renamed"
    assert result["metadata"] == {"from": "chromium", "step": "2"}
    assert result["retentionPolicy"] == {"kind": "threadCreationDate", "deleteThreadAfterDays": 60}
    # across pages of 2, following nextLink from the browser
    assert result["messages"] == [
        ["topicUpdated", "4"],
        ["text", "3"],
        ["topicUpdated", "2"],
        ["participantAdded", "1"],
    ]
    assert result["participants"] == ["Bob", None]  # Alice, the creator, has no display name
