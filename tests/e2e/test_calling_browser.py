"""Issues 7 and 19's browser proof: ``/sdk/calling.js`` in Debian's Chromium, through the
sample app's web client (examples/sample_app, run as a process the way its README says).

Alice and Bob (two browser contexts) go through the web app's main flows: sign-in by keyboard,
the pre-join screen, chat with typing and read receipts, a video call from a ringing toast
(both see Connected and their ``getStats()`` inbound audio and video bytes grow), the
reconnecting banner, mute, camera off, the people panel, the data channel, and the end screen
with its reason; each page state gets a screenshot and an axe-core check (no serious or
critical violation). A page reloaded in a group call is back in it by itself. Further tests
call a Python client (``switchboard.client.calling``, aiortc) from the browser: Python decodes
loud audio frames (Chromium's fake microphone beeps) and the browser receives and decodes
Python's tone.

Media flows on loopback: Chromium runs with --allow-loopback-in-peer-connection and fake
devices (tests/e2e/browser.py), aioice is patched to offer 127.0.0.1, and the server runs
coturn so the ICE servers in the register ack are real.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aioice.ice
import pytest
from azure.communication.identity import CommunicationIdentityClient
from playwright.sync_api import Browser, BrowserContext, Page, expect

from switchboard.client.calling import Call, CallAgent, CallClient, CallState
from tests.e2e.calling_peers import (
    STATS_HELPER,
    EventLoopThread,
    SampleApp,
    artifacts_dir,
    durable_messages_arrive_in_order,
    wait_for_inbound_growth,
)
from tests.e2e.webapp import (
    CALL_TIMEOUT_MS,
    GROUP_TILE_HELPER,
    befriend,
    check_accessibility,
    expect_call_state,
    join_from_prejoin,
    join_invitation,
    send_chat,
    sign_in,
)
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


def test_the_web_app_signs_in_chats_calls_and_ends_usably_and_accessibly(
    contexts: list[BrowserContext], sample_app: SampleApp, tmp_path: Path
) -> None:
    """The web app's main flows (issue 19), with a screenshot and an axe-core check of each
    page state: sign-in (by keyboard) → pre-join (camera preview, pickers) → chat (bubbles,
    typing, "Seen") → a video call from a ringing toast, accepted by keyboard: media both ways,
    the reconnecting banner while offline, mute, camera off (initials on the other side), the
    people panel, the data channel → the end screen says why."""
    shots = artifacts_dir(tmp_path)
    alice = contexts[0].new_page()
    alice.on("pageerror", lambda error: print(f"[Alice] page error: {error}"))
    alice.goto(sample_app.url)
    expect(alice.get_by_role("heading", name="Sign in")).to_be_visible(timeout=15_000)
    check_accessibility(alice, "sign-in", shots)
    expect(alice.get_by_label("Your name")).to_be_focused()
    alice.keyboard.type("Alice")
    alice.keyboard.press("Enter")
    expect(alice.locator("#status")).to_have_text("Ready", timeout=15_000)
    alice.evaluate(f"() => {{ {STATS_HELPER} }}")
    bob = sign_in(contexts[1], sample_app.url, "Bob", STATS_HELPER)

    # Pre-join: the camera preview runs (warm before any call); the pickers list the devices.
    expect(alice.get_by_role("heading", name="Ready when you are")).to_be_visible()
    alice.wait_for_function("document.querySelector('#preview video')?.videoWidth > 0")
    for picker in ("Camera", "Microphone", "Speaker"):
        assert alice.get_by_label(picker, exact=True).locator("option").count() >= 1
    check_accessibility(alice, "prejoin", shots)

    befriend(alice, "Bob")
    expect(bob.locator("#friend-Alice")).to_be_visible()  # told by chat's chatThreadCreated
    bob.get_by_role("button", name="Chat with Alice").click()
    alice.get_by_role("button", name="Chat with Bob").click()
    send_chat(alice, "Hello Bob, calling you now")
    expect(bob.locator("#messages .text")).to_have_text(["Hello Bob, calling you now"])
    expect(bob.locator("#messages .sender")).to_have_text(["Alice"])
    expect(alice.locator("#messages .bubble.mine .receipt")).to_have_text(["Seen"])
    bob.get_by_label("Message", exact=True).press_sequentially("Sure")
    expect(alice.locator("#typing")).to_have_text("Bob is typing…")
    bob.get_by_label("Message", exact=True).press("Enter")
    expect(alice.locator("#messages .bubble.theirs .text")).to_have_text(["Sure"])
    expect(alice.locator("#messages time")).to_have_count(2)
    check_accessibility(alice, "chat", shots)

    alice.get_by_role("button", name="Video call Bob").click()
    toast = bob.get_by_role("alertdialog", name="Alice is calling you")
    expect(toast).to_be_visible(timeout=10_000)
    expect_call_state(alice, "Ringing")
    assert bob.evaluate("window.sampleApp.toasts.ringtone.isRinging") is True
    check_accessibility(bob, "incoming-call", shots)
    expect(toast.get_by_role("button", name="Accept")).to_be_focused()
    bob.keyboard.press("Enter")  # the ringing toast took the focus: Enter accepts
    for page in (alice, bob):
        expect_call_state(page, "Connected")
    assert bob.evaluate("window.sampleApp.toasts.ringtone.isRinging") is False

    growth = {
        (name, kind): wait_for_inbound_growth(page, kind)
        for name, page in (("alice", alice), ("bob", bob))
        for kind in ("audio", "video")
    }
    print("inbound bytes (first, later):", growth)
    for page in (alice, bob):
        expect(page.locator("#grid .tile.remote video")).to_be_visible()
        page.wait_for_function("document.querySelector('#grid .tile.remote video').videoWidth > 0")
    check_accessibility(alice, "in-call", shots)

    # The network goes away and comes back: the banner says so, and the call goes on.
    contexts[0].set_offline(True)
    banner = alice.get_by_role("alert").filter(has_text="Reconnecting")
    expect(banner).to_be_visible()
    alice.screenshot(path=str(shots / "webapp-reconnecting.png"))
    contexts[0].set_offline(False)
    expect(banner).to_be_hidden(timeout=20_000)
    expect_call_state(alice, "Connected")

    alice.get_by_role("button", name="Mute", exact=True).click()
    expect(bob.locator(".tile[data-name=Alice] .muted")).to_be_visible()
    expect(alice.locator("#mute")).to_have_text("Unmute")
    assert bob.evaluate("window.sampleApp.call.remoteParticipants[0].isMuted") is True
    bob.get_by_role("button", name="People (2)").click()
    people = bob.locator("#participant-list")
    expect(people.locator(".person-name")).to_have_text(["Bob (you)", "Alice"])
    expect(people.locator(".person", has_text="Alice").get_by_text("Muted")).to_be_visible()
    alice.get_by_role("button", name="Unmute").click()
    expect(bob.locator(".tile[data-name=Alice] .muted")).to_be_hidden()
    alice.get_by_role("button", name="Devices").click()  # the pre-join's pickers, in the call
    expect(alice.locator("#device-panel").get_by_label("Camera", exact=True)).to_be_visible()
    alice.get_by_role("button", name="Devices").click()
    expect(alice.locator("#device-panel")).to_be_hidden()

    # Camera off: Bob sees Alice's initials, not a frozen last frame.
    alice.get_by_role("button", name="Turn camera off").click()
    alice_tile = bob.locator(".tile[data-name=Alice]")
    expect(alice_tile).not_to_have_class(re.compile(r"\bvideo-on\b"))
    expect(alice_tile.locator(".avatar")).to_be_visible()
    expect(alice_tile.locator(".avatar")).to_have_text("A")
    bob.screenshot(path=str(shots / "webapp-camera-off.png"))
    alice.get_by_role("button", name="Turn camera on").click()
    expect(alice_tile).to_have_class(re.compile(r"\bvideo-on\b"))

    # ACS's data channel in a 1:1 call: peer to peer over the call's own peer connection.
    durable_messages_arrive_in_order(alice, bob)

    alice.get_by_role("button", name="Leave").click()
    for page in (alice, bob):
        expect_call_state(page, "Disconnected")
        expect(page.get_by_role("heading", name="Call ended")).to_be_visible()
        expect(page.locator("#end-code")).to_have_text("Call ended (0/0)")
    expect(alice.locator("#end-reason")).to_have_text("You left the call.")
    expect(bob.locator("#end-reason")).to_have_text("Alice ended the call.")
    expect(bob.get_by_role("button", name="Call again")).to_be_visible()
    check_accessibility(bob, "end", shots)
    assert alice.evaluate("window.sampleApp.agent.calls.length") == 0
    assert bob.evaluate("window.sampleApp.agent.calls.length") == 0
    bob.get_by_role("button", name="Back to start").click()
    expect(bob.get_by_role("heading", name="Ready when you are")).to_be_visible()
    print(f"screenshots of the web app: {shots}")


def test_a_reloaded_web_app_page_is_back_in_its_group_call(
    contexts: list[BrowserContext], sample_app: SampleApp
) -> None:
    """The reloaded page rejoins by itself (sessionStorage); its old self leaves at once (the
    SDK unregisters on pagehide), so the other side keeps no frozen tile of it."""
    helpers = STATS_HELPER + GROUP_TILE_HELPER
    host = sign_in(contexts[0], sample_app.url, "Rae", helpers)
    guest = sign_in(contexts[1], sample_app.url, "Sam", helpers)
    befriend(host, "Sam")
    host.get_by_label("Invite Sam").check()
    host.get_by_role("button", name="Start a group call with the ticked contacts").click()
    join_from_prejoin(host)
    join_invitation(guest, "Rae invites you to a group call")
    for page in (host, guest):
        expect_call_state(page, "Connected")
    guest.evaluate("(n) => videoFrom(n)", "Rae")
    before = guest.evaluate("window.sampleApp.call.remoteParticipants[0].participantId")

    reloaded_at = time.monotonic()
    host.reload()  # pagehide: the SDK unregisters; the app rejoins from sessionStorage
    expect_call_state(host, "Connected")
    print(f"reload → back in the group call (Connected) in {time.monotonic() - reloaded_at:.2f} s")
    assert host.evaluate("window.sampleApp.call.remoteParticipants.length") == 1
    host.evaluate(f"() => {{ {helpers} }}")
    host.evaluate("(n) => videoFrom(n)", "Sam")
    guest.wait_for_function(
        "(old) => window.sampleApp.call.remoteParticipants.map((p) => p.participantId)"
        ".join() !== old",
        arg=before,
    )
    expect(guest.locator(".tile[data-name=Rae]")).to_have_count(1)  # the old tile is gone
    guest.evaluate("(n) => audioGrowsFrom(n)", "Rae")  # the new Rae is heard


def test_a_reloaded_web_app_page_is_back_in_its_1to1_call(
    contexts: list[BrowserContext], sample_app: SampleApp
) -> None:
    """A 1:1 call has no locator to join again: the SDK restores it after a reload (the same
    call, offered again from a new peer connection) and the app shows it."""
    caller = sign_in(contexts[0], sample_app.url, "Uma")
    callee = sign_in(contexts[1], sample_app.url, "Vic")
    befriend(caller, "Vic")
    expect(callee.locator("#friend-Uma")).to_be_visible()
    caller.get_by_role("button", name="Video call Vic").click()
    callee.get_by_role("button", name="Accept").click()
    for page in (caller, callee):
        expect_call_state(page, "Connected")
    call_id = callee.evaluate("window.sampleApp.call.id")

    reloaded_at = time.monotonic()
    caller.reload()
    expect(caller.locator("#call-state[data-state=Connected]")).to_be_visible(
        timeout=CALL_TIMEOUT_MS
    )
    print(f"reload → back in the 1:1 call in {time.monotonic() - reloaded_at:.2f} s")
    expect(caller.locator("#call-with")).to_have_text("Call with Vic")
    caller.wait_for_function("document.querySelector('#grid .tile.remote video')?.videoWidth > 0")
    assert callee.evaluate("window.sampleApp.call.id") == call_id  # the same call goes on
    expect_call_state(callee, "Connected")
    caller.get_by_role("button", name="Leave").click()
    expect(callee.locator("#end-reason")).to_have_text("Uma ended the call.")


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
