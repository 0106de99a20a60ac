"""Driving the sample app's web client (examples/sample_app/static) the way a user does: by
the labels and roles of its controls (the page is keyboard-operable with labelled controls, so
the tests find what a screen reader announces).

- ``sign_in``: a new page of ``context`` signed in as ``name`` (status "Ready");
- ``befriend``: add a contact by name;
- ``expect_call_state``: the call's state as the SDK says it (``data-state``; the page shows
  it in words);
- ``join_from_prejoin``: the pre-join screen's "Join now";
- ``check_accessibility``: a screenshot, and axe-core (npm, pinned in tests/js, injected into
  the page) finds no "serious" or "critical" violation of WCAG 2.1 A/AA or its best practices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

CALL_TIMEOUT_MS = 15_000
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}


def sign_in(context: BrowserContext, url: str, name: str, helpers: str = "") -> Page:
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"[{name}] page error: {error}"))
    page.goto(url)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#status")).to_have_text("Ready", timeout=CALL_TIMEOUT_MS)
    if helpers:
        page.evaluate(f"() => {{ {helpers} }}")
    return page


def befriend(page: Page, name: str) -> None:
    page.get_by_label("Add a contact by name").fill(name)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(f"#friend-{name}")).to_be_visible(timeout=10_000)


def send_chat(page: Page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def expect_call_state(page: Page, state: str, timeout: int = CALL_TIMEOUT_MS) -> None:
    expect(page.locator("#call-state")).to_have_attribute("data-state", state, timeout=timeout)


def join_from_prejoin(page: Page) -> None:
    """The pre-join screen of a group call or meeting is up: join."""
    expect(page.locator("#prejoin-actions")).to_be_visible()
    page.get_by_role("button", name="Join now").click()


def join_invitation(page: Page, text: str) -> None:
    """Join through the ringing invitation toast whose text is ``text``, then the pre-join."""
    toast = page.get_by_role("alertdialog", name=text)
    expect(toast).to_be_visible(timeout=10_000)
    expect(toast).to_have_attribute("data-ringing", "true")
    toast.get_by_role("button", name="Join").click()
    join_from_prejoin(page)


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
    """Screenshot ``webapp-<state>.png`` into ``shots``; no serious or critical axe violation."""
    page.screenshot(path=str(shots / f"webapp-{state}.png"))
    violations = axe_violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    minor = [f"{v['id']} ({v['impact']})" for v in violations if v not in blocking]
    print(f"axe {state}: {len(blocking)} serious/critical, others: {minor or 'none'}")
    assert not blocking, f"{state}: {json.dumps(blocking, indent=1)}"


# In a group call: until a named participant's tile shows video with frames (videoWidth > 0);
# until the inbound audio bytes of the SFU's m-lines mapped to a named participant grow.
GROUP_TILE_HELPER = """
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
