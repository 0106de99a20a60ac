"""Issue 14's IVR proof with a browser agent: a virtual phone dials the IVR sample, hears the
menu, presses 1, and the agent's page in Chromium gets the transferred call with audio both ways.

    virtual phone (admin API)        server (subprocess, TLS)          IVR (examples/ivr, here)
    :dial the IVR's number ────────▶ IncomingCall ───────────────────▶ answer_call
                                     CallConnected ──────────────────▶ recognize (menu prompt)
    heard: loudFrames ◀──────────── espeak-ng menu
    :press 1 ──────────────────────▶ in-band DTMF → RecognizeCompleted ▶ transfer to the agent
                                     rings the agent's device ───────▶ Chromium page (calling.js)
                                                                        accept()
    :say a sentence ────────────────────────────────────────────────▶ inbound audio energy
    heard: loudFrames grow ◀─────────────────────────────────────────── fake microphone beeps
    state idle ◀─────────────────── the call ends ◀──────────────────── hangUp()

The IVR's Starlette app serves on its own loop thread (Playwright's sync API owns the test's
thread), on 127.0.0.1 and a free port; ``examples.ivr.setup`` buys the number and subscribes
IncomingCall, as ``python -m examples.ivr`` does. The phone is driven through the simulator's
admin API (docs/voice-simulator.md), signed with the access key; the API has no event stream,
so its status is polled. "What the page hears" is ``getStats()``'s ``totalAudioEnergy`` of its
inbound audio (the phone is the transferred call's only other participant), over windows.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
import uvicorn
from azure.communication.identity import CommunicationIdentityClient
from examples.ivr.app import Ivr, IvrSettings, create_app
from examples.ivr.setup import phone_number, subscribe_incoming_calls
from examples.sample_app.settings import AppSettings
from playwright.sync_api import Browser, Page

from tests.acs_signing import parse_connection_string, sign
from tests.e2e.calling_peers import STATS_HELPER, EventLoopThread
from tests.integration.server import RunningServer, start_server
from tests.integration.voice_phones import loud_frames

CALL_TIMEOUT_MS = 30_000  # IVR, transfer, ringing and media set-up on a loaded 2-core machine
PHONE_SECONDS = 30.0  # for the phone to reach a state (menu heard, agent heard, idle)
MENU_LOUD_FRAMES = 40  # 0.8 s of the menu's speech: the IVR answered and is asking
# Chromium's fake microphone beeps (short tones, about one a second): a few seconds of them.
AGENT_LOUD_FRAMES = 20
WINDOW_MS = 400  # one energy measurement on the page
# totalAudioEnergy grows by (audio level)² × seconds: espeak-ng speech measured ~1e-1 a window,
# a silent phone 0 to ~1e-10 (silence sent, or concealment fading out).
SPEECH_ENERGY = 1e-4
SILENCE_ENERGY = 1e-6
SENTENCE = "Hello, I would like to buy a phone. Can you tell me about your offers, please?"

# Energy of the page's inbound audio over a window; `firstWindow` waits for one passing `test`.
ENERGY_HELPER = """
window.windowEnergy = async (call, ms) => {
  const before = (await inbound(call, "audio")).energy;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await inbound(call, "audio")).energy - before;
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


@dataclass
class SimulatorPhone:
    """One virtual phone of the server's simulator carrier, through its signed admin API."""

    server: RunningServer
    number: str

    def request(self, action: str = "", body: Any = None) -> dict[str, Any]:
        """The phone's status after ``action`` (none: just its status)."""
        endpoint, key = parse_connection_string(self.server.connection_string)
        path = f"/admin/simulator/voice/phones/{quote(self.number)}"
        method, target = ("POST", f"{path}:{action}") if action else ("GET", path)
        content = b"" if body is None else json.dumps(body).encode()
        headers = sign(method, target, urlsplit(endpoint).netloc, content, key)
        verify = ssl.create_default_context(cafile=self.server.ca_path)
        response = httpx.request(
            method, endpoint + target, content=content, headers=headers, verify=verify
        )
        assert response.status_code in (200, 202), response.text
        status: dict[str, Any] = response.json()
        return status

    def until(self, done: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """Polls the status until ``done`` (the admin API has no event stream to await)."""
        deadline = time.monotonic() + PHONE_SECONDS
        while True:
            status = self.request()
            if done(status):
                return status
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {status}"
            time.sleep(0.05)

    def loud_frames(self) -> int:
        return loud_frames(self.request())


@dataclass
class ServedIvr:
    ivr: Ivr
    public_url: str

    def log(self) -> list[str]:
        return list(self.ivr.log)  # appended on the IVR's threads: read a copy


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("ivr-browser"))
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
def agent_page(browser: Browser, server: RunningServer) -> Iterator[tuple[str, Page]]:
    """The agent: a voip user signed in through ``/sdk/calling.js`` whose page accepts the first
    incoming call at once; ``window.accepted`` resolves when it has (to the caller's id)."""
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
            window.incoming = 0;
            window.accepted = new Promise((resolve, reject) => {
                agent.on("incomingCall", ({ incomingCall }) => {
                    window.incoming += 1;
                    const caller = incomingCall.callerInfo.identifier;
                    incomingCall.accept().then((call) => {
                        window.call = call;
                        states.push(call.state);
                        call.on("stateChanged", () => states.push(call.state));
                        resolve(caller);
                    }, reject);
                });
            });
        }""",
        [server.endpoint, token.token],
    )
    yield str(user.properties["id"]), page
    page.evaluate("window.agent.dispose()")
    context.close()


@pytest.fixture
def served_ivr(server: RunningServer, agent_page: tuple[str, Page]) -> Iterator[ServedIvr]:
    """examples/ivr's app for the agent, served on 127.0.0.1 (a free port) on a loop thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # Event Grid's validation handshake waits here until uvicorn serves
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = AppSettings(server.connection_string, server.ca_path)
    app, ivr = create_app(IvrSettings(settings, public, agent_page[0]))
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    loop = EventLoopThread()
    serving: Future[None] = asyncio.run_coroutine_threadsafe(
        uvicorn_server.serve(sockets=[sock]), loop.loop
    )
    yield ServedIvr(ivr, public)
    uvicorn_server.should_exit = True
    serving.result(30)
    loop.close()
    sock.close()


def first_window(page: Page, test: str, what: str) -> dict[str, Any]:
    """The first window whose inbound energy passes ``test`` (a JS predicate of the value)."""
    found: dict[str, Any] = page.evaluate(
        f"([ms, what, timeout]) => firstWindow(window.call, ms, {test}, what, timeout)",
        [WINDOW_MS, what, CALL_TIMEOUT_MS],
    )
    return found


def until_logged(served: ServedIvr, entry: str) -> None:
    """Polls the IVR's log (the sample keeps no event to await) until it has ``entry``."""
    deadline = time.monotonic() + PHONE_SECONDS
    while entry not in served.log():
        assert time.monotonic() < deadline, f"the IVR never logged {entry}: {served.log()}"
        time.sleep(0.05)


def test_a_phone_reaches_a_browser_agent_through_the_ivr_menu(
    server: RunningServer, agent_page: tuple[str, Page], served_ivr: ServedIvr
) -> None:
    _, page = agent_page
    settings = AppSettings(server.connection_string, server.ca_path)
    number = phone_number(settings)
    subscribe_incoming_calls(settings, "ivr-browser", f"{served_ivr.public_url}/events", number)
    caller = SimulatorPhone(server, f"+1312555{uuid.uuid4().int % 10_000:04d}")
    try:
        # The phone dials the IVR and hears its menu, then presses 1 (sales: the agent).
        caller.request("dial", {"to": number})
        menu = caller.until(
            lambda s: (s["heard"] or {}).get("loudFrames", 0) >= MENU_LOUD_FRAMES, "the menu"
        )
        assert menu["state"] == "connected" and menu["peer"] == number, menu
        assert page.evaluate("window.incoming") == 0, "the agent rang before the choice"
        caller.request("press", {"keys": "1"})

        # The agent's page rings with the phone's call and accepts it.
        rang_from = page.evaluate(
            """(ms) => Promise.race([window.accepted, new Promise((_, reject) =>
                setTimeout(() => reject(new Error("the agent's page never rang")), ms))])""",
            CALL_TIMEOUT_MS,
        )
        page.wait_for_function("window.call.state === 'Connected'", timeout=CALL_TIMEOUT_MS)
        assert "chose sales" in served_ivr.log(), served_ivr.log()
        until_logged(served_ivr, "CallTransferAccepted")
        participants = page.evaluate("window.call.remoteParticipants.map((p) => p.identifier)")
        print("the agent's page rang from", rang_from, "and is in a call with", participants)
        # The phone alone (the IVR left), as ACS's common package spells a phone.
        assert participants == [
            {"kind": "phoneNumber", "phoneNumber": caller.number, "rawId": f"4:{caller.number}"}
        ], participants

        # Phone → agent: quiet while the phone is silent, speech while it says a sentence.
        silent = float(page.evaluate(f"windowEnergy(window.call, {WINDOW_MS})"))
        assert silent < SILENCE_ENERGY, f"inbound energy {silent:.2e} before the phone spoke"
        caller.request("say", {"text": SENTENCE})
        loud = first_window(page, f"(e) => e > {SPEECH_ENERGY}", "the phone's speech")

        # Agent → phone: the phone hears the page's fake microphone.
        before = caller.loud_frames()
        heard = caller.until(lambda s: loud_frames(s) >= before + AGENT_LOUD_FRAMES, "the agent")
        print(
            f"page inbound energy per {WINDOW_MS} ms: silent {silent:.2e}, phone speaking"
            f" {loud['value']:.2e} (after {loud['afterMs']} ms); phone loud frames: menu"
            f" {menu['heard']['loudFrames']}, at transfer {before}, then"
            f" {heard['heard']['loudFrames']}"
        )

        # The agent hangs up; the phone's call ends normally.
        page.evaluate("window.call.hangUp()")
        page.wait_for_function("window.call.state === 'Disconnected'", timeout=CALL_TIMEOUT_MS)
        reason = page.evaluate("window.call.callEndReason")
        assert (reason["code"], reason["subCode"]) == (0, 0), reason
        ended = caller.until(lambda s: s["state"] == "idle", "the phone to hang up")
        assert ended["lastResult"]["code"] == 0, ended
        assert page.evaluate("window.incoming") == 1
        # (answer_call may return after the CallConnected callback: no order between them)
        wanted = {f"answered 4:{caller.number}", "CallConnected", "RecognizeCompleted"}
        assert wanted <= set(served_ivr.log()), served_ivr.log()
    finally:
        print("ivr log:", served_ivr.log(), "phone:", caller.request())
