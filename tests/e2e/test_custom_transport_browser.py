"""Issue 22's custom transport: examples/cursors, two Chromium pages exchanging cursor
positions over a plain RTCPeerConnection data channel forced through Switchboard's coturn
(``iceTransportPolicy: "relay"``), with TURN credentials the app's server took from the
Network Traversal API. The proof: the data arrives, both pages' selected candidate pairs are
relay ↔ relay, and what the page was given holds no access key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from examples.cursors.__main__ import READY_PREFIX
from playwright.sync_api import Browser, Page

from tests.e2e.calling_peers import ExampleProcess
from tests.integration.server import RunningServer, start_server

SELECTED_PAIR = """async () => {
  const stats = new Map();
  (await window.cursors.pc.getStats()).forEach((s) => stats.set(s.id, s));
  const transport = [...stats.values()].find((s) => s.type === "transport");
  const pair = stats.get(transport.selectedCandidatePairId);
  return [stats.get(pair.localCandidateId).candidateType,
          stats.get(pair.remoteCandidateId).candidateType];
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("cursors"), "--turn", env={"SWITCHBOARD_TURN_PORT": "0"}
    )
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(scope="module")
def cursors_app(server: RunningServer) -> Iterator[str]:
    args = ["--port", "0", "--switchboard", server.connection_string, "--ca", server.ca_path]
    app = ExampleProcess("examples.cursors", args, READY_PREFIX)
    yield app.ready
    app.stop()
    print("\n".join(app.output))


def open_board(browser: Browser, url: str) -> Page:
    page = browser.new_context().new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    page.goto(f"{url}/#shared")
    return page


def test_two_browsers_share_cursors_through_turn_only(
    browser: Browser, cursors_app: str, server: RunningServer
) -> None:
    first, second = open_board(browser, cursors_app), open_board(browser, cursors_app)
    for page in (first, second):
        page.wait_for_function("window.cursors?.channel.readyState === 'open'", timeout=30_000)
    first.evaluate("window.cursors.send(0.25, 0.75)")
    second.evaluate("window.cursors.send(0.5, 0.5)")
    second.wait_for_function("window.cursors.received.length > 0")
    first.wait_for_function("window.cursors.received.length > 0")
    assert second.evaluate("window.cursors.received[0]") == {"x": 0.25, "y": 0.75}
    assert first.evaluate("window.cursors.received[0]") == {"x": 0.5, "y": 0.5}
    for page in (first, second):
        assert page.evaluate(SELECTED_PAIR) == ["relay", "relay"]
    given = first.evaluate("fetch('/api/relay').then((r) => r.text())")
    access_key = server.connection_string.split("accesskey=", 1)[1]
    assert access_key not in given and "accesskey" not in given.lower()
    assert all(s["username"] and s["credential"] for s in json.loads(given)["iceServers"])
    for page in (first, second):
        page.context.close()
