"""IncomingCall for a user, with a Chromium caller: the app answers a browser's 1:1 call.

    Chromium page (Alice)           server (subprocess, TLS)              test (the app)
    agent.startCall([bob]) ───────▶ rings Bob (no device: it waits) ─▶ IncomingCall (webhook,
                                                                        filtered on data.to)
    callConverted ◀──────────────── a server call, the app's leg ◀──── answer_call (sync SDK)
    fresh offer: accept ──────────▶ joins it on the SFU ──────────────▶ CallConnected
    inbound energy ◀─────────────── espeak-ng ◀──────────────────────── play_media(TextSource)
    Disconnected ◀───────────────── Alice alone: hung up ◀───────────── hang_up (the app leaves)

The page imports ``/sdk/calling.js`` from the server; "what the page hears" is ``getStats()``'s
``totalAudioEnergy`` of its inbound audio from the SFU's streams (tests/e2e/
test_automation_browser.py's helpers).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.communication.callautomation import CallAutomationClient, TextSource
from azure.communication.identity import CommunicationIdentityClient
from playwright.sync_api import Browser, Page

from tests.callback_receiver import CallbackReceiver
from tests.e2e.calling_peers import STATS_HELPER, EventLoopThread
from tests.e2e.test_automation_browser import (
    CALL_TIMEOUT_MS,
    ENERGY_HELPER,
    EVENT_SECONDS,
    next_event,
    speech,
)
from tests.event_receiver import EventReceiver
from tests.integration.server import RunningServer
from tests.integration.user_call_events import incoming_call_for, subscribe_for_calls_to


@pytest.fixture
def loop() -> Iterator[EventLoopThread]:
    """The receivers' loop (Playwright's sync API owns the test's thread)."""
    running = EventLoopThread()
    yield running
    running.close()


def test_the_app_answers_a_browser_users_call_and_the_browser_hears_it(
    server: RunningServer, browser: Browser, loop: EventLoopThread
) -> None:
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    _, alice_token = identity.create_user_and_token(scopes=["voip"])
    bob = str(identity.create_user().properties["id"])  # no device: only the app can answer
    events = loop.run(EventReceiver().start())
    callbacks = loop.run(CallbackReceiver().start())
    context = browser.new_context()
    page: Page = context.new_page()
    try:
        loop.run(
            subscribe_for_calls_to(
                server.connection_string, server.ca_path, "browser", events.url("/incoming"), bob
            )
        )
        page.goto(f"{server.endpoint}/health")
        page.evaluate(f"() => {{ {STATS_HELPER} {ENERGY_HELPER} }}")
        page.evaluate(
            """async ([endpoint, token, bob]) => {
                const { CallClient } = await import("/sdk/calling.js");
                window.agent = await new CallClient({ endpoint }).createCallAgent(token);
                window.call = agent.startCall([{ communicationUserId: bob }]);
                window.ids = [];
                call.on("idChanged", () => ids.push(call.id));
            }""",
            [server.endpoint, alice_token.token, bob],
        )
        incoming = loop.run(incoming_call_for(events, bob, EVENT_SECONDS), EVENT_SECONDS + 5)

        client = CallAutomationClient.from_connection_string(
            server.connection_string, connection_verify=server.ca_path
        )
        answered = client.answer_call(incoming["incomingCallContext"], callbacks.url("/app"))
        page.wait_for_function("window.call.state === 'Connected'", timeout=CALL_TIMEOUT_MS)
        assert page.evaluate("window.call.id") == incoming["serverCallId"]
        assert page.evaluate("window.call.isConference") is True
        assert page.evaluate("window.ids")[-1] == incoming["serverCallId"]

        connection = client.get_call_connection(str(answered.call_connection_id))
        connection.play_media(TextSource(text="Hello from the application that answered."))
        loud = speech(page)
        print(f"the browser hears the app: {loud['value']:.2e} in its first loud window")
        loop.run(next_event(callbacks, "PlayCompleted"), EVENT_SECONDS + 5)

        connection.hang_up(is_for_everyone=False)  # Alice, alone, is hung up
        page.wait_for_function("window.call.state === 'Disconnected'", timeout=CALL_TIMEOUT_MS)
        reason = page.evaluate("window.call.callEndReason")
        assert (reason["code"], reason["subCode"]) == (0, 0), reason
        assert page.evaluate("window.agent.calls.length") == 0
    finally:
        page.evaluate("window.agent && window.agent.dispose()")
        context.close()
        loop.run(callbacks.stop())
        loop.run(events.stop())
