"""Issue 19's proof for the reference web app (examples/sample_app/static, "Switchboard
Meet") in Debian's Chromium: its main flows, driven by labels and roles, with screenshots, and
an accessibility check of each page state with axe-core (npm, pinned in tests/js).

- sign-in → the pre-join screen (camera preview running, device pickers filled: the camera is
  warm before any call) → chat (bubbles, typing indicator, "Seen" read receipt) → a 1:1 video
  call from a ringing toast → camera off shows the initials on the other side → the people
  panel → the other side hangs up: the end screen says why;
- a group call survives a reload: the reloaded page is back in the call by itself and the
  other side receives its media again.

axe runs inside the page (its own script, from tests/js/node_modules/axe-core) at each state:
sign-in, pre-join, chat, incoming call, in call, end screen; no "serious" or "critical"
violation of WCAG 2.1 A/AA or axe's best practices is allowed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.calling_peers import STATS_HELPER, SampleApp, artifacts_dir
from tests.e2e.webapp import (
    befriend,
    expect_call_state,
    join_from_prejoin,
    join_invitation,
    send_chat,
    sign_in,
)
from tests.integration.server import RunningServer, start_server

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """With coturn (--turn): the register ack's ICE servers answer, so gathering is quick."""
    env = {"SWITCHBOARD_TURN_PORT": "0"}
    running = start_server(tmp_path_factory.mktemp("webapp-browser"), "--turn", env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(2)]
    yield made
    for context in made:
        context.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now (the script is injected once)."""
    if not AXE.exists():
        pytest.fail("tests/js/node_modules is missing: npm ci --prefix tests/js (scripts/test)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const found = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return found.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
        }""",
        AXE_TAGS,
    )
    return result


def check_accessibility(page: Page, state: str, shots: Path) -> None:
    page.screenshot(path=str(shots / f"webapp-{state}.png"))
    violations = axe_violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    minor = [f"{v['id']} ({v['impact']})" for v in violations if v not in blocking]
    print(f"axe {state}: {len(blocking)} serious/critical, others: {minor or 'none'}")
    assert not blocking, f"{state}: {json.dumps(blocking, indent=1)}"


def test_sign_in_prejoin_chat_call_and_end_screen_are_usable_and_accessible(
    contexts: list[BrowserContext], sample_app: SampleApp, tmp_path: Path
) -> None:
    shots = artifacts_dir(tmp_path)
    alice = contexts[0].new_page()
    alice.on("pageerror", lambda error: print(f"[Alice] page error: {error}"))
    alice.goto(sample_app.url)
    expect(alice.get_by_role("heading", name="Sign in")).to_be_visible(timeout=15_000)
    check_accessibility(alice, "sign-in", shots)
    # By keyboard alone: the name field has the focus; Enter signs in.
    expect(alice.get_by_label("Your name")).to_be_focused()
    alice.keyboard.type("Alice")
    alice.keyboard.press("Enter")
    expect(alice.locator("#status")).to_have_text("Ready", timeout=15_000)
    bob = sign_in(contexts[1], sample_app.url, "Bob")

    # Pre-join: the camera preview runs and the pickers list the (fake) devices.
    expect(alice.get_by_role("heading", name="Ready when you are")).to_be_visible()
    alice.wait_for_function("document.querySelector('#preview video')?.videoWidth > 0")
    for picker in ("Camera", "Microphone", "Speaker"):
        assert alice.get_by_label(picker, exact=True).locator("option").count() >= 1
    check_accessibility(alice, "prejoin", shots)

    # Chat: bubbles, the typing indicator, and "Seen" once Bob's open chat has shown it.
    befriend(alice, "Bob")
    expect(bob.locator("#friend-Alice")).to_be_visible(timeout=10_000)
    alice.get_by_role("button", name="Chat with Bob").click()
    bob.get_by_role("button", name="Chat with Alice").click()
    send_chat(alice, "Are you free for a call?")
    expect(bob.locator("#messages .bubble.theirs .text")).to_have_text(["Are you free for a call?"])
    expect(alice.locator("#messages .bubble.mine .receipt")).to_have_text(["Seen"])
    bob.get_by_label("Message", exact=True).press_sequentially("Yes")
    expect(alice.locator("#typing")).to_have_text("Bob is typing…")
    bob.get_by_label("Message", exact=True).press("Enter")
    expect(alice.locator("#messages .bubble.theirs .text")).to_have_text(["Yes"])
    expect(alice.locator("#messages time")).to_have_count(2)
    check_accessibility(alice, "chat", shots)

    # A call: Bob's page rings (a toast and a WebAudio tone) until he accepts.
    alice.get_by_role("button", name="Video call Bob").click()
    toast = bob.get_by_role("alertdialog", name="Alice is calling you")
    expect(toast).to_be_visible(timeout=10_000)
    assert bob.evaluate("window.sampleApp.toasts.ringtone.isRinging") is True
    check_accessibility(bob, "incoming-call", shots)
    expect(toast.get_by_role("button", name="Accept")).to_be_focused()
    bob.keyboard.press("Enter")  # the ringing toast takes the focus: Enter accepts
    assert bob.evaluate("window.sampleApp.toasts.ringtone.isRinging") is False
    for page in (alice, bob):
        expect_call_state(page, "Connected")
        page.wait_for_function("document.querySelector('#grid .tile.remote video')?.videoWidth > 0")
    check_accessibility(alice, "in-call", shots)

    # The network goes away and comes back: the banner says so, and the call goes on.
    contexts[0].set_offline(True)
    banner = alice.get_by_role("alert").filter(has_text="Reconnecting")
    expect(banner).to_be_visible()
    alice.screenshot(path=str(shots / "webapp-reconnecting.png"))
    contexts[0].set_offline(False)
    expect(banner).to_be_hidden(timeout=20_000)
    expect_call_state(alice, "Connected")

    # Camera off: Bob sees Alice's initials instead of a frozen last frame.
    alice.get_by_role("button", name="Turn camera off").click()
    alice_tile = bob.locator(".tile[data-name=Alice]")
    expect(alice_tile).not_to_have_class(re.compile(r"\bvideo-on\b"))
    expect(alice_tile.locator(".avatar")).to_be_visible()
    expect(alice_tile.locator(".avatar")).to_have_text("A")
    expect(alice.get_by_role("button", name="Turn camera on")).to_be_visible()

    # The people panel: both, with the muted mark.
    bob.get_by_role("button", name="Mute", exact=True).click()
    alice.get_by_role("button", name="People (2)").click()
    people = alice.locator("#participant-list")
    expect(people.locator(".person-name")).to_have_text(["Alice (you)", "Bob"])
    expect(people.locator(".person", has_text="Bob").get_by_text("Muted")).to_be_visible()
    alice.screenshot(path=str(shots / "webapp-people.png"))

    bob.get_by_role("button", name="Leave").click()
    expect(alice.get_by_role("heading", name="Call ended")).to_be_visible(timeout=10_000)
    expect(alice.locator("#end-reason")).to_have_text("Bob ended the call.")
    expect(alice.get_by_role("button", name="Call again")).to_be_visible()
    check_accessibility(alice, "end", shots)
    alice.get_by_role("button", name="Back to start").click()
    expect(alice.get_by_role("heading", name="Ready when you are")).to_be_visible()
    print(f"screenshots: {shots}")


def test_a_reloaded_page_is_back_in_its_group_call(
    contexts: list[BrowserContext], sample_app: SampleApp
) -> None:
    """The reloaded page rejoins by itself (sessionStorage); its old self leaves at once (the
    SDK unregisters on pagehide), so the other side never keeps a frozen tile of it."""
    helpers = STATS_HELPER + GROUP_HELPER
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
    back_in = time.monotonic() - reloaded_at
    print(f"reload → back in the group call (Connected) in {back_in:.2f} s")
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


# In a group call: until a named participant's tile shows video with frames (videoWidth > 0);
# until the inbound audio bytes of the SFU's m-lines mapped to a named participant grow.
GROUP_HELPER = """
window.videoFrom = (name) => until(() => {
  const video = document.querySelector(`.tile[data-name="${name}"] video`);
  return video && video.videoWidth > 0;
}, `video from ${name}`, 20000);
window.audioFrom = async (name) => {
  const call = window.sampleApp.call;
  const id = window.sampleApp.directory.find((u) => u.name === name)?.userId;
  const who = call.remoteParticipants.find((p) => p.identifier.communicationUserId === id);
  const mids = new Set(call.remoteStreams
    .filter((s) => s.participantId === who?.participantId && s.kind === "audio")
    .map((s) => s.mid));
  let bytes = 0;
  (await call.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && mids.has(s.mid)) bytes += s.bytesReceived ?? 0;
  });
  return bytes;
};
window.audioGrowsFrom = async (name) => {
  const first = await until(() => audioFrom(name), `audio from ${name}`, 20000);
  return until(async () => (await audioFrom(name)) > first, `more audio from ${name}`, 20000);
};
"""
