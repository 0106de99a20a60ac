"""The browser module ``/sdk/chat.js`` in Debian's Chromium against a real server over TLS.

Changes are made with the official Python chat SDK; the page records every event and client
signal the module emits (conftest.HARNESS). The server runs with a 1 s heartbeat, so a dead
connection is noticed within about 2 s. The last tests play the server with a scripted
``FakeSocket`` to reach the cases a healthy server never produces (duplicate and stale cursors,
resync, a server that refuses every connection).

How Chromium trusts the server's local CA, and why the page is a document of the server
itself: tests/e2e/browser.py and tests/e2e/conftest.py.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from azure.communication.chat import ChatParticipant
from azure.communication.identity import CommunicationUserIdentifier
from playwright.sync_api import Page

from tests.integration.chat_clients import ChatUsers

Record = dict[str, Any]


def records(page: Page, name: str | None = None, client: str = "bob") -> list[Record]:
    found: list[Record] = page.evaluate("window.records")
    return [r for r in found if r["client"] == client and name in (None, r["name"])]


def wait_for(page: Page, name: str, count: int = 1, client: str = "bob") -> list[Record]:
    page.wait_for_function(
        "([c, n, k]) => window.records.filter((r) => r.client === c && r.name === n).length >= k",
        arg=[client, name, count],
        timeout=15_000,
    )
    return records(page, name, client)


def open_client(page: Page, options: dict[str, Any], client: str = "bob") -> str:
    """Start a client in the page; returns "started" or "rejected <close code>"."""
    result: str = page.evaluate("([k, o]) => openClient(k, o)", [client, options])
    return result


def texts(found: list[Record]) -> list[str]:
    return [r["event"]["message"] for r in found if r["name"] == "chatMessageReceived"]


def thread_with(users: ChatUsers, member: CommunicationUserIdentifier) -> tuple[str, Any]:
    """A new thread made by a new user (Alice) with ``member``; returns (alice's id, client)."""
    alice, token = users.new()
    chat = users.client(token)
    result = chat.create_chat_thread(
        "Browser", thread_participants=[ChatParticipant(identifier=member, display_name="Bob")]
    )
    return alice.raw_id, chat.get_chat_thread_client(result.chat_thread.id)


def test_message_from_the_python_sdk_arrives_with_text_sender_and_cursor(
    page: Page, users: ChatUsers
) -> None:
    bob, token = users.new()
    assert open_client(page, {"endpoint": users.server.endpoint, "token": token}) == "started"
    alice_id, thread = thread_with(users, bob)
    sent = thread.send_message("Hello from Python", sender_display_name="Alice")

    [message] = wait_for(page, "chatMessageReceived")
    [created] = records(page, "chatThreadCreated")
    event = message["event"]
    assert event["message"] == "Hello from Python"
    assert event["id"] == sent.id
    assert event["threadId"] == thread.thread_id == created["event"]["threadId"]
    assert event["sender"]["rawId"] == alice_id
    assert event["senderDisplayName"] == "Alice"
    assert event["recipient"]["rawId"] == bob.raw_id
    assert event["type"] == "text"
    assert message["cursor"].isdigit() and int(message["cursor"]) > int(created["cursor"])
    assert page.evaluate("window.clients.bob.cursor") == message["cursor"]
    assert records(page)[0]["name"] == "connected"


# "close": the page closes its own socket; the client sees the close and reconnects.
# "offline": the network goes away (frames stall, nothing is closed by the server); the
# browser's `offline` event drops the socket at once (ws-session.js), and `online` ends the
# backoff wait.
@pytest.mark.parametrize("kill", ["close", "offline"])
def test_killed_socket_reconnects_and_every_message_arrives_once_in_order(
    page: Page, users: ChatUsers, kill: str
) -> None:
    bob, token = users.new()
    options = {
        "endpoint": users.server.endpoint,
        "token": token,
        "initialReconnectDelayMs": 1000,  # at least 0.5 s of gap, to send into
        "maxReconnectDelayMs": 2000,
    }
    assert open_client(page, options) == "started"
    _, thread = thread_with(users, bob)
    expected = [f"message {i}" for i in range(12)]

    for text in expected[:3]:
        thread.send_message(text)
    wait_for(page, "chatMessageReceived", 3)
    if kill == "offline":
        page.context.set_offline(True)
        for text in expected[3:6]:
            thread.send_message(text)
        wait_for(page, "disconnected")
        for text in expected[6:9]:
            thread.send_message(text)
        page.context.set_offline(False)
    else:
        page.evaluate("window.clients.bob._socket.close()")
        for text in expected[3:9]:
            thread.send_message(text)
    wait_for(page, "connected", 2)
    for text in expected[9:]:
        thread.send_message(text)
    wait_for(page, "chatMessageReceived", len(expected))
    # Barrier: events arrive in stream order, so a duplicate would come before this one.
    thread.send_message("sentinel")
    wait_for(page, "chatMessageReceived", len(expected) + 1)

    found = records(page)
    received = [r for r in found if r["name"] == "chatMessageReceived"]
    assert texts(found) == [*expected, "sentinel"]
    cursors = [int(r["cursor"]) for r in received]
    assert cursors == sorted(set(cursors))
    names = [r["name"] for r in found]
    [disconnected] = [r["event"] for r in found if r["name"] == "disconnected"]
    assert disconnected["willReconnect"] is True
    if kill == "offline":
        assert disconnected["code"] == 1006, disconnected
    # Messages sent while disconnected came in the catch-up, before "connected" again.
    gap = texts(found[names.index("disconnected") : len(names) - names[::-1].index("connected")])
    assert gap and set(gap) <= set(expected[3:9])


def test_revoked_token_stops_the_client_with_4003(page: Page, users: ChatUsers) -> None:
    bob, token = users.new()
    options = {"endpoint": users.server.endpoint, "token": token, "initialReconnectDelayMs": 50}
    assert open_client(page, options) == "started"

    users.identity.revoke_tokens(bob)
    [disconnected] = wait_for(page, "disconnected")
    assert disconnected["event"]["code"] == 4003
    assert disconnected["event"]["willReconnect"] is False
    time.sleep(0.5)  # ten backoff delays: a reconnecting client would have tried by now
    assert len(records(page, "connected")) == 1
    assert page.evaluate("window.clients.bob._socket") is None
    # A client starting with the revoked token does not start.
    assert open_client(page, options, client="late") == "rejected 4003"


def test_refused_token_asks_the_token_provider_again(page: Page, users: ChatUsers) -> None:
    bob, token = users.new()
    options = {"endpoint": users.server.endpoint, "tokens": ["not-a-token", token]}
    assert open_client(page, options) == "started"

    [disconnected] = records(page, "disconnected")
    assert disconnected["event"]["code"] == 4001
    assert disconnected["event"]["willReconnect"] is True
    assert page.evaluate("window.providerCalls.bob") == 2
    _, thread = thread_with(users, bob)
    thread.send_message("after a fresh token")
    assert texts(wait_for(page, "chatMessageReceived")) == ["after a fresh token"]


def test_refused_fixed_token_stops_the_client_with_4001(page: Page, users: ChatUsers) -> None:
    options = {"endpoint": users.server.endpoint, "token": "not-a-token"}
    assert open_client(page, options) == "rejected 4001"
    [disconnected] = records(page, "disconnected")
    assert disconnected["event"] == {
        "code": 4001,
        "reason": disconnected["event"]["reason"],
        "willReconnect": False,
    }


def test_client_is_not_dropped_after_a_burst_of_events(page: Page, users: ChatUsers) -> None:
    """The server pings only after a silent interval yet drops clients it has not heard from
    for two: the module's keepalive (a pong after incoming frames) must cover a burst."""
    bob, token = users.new()
    assert open_client(page, {"endpoint": users.server.endpoint, "token": token}) == "started"
    _, thread = thread_with(users, bob)
    burst = [f"burst {i}" for i in range(7)]
    for text in burst:  # an event every ~0.3 s for ~2 s: two 1 s heartbeats without a ping
        thread.send_message(text)
        time.sleep(0.3)
    time.sleep(2.0)  # then silence: the server pings, or drops a client it thinks is dead
    assert texts(records(page)) == burst
    assert records(page, "disconnected") == []


def test_new_client_resumes_from_a_persisted_cursor(page: Page, users: ChatUsers) -> None:
    bob, token = users.new()
    options: dict[str, Any] = {"endpoint": users.server.endpoint, "token": token}
    assert open_client(page, options) == "started"
    _, thread = thread_with(users, bob)
    thread.send_message("seen")
    wait_for(page, "chatMessageReceived")
    cursor = page.evaluate("window.clients.bob.stop(), window.clients.bob.cursor")
    thread.send_message("missed 1")
    thread.send_message("missed 2")

    assert open_client(page, {**options, "cursor": cursor}, client="again") == "started"
    assert texts(records(page, client="again")) == ["missed 1", "missed 2"]


def test_duplicate_and_stale_cursors_are_never_emitted(page: Page) -> None:
    page.evaluate(
        """() => {
        openClient("bob", { endpoint: "https://chat.test:8443/base/", token: "t", cursor: "3",
                            fake: true, initialReconnectDelayMs: 10 });
        window.message = (cursor, text) => ({ type: "event", name: "chatMessageReceived",
                                              cursor, data: { message: text } });
        window.hello = { type: "hello", protocol: "switchboard.chat.v1", userId: "8:acs:bob",
                         heartbeatSeconds: 30 };
    }"""
    )
    page.wait_for_function("FakeSocket.instances.length === 1 && !!FakeSocket.instances[0].onopen")
    page.evaluate(
        """() => {
        const s = FakeSocket.instances[0];
        s.frame(hello);
        s.frame(message("4", "four"));
        s.frame(message("4", "four again"));
        s.frame(message("2", "stale"));
        s.frame({ type: "event", name: "typingIndicatorReceived", cursor: null, data: {} });
        s.frame({ type: "event", name: "typingIndicatorReceived", cursor: null, data: {} });
        s.frame(message("5", "five"));
        s.frame({ type: "live", cursor: "5" });
        s.frame({ type: "ping" });
        s.serverClose(1012, "restarting");
    }"""
    )
    page.wait_for_function("FakeSocket.instances.length === 2")
    page.evaluate(
        """() => {
        const s = FakeSocket.instances[1];
        s.frame(hello);
        s.frame(message("5", "five again"));
        s.frame(message("6", "six"));
        s.frame({ type: "live", cursor: "6" });
        s.serverClose(1001, "going away");
    }"""
    )
    page.wait_for_function("FakeSocket.instances.length === 3")
    page.evaluate(
        """() => {
        const s = FakeSocket.instances[2];
        s.frame(hello);
        s.frame({ type: "resync", oldestCursor: "9", cursor: "20" });
        s.frame({ type: "live", cursor: "20" });
        s.frame(message("20", "twenty again"));
        s.frame(message("21", "twenty-one"));
    }"""
    )
    urls: list[str] = page.evaluate("FakeSocket.instances.map((s) => s.url)")
    base = "wss://chat.test:8443/base/chat/realtime"
    assert urls == [f"{base}?cursor=3", f"{base}?cursor=5", f"{base}?cursor=6"]
    assert page.evaluate("FakeSocket.instances[0].sent") == [{"type": "pong"}]
    found = records(page)
    assert texts(found) == ["four", "five", "six", "twenty-one"]
    assert [r["cursor"] for r in found if r["name"] == "chatMessageReceived"] == [
        "4",
        "5",
        "6",
        "21",
    ]
    assert len(records(page, "typingIndicatorReceived")) == 2
    assert [r["event"] for r in records(page, "resync")] == [{"oldestCursor": "9", "cursor": "20"}]
    assert [r["event"]["willReconnect"] for r in records(page, "disconnected")] == [True, True]
    assert [r["event"]["cursor"] for r in records(page, "connected")] == ["5", "6", "20"]
    assert page.evaluate("window.clients.bob.cursor") == "21"


def test_unreachable_server_is_retried_with_growing_delays_until_stopped(page: Page) -> None:
    page.evaluate(
        """() => {
        FakeSocket.prototype.refuse = true;
        window.attempts = [];
        const Counting = class extends FakeSocket {
            constructor(url) { super(url); attempts.push(performance.now()); }
        };
        window.FakeSocket = Counting;
        window.outcome = openClient("bob", { endpoint: "https://chat.test", token: "t",
            fake: true, initialReconnectDelayMs: 40, maxReconnectDelayMs: 160 });
    }"""
    )
    page.wait_for_function("attempts.length >= 7", timeout=5_000)
    outcome = page.evaluate("clients.bob.stop(), outcome")
    assert outcome == "rejected 1000"
    times: list[float] = page.evaluate("attempts")
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    ceilings = [40, 80, 160, 160, 160, 160]
    # "Equal jitter": each delay lies in [ceiling / 2, ceiling] (timers fire late, not early).
    assert all(gap >= ceiling / 2 - 2 for gap, ceiling in zip(gaps, ceilings, strict=False))
    assert all(gap <= ceiling + 100 for gap, ceiling in zip(gaps, ceilings, strict=False))
    assert records(page, "disconnected") == []  # no connection was ever made
    time.sleep(0.3)
    assert page.evaluate("attempts.length") == len(times)  # stop() ended the retries
