"""Issue 14's Chromium proof: Call Automation calls a browser user.

    test (the app)                           server (subprocess, TLS)        Chromium page
    CallAutomationClient.create_call(user) ─▶ rings the user's device ─────▶ incomingCall
                                                                               accept() (joins
    CallbackReceiver ◀─ CallConnected ◀────── media endpoint + the SFU ◀────── the conference)
    play_media(TextSource)  ─────────────────▶ espeak-ng ──▶ RTP ────────────▶ inbound energy
    ◀─ PlayCompleted                                                           back to silence
    start_recognizing_media(DTMF, prompt)  ──▶ prompt ───────────────────────▶ (prompt heard)
    ◀─ RecognizeCompleted ["one"] ◀────────── RFC 4733 ◀─────────────────────── sendDtmf("Num1")
    hang_up(is_for_everyone=True) ──────────▶ ends the call ──────────────────▶ Disconnected
    ◀─ CallDisconnected

The page is a document of the server (``/health``) importing ``/sdk/calling.js``; the app is
the official ``azure-communication-callautomation`` SDK over TLS with the server's CA, and its
callbacks go to a real HTTP server on 127.0.0.1 (plain http is allowed in development mode).
"What the page hears" is ``getStats()``'s ``totalAudioEnergy`` of its inbound audio from the
app's media endpoint (the only other participant), read over measured windows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    DtmfTone,
    RecognizeInputType,
    TextSource,
)
from azure.communication.identity import CommunicationIdentityClient
from playwright.sync_api import Browser, Page

from tests.callback_receiver import CallbackReceiver
from tests.e2e.calling_peers import STATS_HELPER, EventLoopThread
from tests.integration.server import RunningServer, start_server

CALL_TIMEOUT_MS = 30_000  # ringing, accepting and media set-up on a loaded 2-core machine
EVENT_SECONDS = 30.0  # a callback from the server
WINDOW_MS = 400  # one energy measurement
# totalAudioEnergy grows by (audio level)² × seconds. A window of espeak-ng speech measured
# ~1e-1; a quiet one 0 to ~1e-10 (nothing sent, or concealment fading out).
SPEECH_ENERGY = 1e-4
SILENCE_ENERGY = 1e-6
TAIL_MS = 3_000  # after PlayCompleted, silence must come within this (jitter buffer, delivery)
STAYS_QUIET_MS = 1_500  # and then last this long (no gap between words taken for the end)
# Long enough that, if the key press did not interrupt it, it would still be playing while the
# test looks for silence after RecognizeCompleted (tail and check included).
MENU = (
    "Press one for sales, two for support, three for billing, or four for the operator."
    " To hear these options again, stay on the line, and they will be repeated in a moment."
)

# Energy of the page's inbound audio from the app: the inbound-rtp of the SFU's audio streams
# (`remoteStreams`, mid → participant; the app's media endpoint is the call's only one), read
# over windows. `firstWindow` waits for a window that passes `test`.
ENERGY_HELPER = """
window.appEnergy = async (call) => {
  const mids = new Set(call.remoteStreams.filter((s) => s.kind === "audio").map((s) => s.mid));
  const midOfTrack = new Map(
    call.peerConnection.getTransceivers().map((t) => [t.receiver.track.id, t.mid]));
  let energy = 0;
  (await call.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "audio") return;
    if (mids.has(s.mid ?? midOfTrack.get(s.trackIdentifier))) energy += s.totalAudioEnergy ?? 0;
  });
  return energy;
};
window.windowEnergy = async (call, ms) => {
  const before = await appEnergy(call);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await appEnergy(call)) - before;
};
window.firstWindow = async (call, ms, test, what, timeoutMs) => {
  const started = Date.now();
  for (;;) {
    const value = await windowEnergy(call, ms);
    if (test(value)) return { value, afterMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
  }
};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("automation-browser"))
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
def receiver() -> Iterator[tuple[EventLoopThread, CallbackReceiver]]:
    """A CallbackReceiver serving on a loop of its own (Playwright owns the test's thread)."""
    loop = EventLoopThread()
    started = loop.run(CallbackReceiver().start())
    yield loop, started
    loop.run(started.stop())
    loop.close()


@pytest.fixture
def user_page(browser: Browser, server: RunningServer) -> Iterator[tuple[str, Page]]:
    """A voip user signed in through ``/sdk/calling.js``; ``window.accepted`` resolves to the
    Call of the first incoming call, which the page accepts at once."""
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    user, token = identity.create_user_and_token(scopes=["voip"])
    context = browser.new_context()
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    page.goto(f"{server.endpoint}/health")
    page.evaluate(f"() => {{ {STATS_HELPER} {ENERGY_HELPER} }}")
    page.evaluate(
        """async ([endpoint, token]) => {
            const { CallClient } = await import("/sdk/calling.js");
            window.agent = await new CallClient({ endpoint }).createCallAgent(token);
            window.states = [];
            window.accepted = new Promise((resolve, reject) => {
                agent.on("incomingCall", ({ incomingCall }) => {
                    incomingCall.accept().then((call) => {
                        window.call = call;
                        states.push(call.state);
                        call.on("stateChanged", () => states.push(call.state));
                        resolve(call);
                    }, reject);
                });
            });
        }""",
        [server.endpoint, token.token],
    )
    yield str(user.properties["id"]), page
    page.evaluate("window.agent.dispose()")
    context.close()


async def next_event(receiver: CallbackReceiver, kind: str) -> dict[str, Any]:
    """The data of the first callback event ``Microsoft.Communication.<kind>`` (waits for it)."""
    wanted = f"Microsoft.Communication.{kind}"
    async with asyncio.timeout(EVENT_SECONDS):
        while True:
            events = [event for callback in receiver.accepted for event in callback.events]
            for event in events:
                if event["type"] == wanted:
                    data: dict[str, Any] = event["data"]
                    return data
            await receiver.wait_for_events(len(events) + 1, EVENT_SECONDS)


def window_energy(page: Page, test: str, what: str, timeout_ms: int) -> dict[str, Any]:
    """The first window whose inbound energy passes ``test`` (a JS predicate of the value)."""
    found: dict[str, Any] = page.evaluate(
        f"([ms, what, timeout]) => firstWindow(window.call, ms, {test}, what, timeout)",
        [WINDOW_MS, what, timeout_ms],
    )
    return found


def speech(page: Page) -> dict[str, Any]:
    """The first loud window (waits for the app's speech to reach the page)."""
    return window_energy(page, f"(e) => e > {SPEECH_ENERGY}", "speech", CALL_TIMEOUT_MS)


def silence_within_tail(page: Page) -> tuple[dict[str, Any], float]:
    """A quiet window within TAIL_MS, then the energy of the STAYS_QUIET_MS after it."""
    quiet = window_energy(page, f"(e) => e < {SILENCE_ENERGY}", "silence", TAIL_MS)
    after = float(page.evaluate(f"windowEnergy(window.call, {STAYS_QUIET_MS})"))
    return quiet, after


def test_the_app_calls_a_browser_user_plays_speech_recognizes_its_key_and_hangs_up(
    server: RunningServer,
    receiver: tuple[EventLoopThread, CallbackReceiver],
    user_page: tuple[str, Page],
) -> None:
    loop, callbacks = receiver
    user_id, page = user_page
    user = CommunicationUserIdentifier(user_id)

    def event(kind: str) -> dict[str, Any]:
        return loop.run(next_event(callbacks, kind), EVENT_SECONDS + 5)

    client = CallAutomationClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    created = client.create_call(user, callbacks.url("/calls"), operation_context="to-browser")
    page.evaluate("window.accepted")
    page.wait_for_function("window.call.state === 'Connected'", timeout=CALL_TIMEOUT_MS)
    connected = event("CallConnected")
    assert connected["callConnectionId"] == created.call_connection_id
    assert connected["operationContext"] == "to-browser"
    connection = client.get_call_connection(str(created.call_connection_id))

    # The app's media endpoint is the call's one stream, not a remote participant.
    streams = page.evaluate("window.call.remoteStreams")
    assert [s["kind"] for s in streams] == ["audio"], streams
    assert page.evaluate("window.call.remoteParticipants.length") == 0

    # Speech while it plays (the SDK's Play is asynchronous: PlayStarted, then PlayCompleted).
    connection.play_media(
        TextSource(text="Welcome to Switchboard. This call is placed by an application."),
        operation_context="welcome",
    )
    loud = speech(page)
    completed = event("PlayCompleted")
    assert completed["operationContext"] == "welcome"
    # ... and silence again after PlayCompleted, within a short tail.
    quiet, stays = silence_within_tail(page)
    assert stays < SILENCE_ENERGY
    print(
        f"app audio energy per {WINDOW_MS} ms window: playing {loud['value']:.2e}"
        f" (the first loud window after {loud['afterMs']} ms); after PlayCompleted"
        f" {quiet['value']:.2e} (quiet after {quiet['afterMs']} ms), then {stays:.2e}"
        f" over {STAYS_QUIET_MS} ms"
    )

    # The page's key press ends a recognize whose prompt it is hearing, and interrupts it.
    connection.start_recognizing_media(
        RecognizeInputType.DTMF,
        user,
        play_prompt=TextSource(text=MENU),
        interrupt_prompt=True,
        dtmf_max_tones_to_collect=1,
        operation_context="menu",
    )
    speech(page)
    page.evaluate("window.call.sendDtmf('Num1')")
    recognized = event("RecognizeCompleted")
    assert recognized["operationContext"] == "menu"
    assert recognized["dtmfResult"]["tones"] == [DtmfTone.ONE.value] == ["one"]
    quiet, stays = silence_within_tail(page)
    assert stays < SILENCE_ENERGY, "the prompt went on after the key press"
    print(f"prompt interrupted: quiet after {quiet['afterMs']} ms, then {stays:.2e}")

    connection.hang_up(is_for_everyone=True)
    page.wait_for_function("window.call.state === 'Disconnected'", timeout=CALL_TIMEOUT_MS)
    disconnected = event("CallDisconnected")
    assert disconnected["callConnectionId"] == created.call_connection_id
    reason = page.evaluate("window.call.callEndReason")
    assert (reason["code"], reason["subCode"]) == (0, 0), reason  # a normal end, not a failure
    states = page.evaluate("window.states")
    assert states[-1] == "Disconnected" and "Connected" in states, states
    assert page.evaluate("window.agent.calls.length") == 0
    kinds = [e["type"].rsplit(".", 1)[1] for c in callbacks.accepted for e in c.events]
    wanted = ["CallConnected", "PlayStarted", "PlayCompleted", "RecognizeCompleted"]
    assert [kind for kind in kinds if kind in wanted] == wanted, kinds
    print("callbacks:", kinds)
    assert kinds[-1] == "CallDisconnected", kinds
