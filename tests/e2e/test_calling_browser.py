"""Issue 7's browser proof: ``/sdk/calling.js`` in Debian's Chromium, through the sample app.

Two browser contexts sign in to the sample app (examples/sample_app, run as a process the way
its README says) as Alice and Bob; Alice calls Bob with video; both see Connected and their
``getStats()`` inbound audio and video bytes grow; Alice's mute shows on Bob's page; hanging up
ends both. A second test calls a Python client (``switchboard.client.calling``, aiortc) from
the browser: Python decodes loud audio frames (Chromium's fake microphone beeps) and the
browser receives and decodes Python's tone.

Media flows on loopback: Chromium runs with --allow-loopback-in-peer-connection and fake
devices (tests/e2e/browser.py), aioice is patched to offer 127.0.0.1, and the server runs
coturn so the ICE servers in the register ack are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aioice.ice
import pytest
from azure.communication.identity import CommunicationIdentityClient
from playwright.sync_api import Browser, BrowserContext, Page, expect

from switchboard.client.calling import Call, CallAgent, CallClient, CallState
from tests.e2e.calling_peers import (
    DATA_CHANNEL_HELPER,
    STATS_HELPER,
    EventLoopThread,
    SampleApp,
    artifacts_dir,
    wait_for_inbound_growth,
)
from tests.e2e.webapp import befriend, expect_call_state, send_chat, sign_in
from tests.integration.server import RunningServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {"SWITCHBOARD_TURN_PORT": "0"}
    running = start_server(tmp_path_factory.mktemp("calling-browser"), "--turn", env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made = [browser.new_context(), browser.new_context()]
    yield made
    for context in made:
        context.close()


@pytest.fixture(autouse=True)
def loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice leaves 127.0.0.1 out of host candidates; the Python peer runs on loopback."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


def test_alice_calls_bob_with_video_mutes_and_hangs_up(
    contexts: list[BrowserContext], sample_app: SampleApp, tmp_path: Path
) -> None:
    alice = sign_in(contexts[0], sample_app.url, "Alice", STATS_HELPER)
    bob = sign_in(contexts[1], sample_app.url, "Bob", STATS_HELPER)
    befriend(alice, "Bob")
    expect(bob.locator("#friend-Alice")).to_be_visible()  # told by chat's chatThreadCreated
    bob.get_by_role("button", name="Chat with Alice").click()
    alice.get_by_role("button", name="Chat with Bob").click()
    send_chat(alice, "Hello Bob, calling you now")
    expect(bob.locator("#messages .text")).to_have_text(["Hello Bob, calling you now"])
    expect(bob.locator("#messages .sender")).to_have_text(["Alice"])

    alice.get_by_role("button", name="Video call Bob").click()
    expect(bob.locator("#incoming-from")).to_have_text("Alice", timeout=10_000)
    expect_call_state(alice, "Ringing")
    bob.get_by_role("button", name="Accept").click()
    for page in (alice, bob):
        expect_call_state(page, "Connected")

    growth = {
        (name, kind): wait_for_inbound_growth(page, kind)
        for name, page in (("alice", alice), ("bob", bob))
        for kind in ("audio", "video")
    }
    print("inbound bytes (first, later):", growth)
    for page in (alice, bob):
        expect(page.locator("#grid .tile.remote video")).to_be_visible()
        page.wait_for_function("document.querySelector('#grid .tile.remote video').videoWidth > 0")
    screenshot = artifacts_dir(tmp_path) / "sample-app-call.png"
    alice.screenshot(path=str(screenshot))
    print(f"screenshot of the sample app during a call: {screenshot}")

    alice.get_by_role("button", name="Mute", exact=True).click()
    expect(bob.locator(".tile[data-name=Alice] .muted")).to_be_visible()
    expect(alice.locator("#mute")).to_have_text("Unmute")
    assert bob.evaluate("window.sampleApp.call.remoteParticipants[0].isMuted") is True
    alice.get_by_role("button", name="Unmute").click()
    expect(bob.locator(".tile[data-name=Alice] .muted")).to_be_hidden()

    # ACS's data channel in a 1:1 call: peer to peer over the call's own peer connection.
    for page in (alice, bob):
        page.evaluate(f"() => {{ {DATA_CHANNEL_HELPER} }}")
        page.evaluate("dataChannelsOpen(window.sampleApp.call, 15000)")
    bob.evaluate("collectData(window.sampleApp.call)")
    alice.evaluate(
        """async () => {
            const sender = window.sampleApp.call.feature("DataChannel")
                .createDataChannelSender({ channelId: 3, reliability: "durable" });
            const text = (s) => new TextEncoder().encode(s);
            for (let n = 0; n < 50; n++) await sender.sendMessage(text(`m${n}`));
        }"""
    )
    bob.wait_for_function("dc.length === 50")
    alice_id = alice.evaluate("window.sampleApp.me.userId")
    assert bob.evaluate("dc") == [[alice_id, 3, n + 1, f"m{n}"] for n in range(50)]
    # Over SCTP between the browsers (getStats may lag the messages a little).
    bob.evaluate(
        "until(async () => (await dataChannelStats(window.sampleApp.call))"
        "['acs-durable'].received === 50, 'data-channel stats')"
    )

    alice.get_by_role("button", name="Leave").click()
    for page in (alice, bob):
        expect_call_state(page, "Disconnected")
        expect(page.locator("#end-code")).to_have_text("Call ended (0/0)")
    expect(alice.locator("#end-reason")).to_have_text("You left the call.")
    expect(bob.locator("#end-reason")).to_have_text("Alice ended the call.")
    assert alice.evaluate("window.sampleApp.agent.calls.length") == 0
    assert bob.evaluate("window.sampleApp.agent.calls.length") == 0


@dataclass
class PythonPeer:
    loop: EventLoopThread
    agent: CallAgent
    user_id: str


@pytest.fixture
def python_peer(server: RunningServer) -> Iterator[PythonPeer]:
    """A Python calling client (aiortc; sends a 440 Hz tone) on its own event loop."""
    loop = EventLoopThread()
    _, token = new_user(server)
    client = CallClient(server.endpoint, ssl=server.ca_path, tone_hz=440.0)
    agent = loop.run(client.create_call_agent(token))
    yield PythonPeer(loop, agent, str(agent.user_id))
    loop.run(agent.dispose())
    loop.close()


@pytest.fixture
def server_page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    """A page of the server itself (``/sdk/calling.js`` is same-origin) with a voip user's
    CallAgent as ``window.agent``; ``window.connections`` records its connection states."""
    _, token = new_user(server)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.endpoint}/health")
    page.evaluate(f"() => {{ {STATS_HELPER} }}")
    page.evaluate(
        """async ([endpoint, token]) => {
            const { CallClient } = await import("/sdk/calling.js");
            window.agent = await new CallClient({ endpoint, initialReconnectDelayMs: 100 })
                .createCallAgent(token);
            window.connections = [];
            agent.on("connectionStateChanged", (e) => connections.push(e.newValue));
        }""",
        [server.endpoint, token],
    )
    yield page
    page.evaluate("window.agent.dispose()")
    context.close()


def new_user(server: RunningServer) -> tuple[str, str]:
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    user, token = identity.create_user_and_token(scopes=["voip"])
    return str(user.properties["id"]), str(token.token)


def call_python(page: Page, peer: PythonPeer) -> Call:
    """The page calls the Python peer, which accepts; returns the peer's Call, Connected."""
    page.evaluate(
        "(callee) => { window.call = agent.startCall([{ communicationUserId: callee }]); }",
        peer.user_id,
    )
    incoming = peer.loop.run(peer.agent.next_incoming_call())
    peer.loop.run(incoming.accept(audio=True))
    page.wait_for_function("window.call.state === 'Connected'", timeout=15_000)
    peer.loop.run(incoming.wait_for_state(CallState.CONNECTED))
    return incoming


def test_browser_calls_python_client_and_both_hear_audio(
    server_page: Page, python_peer: PythonPeer
) -> None:
    page, peer = server_page, python_peer
    incoming = call_python(page, peer)
    assert incoming.media is not None
    probe = incoming.media.audio

    async def loud_frames(count: int) -> None:
        while probe.loud_frames < count:
            probe.changed.clear()
            await probe.changed.wait()

    peer.loop.run(loud_frames(10))  # Chromium's fake microphone beeps: loud frames arrive
    first, later = wait_for_inbound_growth(page, "audio", "window.call")
    # totalAudioEnergy: Chromium decoded (and played) audio that is not silence.
    energy = page.evaluate(
        "until(() => inbound(window.call, 'audio').then((t) => t.energy), 'audio energy')"
    )
    print(
        f"python decoded {probe.frames} frames ({probe.loud_frames} loud, {probe.frequency} Hz);"
        f" browser inbound audio {first} → {later} bytes, total audio energy {energy:.4f}"
    )
    assert probe.frames > probe.loud_frames >= 10

    peer.loop.run(incoming.hang_up())
    page.wait_for_function("window.call.state === 'Disconnected'")
    reason = page.evaluate("window.call.callEndReason")
    assert (reason["code"], reason["subCode"]) == (0, 0)


def test_call_survives_a_signaling_drop_and_signals_after_the_resume(
    server_page: Page, python_peer: PythonPeer
) -> None:
    page, peer = server_page, python_peer
    incoming = call_python(page, peer)

    page.evaluate("window.agent._signaling._socket.close()")
    page.wait_for_function("connections.join() === 'Disconnected,Connected'")
    assert page.evaluate("window.call.state") == "Connected"
    wait_for_inbound_growth(page, "audio", "window.call")  # media never stopped
    # Signaling works both ways on the resumed device: mute shows here, hang-up reaches Python.
    # (Python's mute stops its audio RTP altogether, so media is checked before it.)
    peer.loop.run(incoming.mute())
    page.wait_for_function("window.call.remoteParticipants[0].isMuted === true")
    page.evaluate("window.call.hangUp()")
    peer.loop.run(incoming.wait_for_state(CallState.DISCONNECTED))
    assert incoming.end_reason is not None and incoming.end_reason.code == 0
    page.wait_for_function("window.call.state === 'Disconnected'")


def test_closing_the_ringing_callees_tab_ends_the_callers_ringing(
    browser: Browser, server: RunningServer, python_peer: PythonPeer
) -> None:
    """The SDK unregisters on pagehide: the caller learns at once, not after the server's
    30 s reconnect grace (this module's ring timeout is the default 30 s too)."""
    peer = python_peer
    callee_id, token = new_user(server)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.endpoint}/health")
    page.evaluate(
        """async ([endpoint, token]) => {
            const { CallClient } = await import("/sdk/calling.js");
            window.agent = await new CallClient({ endpoint }).createCallAgent(token);
            window.ringing = new Promise((ring) => agent.on("incomingCall", () => ring(true)));
        }""",
        [server.endpoint, token],
    )
    outgoing = peer.loop.run(peer.agent.start_call(callee_id))
    assert page.evaluate("window.ringing") is True
    page.close()  # the tab is closed while it rings
    peer.loop.run(outgoing.wait_for_state(CallState.DISCONNECTED), timeout=10)
    assert outgoing.end_reason is not None
    assert (outgoing.end_reason.code, outgoing.end_reason.sub_code) == (480, 10078)
    context.close()
