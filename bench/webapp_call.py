"""Benchmark: click "Call" in the sample web app → media flowing on both sides, in Debian's
Chromium, for the first call of a fresh browser and for later calls.

Setup (not timed): a server with coturn (``--turn``), the sample app (examples/sample_app), and
for each round a freshly launched Chromium (a new profile: nothing cached, no device opened
yet) with Alice and Bob signed in. Bob's page accepts as soon as its toast rings (an instant
human), so the figure is the app and the platform, not reaction time.

Timed, per call, on the page's clock (``performance.timeOrigin + now()``, epoch ms; both pages
run in the same browser on the same machine):
- click → ringing: Alice's click on "Video call Bob" → Bob's toast is up;
- click → media: the click → inbound audio AND video bytes > 0 on BOTH pages (getStats polled
  every 20 ms), the callee's accept included.

Ceiling (the same run, the same browser): two RTCPeerConnections in one page, the fake camera
and microphone already open, offer/answer handed over in memory and host candidates on
loopback → inbound audio and video bytes > 0 on both: WebRTC's own setup time with no
signaling server, no SFU and no app.

    .venv/bin/python -m bench.webapp_call --rounds 3 --calls 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.e2e.browser import launch_chromium, trusting_home
from tests.e2e.calling_peers import SampleApp
from tests.e2e.webapp import befriend, expect_call_state, sign_in
from tests.integration.server import start_server

# Installed in both pages: `flowing(call)` resolves when inbound audio and video bytes are > 0.
MEDIA_PROBE = """
window.flowingAt = async (getCall) => {
  for (;;) {
    const call = getCall();
    if (call && call.state === "Connected") {
      const got = { audio: 0, video: 0 };
      (await call.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp") got[s.kind] += s.bytesReceived ?? 0;
      });
      if (got.audio > 0 && got.video > 0) return performance.timeOrigin + performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
"""

AUTO_ACCEPT = """
window.ringAt = null;
new MutationObserver(() => {
  const toast = document.getElementById("incoming");
  if (!toast.hidden && window.ringAt === null) {
    window.ringAt = performance.timeOrigin + performance.now();
    document.getElementById("accept").click();
  }
}).observe(document.getElementById("incoming"), { attributes: true });
"""

CEILING = """
async () => {
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const started = performance.now();
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  for (const track of media.getTracks()) { a.addTrack(track, media); b.addTrack(track, media); }
  await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
  const inbound = async (pc) => {
    const got = { audio: 0, video: 0 };
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp") got[s.kind] += s.bytesReceived ?? 0;
    });
    return got.audio > 0 && got.video > 0;
  };
  while (!((await inbound(a)) && (await inbound(b)))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const took = performance.now() - started;
  a.close(); b.close(); media.getTracks().forEach((t) => t.stop());
  return took;
}
"""


def one_call(alice: Page, bob: Page, callee: str) -> dict[str, float]:
    bob.evaluate(f"() => {{ {AUTO_ACCEPT} }}")
    alice_flowing = "flowingAt(() => window.sampleApp.call)"
    clicked = alice.evaluate(
        """(callee) => {
            const at = performance.timeOrigin + performance.now();
            document.querySelector(`[aria-label="Video call ${callee}"]`).click();
            return at;
        }""",
        callee,
    )
    bob_at = bob.evaluate(alice_flowing)
    alice_at = alice.evaluate(alice_flowing)
    ring_at = bob.evaluate("window.ringAt")
    for page in (alice, bob):
        expect_call_state(page, "Connected")
    alice.get_by_role("button", name="Leave").click()
    for page in (alice, bob):
        expect(page.locator("#end-screen")).to_be_visible()
        page.get_by_role("button", name="Back to start").click()
    return {"ring": ring_at - clicked, "media": max(alice_at, bob_at) - clicked}


def round_in_fresh_browser(
    browser: Browser, url: str, calls: int, n: int
) -> list[dict[str, float]]:
    contexts = [browser.new_context() for _ in range(2)]
    alice = sign_in(contexts[0], url, f"Alice{n}", MEDIA_PROBE)
    bob = sign_in(contexts[1], url, f"Bob{n}", MEDIA_PROBE)
    befriend(alice, f"Bob{n}")
    expect(bob.locator(f"#friend-Alice{n}")).to_be_visible()
    results = [one_call(alice, bob, f"Bob{n}") for _ in range(calls)]
    for context in contexts:
        context.close()
    return results


def run(rounds: int, calls: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sbbench-webapp-") as scratch:
        server = start_server(Path(scratch, "data"), "--turn", env={"SWITCHBOARD_TURN_PORT": "0"})
        app = SampleApp(server)
        try:
            home = trusting_home(Path(scratch, "home"), server.ca_path)
            first: list[dict[str, float]] = []
            later: list[dict[str, float]] = []
            ceiling: list[float] = []
            with sync_playwright() as playwright:
                for n in range(rounds):
                    browser = launch_chromium(playwright, home)  # a fresh profile each round
                    results = round_in_fresh_browser(browser, app.url, calls, n)
                    first.append(results[0])
                    later.extend(results[1:])
                    page = browser.new_page()
                    page.goto(app.url)
                    ceiling.append(page.evaluate(CEILING))
                    browser.close()
            report(first, later, ceiling)
        finally:
            app.stop()
            server.stop()


def _line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<52} (none)"
    return (
        f"{name:<52} median {statistics.median(values):7.0f} ms  "
        f"min {min(values):6.0f}  max {max(values):6.0f}  (n={len(values)})"
    )


def report(first: list[dict[str, Any]], later: list[dict[str, Any]], ceiling: list[float]) -> None:
    print('sample web app: click "Call" → media flowing on both sides (callee accepts at once)')
    print(_line("first call of a fresh browser: click → media", [r["media"] for r in first]))
    print(_line("  of which click → callee's toast rings", [r["ring"] for r in first]))
    print(_line("later calls: click → media", [r["media"] for r in later]))
    print(_line("  of which click → callee's toast rings", [r["ring"] for r in later]))
    print(_line("ceiling: two loopback peer connections → media", ceiling))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webapp_call", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="fresh browsers (first calls)")
    parser.add_argument("--calls", type=int, default=3, help="calls per browser")
    args = parser.parse_args()
    run(args.rounds, args.calls)


if __name__ == "__main__":
    main()
