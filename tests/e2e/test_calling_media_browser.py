"""Issue 19 (media) in Chromium, straight on ``/sdk/calling.js`` (no sample app): screen
sharing, ``RemoteVideoStream.isAvailable``, DeviceManager, a Consumer that never opens a
device, and end reasons in words.

- 1:1 (peer to peer): Alice shares her screen; Bob gets a second RemoteVideoStream
  (``ScreenSharing``) beside her camera, rendered whole (``Fit`` by default, 1280x720
  from Chromium's fake screen while the fake camera is 640x480), bytes flowing on its own
  m-line; camera off shows as unavailable on Bob's side and back on; Alice switches her
  microphone mid-call (the sent track changes, the SDP does not); the hang-up reads "Bob
  ended the call." on Alice's side, a busy reject "Bob is busy.".
- a group call (through the SFU): the same screen share as its own stream in the SFU's map
  (``screenShare``), and a camera turned off leaves the screen flowing;
- a Room: a Consumer's page never calls getUserMedia (wrapped in the page) though it joined
  with a camera; an unknown room ends "That room does not exist." and a lobby rejection
  "The meeting organiser did not admit you.", with no unhandled rejection in either page.

The node runs in this process (tests/integration/inprocess_node.py, no TURN: loopback host
candidates); every user is a Chromium context of one module-scoped browser.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.communication.identity import CommunicationIdentityClient
from azure.communication.rooms import (
    CommunicationUserIdentifier,
    ParticipantRole,
    RoomParticipant,
    RoomsClient,
)
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.browser import launch_chromium, trusting_home
from tests.e2e.calling_peers import STATS_HELPER, artifacts_dir
from tests.e2e.test_local_leg_browser import ServedNode

TIMEOUT_MS = 20_000

# Each page: the SDK, its agent (window.agent), getUserMedia counted, unhandled rejections
# kept, and helpers to read a remote participant's streams.
HARNESS = """
window.setup = async ([endpoint, token, name]) => {
  window.rejections = [];
  window.addEventListener("unhandledrejection", (e) => rejections.push(String(e.reason)));
  window.gumCalls = [];
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => { gumCalls.push(Object.keys(c)); return gum(c); };
  window.sdk = await import("/sdk/calling.js");
  const client = new sdk.CallClient({ endpoint });
  window.devices = await client.getDeviceManager();
  window.agent = await client.createCallAgent(token, { displayName: name });
  agent.on("incomingCall", ({ incomingCall }) => { window.incoming = incomingCall; });
  return agent.userId;
};
window.camera = () => ({ videoOptions: { localVideoStreams: [new sdk.LocalVideoStream()] } });
window.settled = (call, states = ["Connected"]) => until(
  () => states.includes(call.state) || call.state === "Disconnected", `${states}`, 20000);
window.remote = (call, userId) => call.remoteParticipants.find(
  (p) => p.identifier.communicationUserId === userId);
window.streamOf = (call, userId, type) =>
  remote(call, userId)?.videoStreams.find((s) => s.mediaStreamType === type);
// Render a remote stream as an app would, with the SDK's default scaling (a shared screen:
// Fit, the whole picture).
window.render = async (stream, id) => {
  const view = await new sdk.VideoStreamRenderer(stream).createView();
  view.target.id = id;
  document.body.append(view.target);
  await until(() => view.target.videoWidth > 0, `frames in ${id}`, 20000);
  return { width: view.target.videoWidth, height: view.target.videoHeight,
    fit: view.target.style.objectFit };
};
// Inbound video bytes on the m-line carrying a track (grows twice to count as flowing).
window.bytesOnTrack = async (call, track) => {
  const mid = call.peerConnection.getTransceivers().find((t) => t.receiver.track === track)?.mid;
  let bytes = 0;
  (await call.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video" && s.mid === mid) bytes += s.bytesReceived;
  });
  return bytes;
};
window.flowing = async (call, stream) => {
  const track = (await stream.getMediaStream()).getVideoTracks()[0];
  const first = await until(async () => await bytesOnTrack(call, track), "video bytes", 20000);
  await until(async () => (await bytesOnTrack(call, track)) > first, "more video bytes", 20000);
  return true;
};
// When `stream.isAvailable` next becomes `value`: ms since `since` (a Date.now()).
window.availableAt = (stream, value) => new Promise((resolve) => {
  const check = () => {
    if (stream.isAvailable !== value) return;
    stream.off("isAvailableChanged", check);
    resolve(Date.now());
  };
  stream.on("isAvailableChanged", check);
  check();
});
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    served = ServedNode(tmp_path_factory.mktemp("calling-media-browser"))
    yield served
    served.close()


@pytest.fixture(scope="module")
def browser(node: ServedNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home = trusting_home(tmp_path_factory.mktemp("chromium-home"), node.served.ca_path)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, home)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def identity(node: ServedNode) -> CommunicationIdentityClient:
    served = node.served
    return CommunicationIdentityClient.from_connection_string(
        served.connection_string, connection_verify=served.ca_path
    )


@pytest.fixture
def sign_in(
    browser: Browser, node: ServedNode, identity: CommunicationIdentityClient
) -> Iterator[Callable[[str], tuple[Page, str]]]:
    """``sign_in(name)``: a new context's page with a registered agent; (page, user id)."""
    contexts: list[BrowserContext] = []
    page_errors: list[str] = []

    def open_page(name: str) -> tuple[Page, str]:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(f"[{name}] {error}"))
        page.goto(f"{node.served.endpoint}/health")
        page.evaluate(f"() => {{ {STATS_HELPER} {HARNESS} }}")
        _, token = identity.create_user_and_token(scopes=["voip"])
        user_id = page.evaluate("setup", [node.served.endpoint, token.token, name])
        return page, str(user_id)

    yield open_page
    during_test = list(page_errors)  # closing a page stops its agent: not the test's
    for context in contexts:
        context.close()
    assert during_test == [], "nothing may escape the SDK uncaught"


def call_and_answer(alice: Page, bob: Page, bob_id: str) -> None:
    alice.evaluate(
        "(id) => { window.call = agent.startCall([{ communicationUserId: id }], camera()); }",
        bob_id,
    )
    bob.wait_for_function("window.incoming !== undefined", timeout=TIMEOUT_MS)
    bob.evaluate("async () => { window.call = await incoming.accept(camera()); }")
    for page in (alice, bob):
        assert page.evaluate("settled(call)") is True
        assert page.evaluate("call.state") == "Connected"


def test_one_to_one_screen_share_camera_availability_microphone_switch_and_end_messages(
    sign_in: Callable[[str], tuple[Page, str]], tmp_path: Path
) -> None:
    (alice, alice_id), (bob, bob_id) = sign_in("Alice"), sign_in("Bob")
    call_and_answer(alice, bob, bob_id)
    assert bob.evaluate("(u) => remote(call, u).displayName", alice_id) == "Alice"

    # Camera: available on the other side, off at once when stopped, back when restarted.
    bob.evaluate("(u) => availableAt(streamOf(call, u, 'Video'), true)", alice_id)
    camera = bob.evaluate("(u) => render(streamOf(call, u, 'Video'), 'alice-camera')", alice_id)
    assert camera == {"width": 640, "height": 480, "fit": "cover"}  # a camera fills its tile
    off_ms = bob.evaluate(
        """async ([u, stopAt]) =>
            (await availableAt(streamOf(call, u, 'Video'), false)) - stopAt""",
        [
            alice_id,
            alice.evaluate(
                "() => { call.stopVideo(call.localVideoStreams[0]); return Date.now(); }"
            ),
        ],
    )
    print(f"camera off seen as unavailable on the other side after {off_ms} ms")
    alice.evaluate("() => call.startVideo(new sdk.LocalVideoStream())")
    bob.evaluate("(u) => availableAt(streamOf(call, u, 'Video'), true)", alice_id)

    # Screen sharing: a second stream, whole, with its own bytes.
    bob.evaluate(
        """(u) => { window.added = [];
            remote(call, u).on("videoStreamsUpdated", (e) =>
                added.push(...e.added.map((s) => s.mediaStreamType))); }""",
        alice_id,
    )
    alice.evaluate("() => call.startScreenSharing()")
    assert alice.evaluate("call.isScreenSharingOn") is True
    assert alice.evaluate("call.localVideoStreams.map((s) => s.mediaStreamType)") == [
        "Video",
        "ScreenSharing",
    ]
    bob.wait_for_function("window.added.includes('ScreenSharing')", timeout=TIMEOUT_MS)
    bob.evaluate("(u) => availableAt(streamOf(call, u, 'ScreenSharing'), true)", alice_id)
    assert bob.evaluate("(u) => remote(call, u).isScreenSharingOn", alice_id) is True
    screen = bob.evaluate(
        "(u) => render(streamOf(call, u, 'ScreenSharing'), 'alice-screen')", alice_id
    )
    assert screen == {"width": 1280, "height": 720, "fit": "contain"}
    assert bob.evaluate("(u) => flowing(call, streamOf(call, u, 'ScreenSharing'))", alice_id)
    assert bob.evaluate("(u) => flowing(call, streamOf(call, u, 'Video'))", alice_id)
    bob.screenshot(path=str(artifacts_dir(tmp_path) / "one-to-one-screen-share.png"))
    alice.evaluate("() => call.stopScreenSharing()")
    bob.evaluate("(u) => availableAt(streamOf(call, u, 'ScreenSharing'), false)", alice_id)
    assert bob.evaluate("(u) => streamOf(call, u, 'Video').isAvailable", alice_id) is True

    # DeviceManager: another microphone replaces the sent track; nothing is renegotiated.
    switched = alice.evaluate(
        """async () => {
            const mics = await devices.getMicrophones();
            const sender = call.peerConnection.getSenders().find((s) => s.track?.kind === "audio");
            const before = {
                sdp: call.peerConnection.localDescription.sdp, track: sender.track.id };
            const other = mics.find((m) => m.id !== sender.track.getSettings().deviceId);
            let told = 0;
            devices.on("selectedMicrophoneChanged", () => { told += 1; });
            await devices.selectMicrophone(other);
            await until(() => sender.track && sender.track.id !== before.track, "new track");
            return {
                mics: mics.length, told, device: sender.track.getSettings().deviceId === other.id,
                sameSdp: call.peerConnection.localDescription.sdp === before.sdp,
                cameras: (await devices.getCameras()).length,
            };
        }"""
    )
    assert switched["mics"] >= 2 and switched["cameras"] >= 1
    assert switched == {**switched, "told": 1, "device": True, "sameSdp": True}
    # Another camera (Chromium's fake has one: it is reopened) is sent in place, too.
    camera_swap = alice.evaluate(
        """async () => {
            const sender = call.peerConnection.getSenders().find((s) => s.track?.kind === "video");
            const [before, sdp] = [sender.track.id, call.peerConnection.localDescription.sdp];
            const [camera] = await devices.getCameras();
            await call.localVideoStreams[0].switchSource(camera);
            await until(() => sender.track && sender.track.id !== before, "new camera track");
            const speakers = await devices.getSpeakers();
            let spoken = 0;
            devices.on("selectedSpeakerChanged", () => { spoken += 1; });
            if (speakers.length && devices.isSpeakerSelectionAvailable) {
                await devices.selectSpeaker(speakers[speakers.length - 1]);
            }
            return { sameSdp: call.peerConnection.localDescription.sdp === sdp,
                speakers: speakers.length, spoken };
        }"""
    )
    print(f"camera switch and speakers: {camera_swap}")
    assert camera_swap["sameSdp"] is True
    assert camera_swap["spoken"] == (1 if camera_swap["speakers"] else 0)
    assert bob.evaluate("(u) => flowing(call, streamOf(call, u, 'Video'))", alice_id)

    # End reasons in words, with the other side's display name.
    bob.evaluate("() => call.hangUp()")
    for page in (alice, bob):
        page.wait_for_function("call.state === 'Disconnected'", timeout=TIMEOUT_MS)
    assert alice.evaluate("call.callEndReason.message") == "Bob ended the call."
    assert bob.evaluate("call.callEndReason.message") == "You left the call."
    bob.evaluate("() => { window.incoming = undefined; }")
    # A callee that never answers names itself nowhere: the app's own name for it is used.
    alice.evaluate(
        """(id) => {
            window.call = agent.startCall([{ communicationUserId: id, displayName: "Bob" }]);
        }""",
        bob_id,
    )
    bob.wait_for_function("window.incoming !== undefined", timeout=TIMEOUT_MS)
    bob.evaluate("() => incoming.reject({ busy: true })")
    alice.wait_for_function("call.state === 'Disconnected'", timeout=TIMEOUT_MS)
    assert alice.evaluate("[call.callEndReason.code, call.callEndReason.message]") == [
        486,
        "Bob is busy.",
    ]
    for page in (alice, bob):
        assert page.evaluate("rejections") == []


def test_group_call_screen_share_is_its_own_stream_and_outlives_the_camera(
    sign_in: Callable[[str], tuple[Page, str]],
) -> None:
    (alice, alice_id), (bob, _) = sign_in("Alice"), sign_in("Bob")
    group = str(uuid.uuid4())
    for page in (alice, bob):
        page.evaluate("(g) => { window.call = agent.join({ groupId: g }, camera()); }", group)
    for page in (alice, bob):
        assert page.evaluate("settled(call)") is True
    bob.wait_for_function("(u) => remote(call, u) !== undefined", arg=alice_id, timeout=TIMEOUT_MS)
    bob.evaluate("(u) => availableAt(streamOf(call, u, 'Video'), true)", alice_id)

    alice.evaluate("() => call.startScreenSharing()")
    bob.wait_for_function(
        "(u) => streamOf(call, u, 'ScreenSharing')?.isAvailable === true",
        arg=alice_id,
        timeout=TIMEOUT_MS,
    )
    mapped = bob.evaluate(
        """(u) => { const id = remote(call, u).participantId;
            return call.remoteStreams.filter((s) => s.participantId === id && s.kind === 'video')
                .map((s) => s.screenShare).sort(); }""",
        alice_id,
    )
    assert mapped == [False, True]
    screen = bob.evaluate(
        "(u) => render(streamOf(call, u, 'ScreenSharing'), 'alice-screen')", alice_id
    )
    assert screen == {"width": 1280, "height": 720, "fit": "contain"}
    assert bob.evaluate("(u) => flowing(call, streamOf(call, u, 'Video'))", alice_id)

    # Camera off: its stream is unavailable, the shared screen keeps flowing.
    alice.evaluate("() => call.stopVideo(call.localVideoStreams[0])")
    bob.evaluate("(u) => availableAt(streamOf(call, u, 'Video'), false)", alice_id)
    assert bob.evaluate("(u) => streamOf(call, u, 'ScreenSharing').isAvailable", alice_id)
    assert bob.evaluate("(u) => flowing(call, streamOf(call, u, 'ScreenSharing'))", alice_id)
    alice.evaluate("() => call.stopScreenSharing()")
    bob.evaluate("(u) => availableAt(streamOf(call, u, 'ScreenSharing'), false)", alice_id)
    for page in (alice, bob):
        page.evaluate("() => call.hangUp()")
        assert page.evaluate("rejections") == []


def test_room_consumer_opens_no_device_and_refusals_end_with_a_message(
    sign_in: Callable[[str], tuple[Page, str]], node: ServedNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    (presenter, presenter_id), (consumer, consumer_id) = sign_in("Pia"), sign_in("Con")
    guest, _ = sign_in("Gus")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", node.served.ca_path)
    with RoomsClient.from_connection_string(node.served.connection_string) as rooms:
        room = rooms.create_room(
            valid_from=datetime.now(UTC) - timedelta(minutes=1),
            valid_until=datetime.now(UTC) + timedelta(hours=1),
            participants=[
                RoomParticipant(
                    communication_identifier=CommunicationUserIdentifier(user_id), role=role
                )
                for user_id, role in (
                    (presenter_id, ParticipantRole.PRESENTER),
                    (consumer_id, ParticipantRole.CONSUMER),
                )
            ],
        )
    join = "(r) => { window.call = agent.join({ roomId: r }, camera()); }"
    presenter.evaluate(join, room.id)
    assert presenter.evaluate("settled(call)") is True
    consumer.evaluate(join, room.id)
    assert consumer.evaluate("settled(call)") is True
    assert consumer.evaluate("call.role") == "Consumer"
    consumer.wait_for_function(
        "(u) => streamOf(call, u, 'Video')?.isAvailable === true",
        arg=presenter_id,
        timeout=TIMEOUT_MS,
    )
    # It receives the Presenter, and its page never asked for a microphone or a camera.
    assert consumer.evaluate("gumCalls") == []
    assert presenter.evaluate("gumCalls") == [["audio"], ["video"]]
    assert consumer.evaluate(
        "call.startScreenSharing().then(() => 'shared', (e) => 'refused')"
    ) == ("refused")

    # An unknown room, then a lobby the Presenter refuses: ended with a reason in words.
    guest.evaluate("() => { window.call = agent.join({ roomId: '99999999999999' }); }")
    assert guest.evaluate("settled(call)") is True
    assert guest.evaluate("[call.callEndReason.code, call.callEndReason.message]") == [
        403,
        "That room does not exist.",
    ]
    guest.evaluate(join, room.id)
    assert guest.evaluate("settled(call, ['InLobby'])") is True
    presenter.wait_for_function("call.lobby.participants.length === 1", timeout=TIMEOUT_MS)
    presenter.evaluate("() => call.lobby.reject(call.lobby.participants[0])")
    guest.wait_for_function("call.state === 'Disconnected'", timeout=TIMEOUT_MS)
    assert guest.evaluate("[call.callEndReason.subCode, call.callEndReason.message]") == [
        5854,
        "The meeting organiser did not admit you.",
    ]
    for page in (presenter, consumer, guest):
        assert page.evaluate("rejections") == []
