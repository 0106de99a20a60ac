"""Benchmark: chat delivery to the unmodified npm browser chat SDK over ACS's real-time channel
(chat/trouter, docs/trouter.md), on loopback.

Setup (not timed): a spawned server, Chromium (Debian's) with a page on its own origin loading
examples/web_chat's bundle of ``@azure/communication-chat``, listening as Bob; Alice's thread.

Timed: Alice sends ``--messages`` messages with the Python SDK at ``--rate`` a second. Each
latency is the browser's receipt (``performance.timeOrigin + now()``, epoch ms, the same clock
as Python's ``time.time()`` on this machine) minus the moment before the send began: REST
send + commit + fan-out + trouter + the SDK's parsing; and from the message's ``createdOn``
(stamped by the server before its commit) to the receipt: the delivery path alone. Printed
beside the same run's ceiling: the round trip of a trivial HTTPS request (``GET /health``).

    .venv/bin/python -m bench.trouter --messages 300 --rate 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
from azure.communication.chat import ChatClient, ChatParticipant, CommunicationTokenCredential
from azure.communication.identity import CommunicationIdentityClient
from playwright.sync_api import sync_playwright
from tests.e2e.browser import launch_chromium, trusting_home
from tests.e2e.web_chat_bundle import START_REALTIME, built_bundle
from tests.e2e.web_origin import web_origin

from bench.loadgen import parse_connection_string, percentile, spawn_server, split_cpus


def _figures(name: str, values_ms: list[float]) -> str:
    ordered = sorted(values_ms)
    return (
        f"{name:<36} p50 {percentile(ordered, 50):6.1f} ms  p99 {percentile(ordered, 99):6.1f} ms"
        f"  max {ordered[-1]:6.1f} ms  (n={len(ordered)})"
    )


def run(messages: int, rate: float) -> None:
    server_cpu, _ = split_cpus()
    with (
        spawn_server(server_cpu) as server,
        tempfile.TemporaryDirectory(prefix="sbbench-trouter-") as scratch,
    ):
        parsed = parse_connection_string(server.connection_string)
        endpoint = f"{parsed.scheme}://{parsed.authority}"
        os.environ["REQUESTS_CA_BUNDLE"] = server.ca
        identity = CommunicationIdentityClient.from_connection_string(server.connection_string)
        _alice, alice_token = identity.create_user_and_token(scopes=["chat"])
        bob, bob_token = identity.create_user_and_token(scopes=["chat"])
        alice_chat = ChatClient(endpoint + "/", CommunicationTokenCredential(alice_token.token))
        thread = alice_chat.create_chat_thread(
            "bench", thread_participants=[ChatParticipant(identifier=bob)]
        ).chat_thread
        assert thread is not None
        sender = alice_chat.get_chat_thread_client(thread.id)
        root = Path(scratch, "origin")
        root.mkdir()
        shutil.copy(built_bundle(), root / "chat-sdk.js")
        with web_origin(root) as origin, sync_playwright() as playwright:
            browser = launch_chromium(playwright, trusting_home(Path(scratch, "home"), server.ca))
            page = browser.new_page()
            page.goto(f"{origin}/index.html")
            page.evaluate(START_REALTIME, [endpoint, bob_token.token, ["chatMessageReceived"]])
            page.wait_for_function(
                "window.records.some((r) => r.name === 'realTimeNotificationConnected')"
            )
            sent_at: dict[str, float] = {}
            send_ms: list[float] = []
            for i in range(messages):
                due = time.monotonic() + 1 / rate
                content = f"bench-{i}"
                sent_at[content] = time.time() * 1000
                sender.send_message(content)
                send_ms.append(time.time() * 1000 - sent_at[content])
                time.sleep(max(0.0, due - time.monotonic()))
            page.wait_for_function(
                "(n) => window.records.filter((r) => r.name === 'chatMessageReceived').length >= n",
                arg=messages,
                timeout=60_000,
            )
            received = page.evaluate(
                "window.records.filter((r) => r.name === 'chatMessageReceived')"
                ".map((r) => [r.event.message, r.at, Date.parse(r.event.createdOn)])"
            )
            browser.close()
        delivery = [at - sent_at[text] for text, at, _ in received if text in sent_at]
        after_stamp = [at - created for text, at, created in received if text in sent_at]
        with httpx.Client(verify=server.ca) as http:
            ceiling = []
            for _ in range(messages):
                start = time.perf_counter()
                http.get(endpoint + "/health").raise_for_status()
                ceiling.append((time.perf_counter() - start) * 1000)
        print(f"trouter delivery to the npm browser SDK, {messages} messages at {rate}/s")
        print(_figures("send → browser event", delivery))
        print(_figures("  of which the REST send", send_ms))
        print(_figures("message's createdOn → browser event", after_stamp))
        print(_figures("ceiling: GET /health round trip", ceiling))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trouter", description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    run(args.messages, args.rate)


if __name__ == "__main__":
    main()
