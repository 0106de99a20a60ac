"""Phone calls over a SIP trunk from and to Chromium (the browser SDK, /sdk/calling.js), with
SIPp playing the carrier against a server subprocess whose one trunk is SIPp's port:

    page ─startCall([{phoneNumber}], {alternateCallerId: our number})─▶ server ─INVITE─▶
        SIPp (uas_progress_answer: 180 after 0.6 s, then a 183 and a 200 whose SDP name the
        test's RTP end, a TonePhone): the page is Connecting until the 180, Ringing, hears
        the 183's early media (the TonePhone answers any RTP with its tone) while it rings,
        Connected: the page's inbound audio grows and has energy (the phone's 440 Hz tone);
        the phone hears the page's fake microphone ─▶ the page hangs up ─▶ SIPp gets BYE
    SIPp hangs up first (uas_hangs_up) ─▶ the page's call ends 0/0
    the IVR sample (examples/ivr) over the trunk: SIPp calls our number, presses 1 (RFC 4733)
        and talks (g711a.pcap) ─▶ the IVR recognizes the key and transfers to the agent's
        page, which rings, accepts and hears the phone

SIPp runs as a subprocess for one call each (``-m 1``); the TonePhone's socket lives on a
loop thread of its own (Playwright's sync API owns the test's thread).
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.communication.identity import CommunicationIdentityClient
from examples.ivr.setup import phone_number, subscribe_incoming_calls
from examples.sample_app.settings import AppSettings
from playwright.sync_api import Browser, Page

from tests.e2e.calling_peers import STATS_HELPER, EventLoopThread
from tests.e2e.test_ivr_browser import (
    CALL_TIMEOUT_MS,
    ENERGY_HELPER,
    SPEECH_ENERGY,
    WINDOW_MS,
    ServedIvr,
    agent_page,
    first_window,
    served_ivr,
    until_logged,
)
from tests.integration.server import RunningServer, start_server
from tests.integration.sipp_carrier import SCENARIOS, SIPP, TonePhone, free_udp_port

__all__ = ["agent_page", "served_ivr"]

CALLEE = "+15550001234"  # the route sends +1555… to SIPp's trunk
SIPP_SECONDS = 60.0
PHONE_LOUD_FRAMES = 10  # the page's fake microphone beeps: a few of them heard by the phone


@pytest.fixture(scope="module")
def trunk_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="module")
def sip_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, trunk_port: int, sip_port: int
) -> Iterator[RunningServer]:
    assert SIPP is not None, "sipp (Debian sip-tester) is missing: scripts/test installs it"
    trunk = {"name": "sipp", "host": "127.0.0.1", "port": trunk_port, "options_seconds": 0}
    route = {"name": "test", "pattern": r"\+1555[0-9]{7}", "trunks": ["sipp"]}
    env = {
        "SWITCHBOARD_SIP_PORT": str(sip_port),
        "SWITCHBOARD_TRUNKS": json.dumps([trunk]),
        "SWITCHBOARD_ROUTES": json.dumps([route]),
    }
    running = start_server(tmp_path_factory.mktemp("sip-browser"), env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(scope="module")
def our_number(server: RunningServer) -> str:
    """A purchased number with inbound and outbound calling (the IVR's, and our caller id)."""
    return phone_number(AppSettings(server.connection_string, server.ca_path))


@pytest.fixture(scope="module")
def loop() -> Iterator[EventLoopThread]:
    thread = EventLoopThread()
    yield thread
    thread.close()


@pytest.fixture
def tone_phone(loop: EventLoopThread) -> Iterator[tuple[TonePhone, int]]:
    async def open_phone() -> tuple[Any, TonePhone]:
        return await loop.loop.create_datagram_endpoint(TonePhone, local_addr=("127.0.0.1", 0))

    transport, phone = loop.run(open_phone())
    yield phone, int(transport.get_extra_info("sockname")[1])
    loop.loop.call_soon_threadsafe(transport.close)


def sipp(scenario: str, port: int, *args: str) -> subprocess.Popen[bytes]:
    assert SIPP is not None
    return subprocess.Popen(
        [
            *(SIPP, *args, "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1"),
            *("-p", str(port), "-m", "1", "-timeout", "60", "-timeout_error", "-nostdin"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finished(process: subprocess.Popen[bytes]) -> int:
    """SIPp's exit status once its one call is over (0: every message came, in order)."""
    _, stderr = process.communicate(timeout=SIPP_SECONDS)
    if process.returncode != 0:
        print(stderr.decode(errors="replace"))
    return process.returncode


@pytest.fixture
def caller_page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    """A voip user signed in through ``/sdk/calling.js`` (``window.agent``)."""
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    _, token = identity.create_user_and_token(scopes=["voip"])
    context = browser.new_context()
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}"))
    page.goto(f"{server.endpoint}/health")
    page.evaluate(f"() => {{ {STATS_HELPER} {ENERGY_HELPER} }}")
    page.evaluate(
        """async ([endpoint, token]) => {
            const { CallClient } = await import("/sdk/calling.js");
            window.agent = await new CallClient({ endpoint }).createCallAgent(token);
        }""",
        [server.endpoint, token.token],
    )
    yield page
    page.evaluate("window.agent.dispose()")
    context.close()


def start_call(page: Page, number: str, caller_id: str) -> None:
    """``window.call``: the page calls ``number``; ``window.states`` records its states."""
    page.evaluate(
        """([number, callerId]) => {
            window.call = agent.startCall([{ phoneNumber: number }],
                { alternateCallerId: { phoneNumber: callerId } });
            window.states = [call.state];
            call.on("stateChanged", () => states.push(call.state));
        }""",
        [number, caller_id],
    )


def ended_with(page: Page) -> dict[str, Any]:
    page.wait_for_function("window.call.state === 'Disconnected'", timeout=CALL_TIMEOUT_MS)
    reason: dict[str, Any] = page.evaluate("window.call.callEndReason")
    return reason


def test_the_page_calls_a_number_hears_the_phone_and_the_phone_hears_it(
    caller_page: Page, our_number: str, trunk_port: int, tone_phone: tuple[TonePhone, int]
) -> None:
    page = caller_page
    phone, rtp_port = tone_phone
    carrier = sipp("uas_progress_answer.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    start_call(page, CALLEE, our_number)
    page.wait_for_function("window.call.state === 'Ringing'", timeout=CALL_TIMEOUT_MS)
    early = page.evaluate(
        """async ([ms, energy, timeout]) => {
            const found = await firstWindow(window.call, ms, (e) => e > energy, "early media",
                timeout);
            return { ...found, state: window.call.state };
        }""",
        [WINDOW_MS, SPEECH_ENERGY, CALL_TIMEOUT_MS],
    )
    assert early["state"] == "Ringing", early  # heard before the 200 (2.5 s after the 183)
    page.wait_for_function("window.call.state === 'Connected'", timeout=CALL_TIMEOUT_MS)
    assert page.evaluate("window.states") == ["Connecting", "Ringing", "Connected"]
    assert page.evaluate("window.call.remoteParticipants.map((p) => p.identifier)") == [
        {"kind": "phoneNumber", "phoneNumber": CALLEE, "rawId": f"4:{CALLEE}"}
    ]
    first, later = page.evaluate("inboundGrowth(window.call, 'audio')")
    loud = first_window(page, f"(e) => e > {SPEECH_ENERGY}", "the phone's tone")
    phone_heard = loop_wait(lambda: phone.loud_frames >= PHONE_LOUD_FRAMES)
    print(
        f"page inbound audio bytes {first} → {later}, energy {loud['value']:.2e} per"
        f" {WINDOW_MS} ms; the phone heard {phone.loud_frames} loud frames of {phone.frames}"
    )
    assert later > first and phone_heard
    page.evaluate("window.call.hangUp()")
    reason = ended_with(page)
    assert (reason["code"], reason["subCode"]) == (0, 0), reason
    assert finished(carrier) == 0  # it got our BYE and answered it


def test_the_phone_hanging_up_first_ends_the_pages_call(
    caller_page: Page, our_number: str, trunk_port: int, tone_phone: tuple[TonePhone, int]
) -> None:
    _, rtp_port = tone_phone
    carrier = sipp("uas_hangs_up.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    start_call(caller_page, CALLEE, our_number)
    reason = ended_with(caller_page)
    assert (reason["code"], reason["subCode"]) == (0, 0), reason
    assert "Connected" in caller_page.evaluate("window.states")
    assert finished(carrier) == 0  # its BYE got our 200


def test_the_ivr_sample_over_the_trunk_transfers_a_key_press_to_the_agents_page(
    server: RunningServer,
    agent_page: tuple[str, Page],
    served_ivr: ServedIvr,
    our_number: str,
    sip_port: int,
    trunk_port: int,
) -> None:
    _, page = agent_page
    settings = AppSettings(server.connection_string, server.ca_path)
    subscribe_incoming_calls(settings, "ivr-sip", f"{served_ivr.public_url}/events", our_number)
    caller = f"+1555000{uuid.uuid4().int % 10_000:04d}"
    phone = sipp(
        "uac_ivr.xml",
        trunk_port,
        f"127.0.0.1:{sip_port}",
        *("-s", our_number, "-key", "caller", caller, "-mp", str(free_udp_port())),
    )
    try:
        page.evaluate(
            """(ms) => Promise.race([window.accepted, new Promise((_, reject) =>
                setTimeout(() => reject(new Error("the agent's page never rang")), ms))])""",
            CALL_TIMEOUT_MS,
        )
        page.wait_for_function("window.call.state === 'Connected'", timeout=CALL_TIMEOUT_MS)
        assert "chose sales" in served_ivr.log(), served_ivr.log()
        until_logged(served_ivr, "CallTransferAccepted")
        participants = page.evaluate("window.call.remoteParticipants.map((p) => p.identifier)")
        assert participants == [
            {"kind": "phoneNumber", "phoneNumber": caller, "rawId": f"4:{caller}"}
        ], participants
        loud = first_window(page, f"(e) => e > {SPEECH_ENERGY}", "the phone's speech")
        print(f"the agent hears the phone: {loud['value']:.2e} per {WINDOW_MS} ms")
        page.evaluate("window.call.hangUp()")
        reason = ended_with(page)
        assert (reason["code"], reason["subCode"]) == (0, 0), reason
        assert finished(phone) == 0  # the agent left: the phone got BYE
    finally:
        if phone.poll() is None:
            phone.kill()
        print("ivr log:", served_ivr.log())


def loop_wait(done: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Polls ``done()`` (the TonePhone counts on its loop thread) for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
