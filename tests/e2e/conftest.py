"""Fixtures for browser tests: one server and one Chromium per module, a fresh page per test.

The page is a real document of the server (``/health``) with the harness added as a module
script, so ``import "/sdk/chat.js"`` is a same-origin fetch from the real server over verified
TLS (tests/e2e/browser.py says how Chromium trusts the test CA). Two traps avoided:
- ``about:blank`` is an opaque origin with no base URL for ``/sdk/...`` imports, and its
  fetches of local resources fall under the Local Network Access checks below;
- a page Playwright fulfils itself (``page.route``) counts as public to Chromium's Local Network
  Access checks, which then block its WebSocket to 127.0.0.1
  (``net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.browser import launch_chromium, trusting_home
from tests.e2e.calling_peers import SampleApp
from tests.integration.chat_clients import ChatUsers, sync_sdk_trusting
from tests.integration.server import RunningServer, start_server

HEARTBEAT_SECONDS = 1.0  # short, so dead peers are found in tests within seconds

# Records every client signal and event as {client, name, cursor, event} in window.records.
HARNESS = """
import { ChatRealtimeClient } from "/sdk/chat.js";
const NAMES = [
  "chatMessageReceived", "chatMessageEdited", "chatMessageDeleted", "typingIndicatorReceived",
  "readReceiptReceived", "chatThreadCreated", "chatThreadPropertiesUpdated", "chatThreadDeleted",
  "participantsAdded", "participantsRemoved", "resync", "connected", "disconnected", "error",
];
window.records = [];
window.clients = {};
window.providerCalls = {};
window.ChatRealtimeClient = ChatRealtimeClient;
// openClient(key, options): options as for ChatRealtimeClient, except `tokens: [...]` makes a
// tokenProvider handing them out in turn (the last one forever), and `fake: true` uses
// window.FakeSocket. Resolves to "started" or "rejected <code>" when start() settles.
window.openClient = (key, options) => {
  const opts = { ...options };
  if (opts.tokens) {
    const tokens = opts.tokens;
    delete opts.tokens;
    window.providerCalls[key] = 0;
    opts.tokenProvider = async () => {
      window.providerCalls[key] += 1;
      return tokens.length > 1 ? tokens.shift() : tokens[0];
    };
  }
  if (opts.fake) {
    delete opts.fake;
    opts.WebSocket = window.FakeSocket;
  }
  const client = new ChatRealtimeClient(opts);
  for (const name of NAMES) {
    client.on(name, (event, meta) => {
      const copy = name === "error" ? String(event.error) : JSON.parse(JSON.stringify(event));
      window.records.push({ client: key, name, cursor: meta.cursor, event: copy });
    });
  }
  window.clients[key] = client;
  return client.start().then(() => "started", (error) => `rejected ${error.code}`);
};
// A scripted stand-in for WebSocket: the test plays the server through its methods.
window.FakeSocket = class FakeSocket {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedByClient = null;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeSocket.instances.push(this);
    setTimeout(() => {
      if (this.refuse) return this.serverClose(1006, "");
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code = 1000, reason = "") {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.closedByClient = code;
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }
  frame(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  serverClose(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
};
window.harnessReady = true;
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {"SWITCHBOARD_CHAT_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS)}
    running = start_server(tmp_path_factory.mktemp("switchboard"), env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(scope="module")
def users(server: RunningServer) -> Iterator[ChatUsers]:
    with sync_sdk_trusting(server.ca_path):
        yield ChatUsers(server)


@pytest.fixture(scope="module")
def browser(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home: Path = trusting_home(tmp_path_factory.mktemp("chromium-home"), server.ca_path)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, home)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def sample_app(server: RunningServer) -> Iterator[SampleApp]:
    """examples/sample_app as a process, beside the module's server (its README's way)."""
    app = SampleApp(server)
    yield app
    app.stop()
    print("\n".join(app.output))


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.endpoint}/health")
    page.add_script_tag(type="module", content=HARNESS)
    page.wait_for_function("window.harnessReady === true", timeout=10_000)
    yield page
    page.evaluate("Object.values(window.clients).forEach((client) => client.stop())")
    context.close()
