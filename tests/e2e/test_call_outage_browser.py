"""Issue 19's outage proof: calls in Chromium survive the network going away for 5 s and 40 s.

Six users, each a browser context of one Chromium: Alice calls Bob (1:1, peer to peer), and
Carol, Dan, Erin and Frank are in a group call (through the SFU); everyone sends audio and
video (fake devices, 320×240). Each page reaches the server only through links the test can
cut (tests/e2e/cuttable_link.py), as a laptop's network would go away:

    page ─HTTPS, the signaling WebSocket─▶ link ─▶ server
    page ─TURN over TCP (relay only)─────▶ link ─▶ coturn ─UDP─▶ the other browser, the SFU

Media is forced through the TURN relay over TCP (an init script sets the peer connection's
`iceTransportPolicy: "relay"` and points its TURN server at the page's link), so cutting the
links cuts media too; an outage is both links reset and refusing, and the context offline
(`navigator.onLine` false, fetches fail: the app's token fetch fails with them). The TURN
allocation dies with its TCP connection, so a call can only come back by an ICE restart.

After each outage (one 1:1 participant and one group member cut at once) every page's call is
still Connected, it went `isReconnecting` and back, and inbound audio AND video bytes grow
again on every page from every other participant. The calls are set up once for the module;
the 5 s and 40 s outages run on them one after the other (the 5 s one cuts the caller and a
member, the 40 s one the callee and another member).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from azure.communication.identity import CommunicationIdentityClient
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.calling_peers import STATS_HELPER, artifacts_dir
from tests.e2e.cuttable_link import CuttableLink
from tests.e2e.test_group_call_browser import GROUP_STATS_HELPER
from tests.free_ports import free_port
from tests.integration.server import RunningServer, start_server

MEDIA_TIMEOUT_MS = 45_000

# Every peer connection of the page relays through its own TURN link, over TCP only.
RELAY_ONLY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config = {}) {
      const turn = (config.iceServers ?? [])
        .filter((s) => [s.urls].flat().some((u) => String(u).startsWith("turn:")))
        .map((s) => ({ ...s, urls: ["turn:127.0.0.1:%d?transport=tcp"] }));
      super({ ...config, iceServers: turn.slice(0, 1), iceTransportPolicy: "relay" });
    }
  };
})();
"""

# The page's agent, its call, and what they reported (`events`).
AGENT_HELPER = """
window.setUpAgent = async ([endpoint, token]) => {
  window.sdk = await import("/sdk/calling.js");
  // An app's token source: a fetch, which fails while the network is away.
  const credential = {
    getToken: async () => {
      const response = await fetch("/health", { cache: "no-store" });
      if (!response.ok) throw new Error(`token source: ${response.status}`);
      return token;
    },
  };
  window.events = [];
  window.agent = await new sdk.CallClient({ endpoint }).createCallAgent(credential);
  agent.on("connectionStateChanged", (e) => events.push(`signaling ${e.newValue}`));
  agent.on("incomingCall", async ({ incomingCall }) => {
    window.call = await incomingCall.accept(await media());
    watch(window.call);
  });
};
window.media = async () => {
  const video = { width: 320, height: 240, frameRate: 15 };
  const stream = await navigator.mediaDevices.getUserMedia({ video });
  return { videoOptions: { localVideoStreams: [new sdk.LocalVideoStream(stream)] } };
};
window.watch = (call) => {
  call.on("stateChanged", () => events.push(`state ${call.state}`));
  call.on("isReconnectingChanged", () => events.push(`reconnecting ${call.isReconnecting}`));
};
window.place = async (callee) => {
  window.call = agent.startCall([{ communicationUserId: callee }], await media());
  watch(window.call);
};
window.joinGroup = async (groupId) => {
  window.call = agent.join({ groupId }, await media());
  watch(window.call);
};
// The longest time the call's inbound video went without a new decoded frame (a frozen
// picture), sampled every 50 ms from watchFrames() until frozenForMs().
window.watchFrames = () => {
  const watch = { frames: -1, changedAt: Date.now(), longest: 0, samples: [] };
  window.frameWatch = watch;
  watch.timer = setInterval(async () => {
    let frames = 0;
    (await call.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded ?? 0;
    });
    watch.samples.push([Date.now() % 100000, frames]); // (for a failure's report)
    if (frames === watch.frames) return;
    if (frames === 0) {
      watch.frames = 0; // a new peer connection that has decoded nothing yet: still frozen
      return;
    }
    watch.longest = Math.max(watch.longest, Date.now() - watch.changedAt);
    watch.frames = frames;
    watch.changedAt = Date.now();
  }, 50);
};
window.frozenForMs = () => {
  clearInterval(frameWatch.timer);
  return Math.max(frameWatch.longest, Date.now() - frameWatch.changedAt);
};
// After a reload: ms from the reload's start (this document's navigation) to the first
// inbound video bytes of the call.
window.videoBackAfterMs = async () => {
  await until(async () => (await inbound(call, "video")).bytes > 0, "video", 20000);
  return performance.now();
};
// After a reload: the call the SDK resumed or joined again.
window.resumedCall = () => {
  window.call = agent.calls[0];
  if (window.call) watch(window.call);
  return window.call?.id ?? null;
};
// The remote participants' videos, for the screenshots.
window.showRemote = async () => {
  document.body.replaceChildren();
  for (const p of call.remoteParticipants) {
    const video = document.createElement("video");
    video.muted = true;
    video.autoplay = true;
    video.width = 320;
    video.srcObject = await p.videoStreams[0].getMediaStream();
    document.body.append(video);
  }
};
"""


@dataclass
class Peer:
    name: str
    context: BrowserContext
    page: Page
    http: CuttableLink
    turn: CuttableLink
    user_id: str
    token: str
    origin: str

    def go_offline(self) -> None:
        self.context.set_offline(True)
        self.http.offline()
        self.turn.offline()

    def go_online(self) -> None:
        self.http.online()
        self.turn.online()
        self.context.set_offline(False)

    def events(self) -> list[str]:
        return list(self.page.evaluate("window.events"))

    def set_up(self) -> None:
        """What the app does on each load: the helpers, then its CallAgent."""
        self.page.evaluate(f"() => {{ {STATS_HELPER} {GROUP_STATS_HELPER} {AGENT_HELPER} }}")
        self.page.evaluate("setUpAgent", [self.origin, self.token])


@dataclass
class Calls:
    one_to_one: list[Peer]  # Alice (caller), Bob (callee)
    group: list[Peer]

    @property
    def everyone(self) -> list[Peer]:
        return [*self.one_to_one, *self.group]


@pytest.fixture(scope="module")
def turn_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, turn_port: int) -> Iterator[RunningServer]:
    """With coturn on a port we know, so each page's TURN link can point at it."""
    env = {"SWITCHBOARD_TURN_PORT": str(turn_port)}
    running = start_server(tmp_path_factory.mktemp("outage-browser"), "--turn", env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


def new_user(server: RunningServer) -> tuple[str, str]:
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    user, token = identity.create_user_and_token(scopes=["voip"])
    return str(user.properties["id"]), str(token.token)


def open_peer(browser: Browser, server: RunningServer, turn_port: int, name: str) -> Peer:
    http = CuttableLink(server.port)
    http.start()
    turn = CuttableLink(turn_port)
    turn.start()
    context = browser.new_context()
    context.add_init_script(RELAY_ONLY % turn.port)
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"[{name}] page error: {error}"))
    origin = f"https://127.0.0.1:{http.port}"
    page.goto(f"{origin}/health")
    user_id, token = new_user(server)
    peer = Peer(name, context, page, http, turn, user_id, token, origin)
    peer.set_up()
    return peer


@pytest.fixture(scope="module")
def calls(browser: Browser, server: RunningServer, turn_port: int) -> Iterator[Calls]:
    started = time.monotonic()
    names = ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank"]
    peers = [open_peer(browser, server, turn_port, name) for name in names]
    print(f"pages ready in {time.monotonic() - started:.1f} s")
    alice, bob, *group = peers
    alice.page.evaluate("place", bob.user_id)
    group_id = str(uuid.uuid4())
    for member in group:
        member.page.evaluate("joinGroup", group_id)
    made = Calls([alice, bob], group)
    started = time.monotonic()
    for peer in made.everyone:
        peer.page.wait_for_function("window.call?.state === 'Connected'", timeout=20_000)
    print(f"calls connected in {time.monotonic() - started:.1f} s")
    assert_media_flows(made)
    print(f"media flows everywhere after {time.monotonic() - started:.1f} s")
    yield made
    for peer in peers:
        peer.page.evaluate("window.agent.dispose()")
        peer.context.close()
        peer.http.stop()
        peer.turn.stop()


def assert_media_flows(calls: Calls) -> None:
    """Inbound audio and video bytes grow on every page, from every other participant."""
    for peer in calls.one_to_one:
        for kind in ("audio", "video"):
            first, later = peer.page.evaluate(f"inboundGrowth(window.call, {kind!r})")
            assert 0 < first < later, (peer.name, kind)
    for peer in calls.group:
        others = [p.user_id for p in calls.group if p is not peer]
        peer.page.evaluate(
            "([ids, timeout]) => receivingFrom(window.call, ids, timeout)",
            [others, MEDIA_TIMEOUT_MS],
        )


def outage(calls: Calls, cut: list[Peer], seconds: float, screenshots: Path) -> None:
    for peer in calls.everyone:
        peer.page.evaluate("window.events = []")
    for peer in cut:
        peer.go_offline()
    time.sleep(seconds)  # the outage itself: what the test is about, not a wait for a result
    for peer in cut:
        peer.go_online()
    back = time.monotonic()
    for peer in cut:
        peer.page.wait_for_function(
            "window.call.isReconnecting === false && window.agent.connectionState === 'Connected'",
            timeout=MEDIA_TIMEOUT_MS,
        )
        print(f"{peer.name} reconnected {time.monotonic() - back:.1f} s after the network's return")
    assert_media_flows(calls)
    print(f"media flows everywhere {time.monotonic() - back:.1f} s after the network came back")
    for peer in calls.everyone:
        assert peer.page.evaluate("window.call.state") == "Connected", peer.name
        assert "state Disconnected" not in peer.events(), peer.name
    for peer in cut:
        events = peer.events()
        print(f"{peer.name} during the outage: {events}")
        assert "reconnecting true" in events and events[-1] != "reconnecting true", peer.name
        assert "signaling Disconnected" in events and "signaling Connected" in events
    for peer in calls.everyone:
        peer.page.evaluate("showRemote()")
        peer.page.wait_for_function(
            "[...document.querySelectorAll('video')].every((v) => v.videoWidth > 0)"
        )
        peer.page.screenshot(path=str(screenshots / f"{peer.name}-after-{seconds:g}s.png"))


def test_a_5_second_outage_in_a_1to1_and_a_group_call_and_both_go_on(
    calls: Calls, tmp_path: Path
) -> None:
    alice, carol = calls.one_to_one[0], calls.group[0]
    outage(calls, [alice, carol], 5, artifacts_dir(tmp_path))


def test_a_40_second_outage_in_a_1to1_and_a_group_call_and_both_go_on(
    calls: Calls, tmp_path: Path
) -> None:
    bob, dan = calls.one_to_one[1], calls.group[1]
    outage(calls, [bob, dan], 40, artifacts_dir(tmp_path))


def test_a_reload_mid_call_comes_back_to_the_1to1_call_and_to_the_group_call(
    calls: Calls, tmp_path: Path
) -> None:
    """Alice (1:1) and Carol (group) reload their pages mid-call. Alice's page resumes the same
    call (the server kept it for her device; a new peer connection offers it again, Bob's
    follows); Carol's joins the group call again (the server ended her old participant at
    once). Bob's picture of Alice was frozen only while the reload took; the figures printed
    are the issue's "≤ 3 s" (not asserted: timing is for bench/, tests assert outcomes)."""
    (alice, bob), (carol, *others) = calls.one_to_one, calls.group
    call_id = alice.page.evaluate("window.call.id")
    bob.page.evaluate("watchFrames()")
    for peer in calls.everyone:
        peer.page.evaluate("window.events = []")
    for peer in (alice, carol):
        peer.page.reload()
    for peer in (alice, carol):
        peer.set_up()
        assert peer.page.evaluate("resumedCall()") is not None, peer.name
    assert alice.page.evaluate("window.call.id") == call_id
    back = {peer.name: peer.page.evaluate("videoBackAfterMs()") for peer in (alice, carol)}
    for peer in (alice, carol):
        peer.page.wait_for_function("window.call.state === 'Connected'", timeout=20_000)
    assert_media_flows(calls)
    frozen = bob.page.evaluate("frozenForMs()")
    print("Bob's video frames decoded (time ms, frames):", bob.page.evaluate("frameWatch.samples"))
    print(
        "video received again after the reload began: "
        + ", ".join(f"{name} {ms / 1000:.1f} s" for name, ms in back.items())
        + f"; Bob's picture of Alice frozen for at most {frozen / 1000:.1f} s"
    )
    assert bob.page.evaluate("window.call.id") == call_id
    for peer in (bob, *others):
        assert "state Disconnected" not in peer.events(), peer.name
    for peer in calls.everyone:
        peer.page.evaluate("showRemote()")
        peer.page.wait_for_function(
            "[...document.querySelectorAll('video')].every((v) => v.videoWidth > 0)"
        )
        peer.page.screenshot(path=str(artifacts_dir(tmp_path) / f"{peer.name}-after-reload.png"))
