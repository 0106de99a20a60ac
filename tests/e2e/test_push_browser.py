"""Issue 17's browser proof: a call reaches a user whose page is closed, by Web Push.

Bob's page registers its push subscription with ``agent.registerPushNotification`` and closes.
Alice (a Python calling client) calls Bob; the Web Push fake (tests/push/fakes.py: it checks
the VAPID JWT and decrypts the aes128gcm body with the subscription's keys, as Bob's browser
would) receives the incoming call. The test opens Bob's page again, which hands the payload to
``agent.handlePushNotification``; the call rings there, Bob accepts, and media flows both ways
(Python decodes Chromium's beeps; Chromium decodes Python's tone). Alice hanging up before Bob
is back pushes a cancel instead.

Chromium's own PushManager needs a real push service, which is out of reach here: the fake
plays the browser's push service, and its subscription (endpoint + keys) is what the page
registers, exactly as a service worker's ``PushSubscription.toJSON()`` would be.
"""

from __future__ import annotations

from collections.abc import Iterator

import aioice.ice
import pytest
from azure.communication.identity import CommunicationIdentityClient
from playwright.sync_api import Browser, Page

from switchboard.client.calling import CallAgent, CallClient, CallState
from tests.e2e.calling_peers import STATS_HELPER, EventLoopThread, wait_for_inbound_growth
from tests.integration.calling_clients import start_without_turn
from tests.integration.server import RunningServer
from tests.push.fakes import WebPushService
from tests.push.providers import push_server_env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        **push_server_env(tmp_path_factory.mktemp("push-keys")),
        "SWITCHBOARD_CALLING_RING_TIMEOUT_SECONDS": "30",
    }
    running = start_without_turn(tmp_path_factory.mktemp("push-browser"), env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(autouse=True)
def loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


@pytest.fixture
def loop() -> Iterator[EventLoopThread]:
    thread = EventLoopThread()
    yield thread
    thread.close()


@pytest.fixture
def push_service(loop: EventLoopThread) -> Iterator[WebPushService]:
    service = loop.run(WebPushService().start())
    yield service
    loop.run(service.stop())


def new_user(server: RunningServer) -> tuple[str, str]:
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    user, token = identity.create_user_and_token(scopes=["voip"])
    return str(user.properties["id"]), str(token.token)


def open_agent(browser: Browser, server: RunningServer, token: str) -> Page:
    """A page of the server with the user's CallAgent as ``window.agent``; incoming calls
    are kept in ``window.incoming``."""
    page = browser.new_context().new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    page.goto(f"{server.endpoint}/health")
    page.evaluate(f"() => {{ {STATS_HELPER} }}")
    page.evaluate(
        """async ([endpoint, token]) => {
            const { CallClient } = await import("/sdk/calling.js");
            window.agent = await new CallClient({ endpoint }).createCallAgent(token);
            window.incoming = [];
            agent.on("incomingCall", ({ incomingCall }) => incoming.push(incomingCall));
        }""",
        [server.endpoint, token],
    )
    return page


def away_and_alice(
    browser: Browser, server: RunningServer, loop: EventLoopThread, service: WebPushService
) -> tuple[str, str, CallAgent]:
    """Bob's page registers for push and closes (no signaling socket for that device);
    Alice is a Python agent. Bob's id and token, Alice's agent."""
    bob_id, bob_token = new_user(server)
    _, alice_token = new_user(server)
    page = open_agent(browser, server, bob_token)
    page.evaluate("(sub) => agent.registerPushNotification(sub)", service.subscribe().json())
    page.context.close()
    client = CallClient(server.endpoint, ssl=server.ca_path, tone_hz=440.0)
    return bob_id, bob_token, loop.run(client.create_call_agent(alice_token))


def test_a_closed_page_is_pushed_the_call_and_answers_it_with_media_both_ways(
    browser: Browser,
    server: RunningServer,
    loop: EventLoopThread,
    push_service: WebPushService,
) -> None:
    bob_id, bob_token, alice = away_and_alice(browser, server, loop, push_service)
    try:
        outgoing = loop.run(alice.start_call(bob_id))
        [pushed] = loop.run(push_service.wait_for(1))
        assert push_service.errors == []
        payload = pushed.payload
        assert (payload["type"], payload["callId"]) == ("incomingCall", outgoing.id)

        bob = open_agent(browser, server, bob_token)  # Bob taps the notification
        bob.evaluate("(payload) => agent.handlePushNotification(payload)", payload)
        bob.wait_for_function("window.incoming.length === 1", timeout=15_000)
        bob.evaluate("async () => { window.call = await window.incoming[0].accept(); }")
        bob.wait_for_function("window.call.state === 'Connected'", timeout=15_000)
        loop.run(outgoing.wait_for_state(CallState.CONNECTED))

        assert outgoing.media is not None
        probe = outgoing.media.audio

        async def loud_frames(count: int) -> None:
            while probe.loud_frames < count:
                probe.changed.clear()
                await probe.changed.wait()

        loop.run(loud_frames(10))  # Chromium's fake microphone reached Alice
        first, later = wait_for_inbound_growth(bob, "audio", "window.call")  # Alice's tone
        energy = bob.evaluate(
            "until(() => inbound(window.call, 'audio').then((t) => t.energy), 'audio energy')"
        )
        print(f"alice decoded {probe.loud_frames} loud frames; bob got {first}→{later} bytes")
        assert energy > 0
        loop.run(outgoing.hang_up())
        bob.wait_for_function("window.call.state === 'Disconnected'")
        bob.context.close()
    finally:
        loop.run(alice.dispose())


def test_the_caller_hanging_up_first_pushes_a_cancel(
    browser: Browser,
    server: RunningServer,
    loop: EventLoopThread,
    push_service: WebPushService,
) -> None:
    bob_id, bob_token, alice = away_and_alice(browser, server, loop, push_service)
    try:
        outgoing = loop.run(alice.start_call(bob_id))
        loop.run(push_service.wait_for(1))
        loop.run(outgoing.hang_up())
        incoming, cancel = (p.payload for p in loop.run(push_service.wait_for(2)))
        assert cancel == {"type": "callCancelled", "callId": outgoing.id, "reason": "cancelled"}
        # Bob opens the page from the stale notification: nothing rings.
        bob = open_agent(browser, server, bob_token)
        bob.evaluate("(payload) => agent.handlePushNotification(payload)", incoming)
        bob.evaluate("(payload) => agent.handlePushNotification(payload)", cancel)
        assert bob.evaluate("window.incoming.length") == 0
        bob.context.close()
    finally:
        loop.run(alice.dispose())
