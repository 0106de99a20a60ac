"""Issue 8's browser proof: group calls and meetings (Room calls) in Chromium, through the
sample app and Switchboard's SFU.

Each user is a Chromium context (one browser) signed in to the sample app; media is fake
camera + microphone, sent to the SFU and forwarded. "Receives from X" means the page's
``getStats()`` shows inbound audio bytes AND inbound video bytes growing on the m-lines the
SFU mapped to X (the ``streams`` list of its ``sdp`` frames: mid → participantId).

- four users in a group call all receive from the three others (and see mute marks, the
  dominant speaker, data-channel messages); one leaves, the other three keep receiving from
  each other;
- a meeting with a Presenter, an Attendee and a Consumer: the Consumer receives both others,
  and nobody gets a stream from the Consumer (nor does its page send any);
- a user not on the meeting's roster waits in the lobby until the Presenter admits it, then
  receives the Presenter's media (and the Presenter its).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.calling_peers import (
    DATA_CHANNEL_HELPER,
    STATS_HELPER,
    SampleApp,
    artifacts_dir,
)
from tests.e2e.webapp import (
    befriend,
    expect_call_state,
    join_from_prejoin,
    join_invitation,
)
from tests.e2e.webapp import (
    sign_in as sign_in_as,
)
from tests.integration.server import RunningServer, start_server

MEDIA_TIMEOUT_MS = 30_000

# Inbound bytes of a call per remote participant and kind, through the SFU's mid → participant
# map; `receivingFrom` waits until every listed user's audio and video bytes grew.
GROUP_STATS_HELPER = """
window.byParticipant = async (call) => {
  const pc = call.peerConnection;
  const midOfTrack = new Map(pc.getTransceivers().map((t) => [t.receiver.track.id, t.mid]));
  const owner = new Map(call.remoteStreams.map((s) => [s.mid, s.participantId]));
  const out = {};
  (await call.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    const who = owner.get(s.mid ?? midOfTrack.get(s.trackIdentifier));
    if (!who) return;
    out[who] ??= { audio: 0, video: 0 };
    out[who][s.kind] += s.bytesReceived ?? 0;
  });
  return out;
};
window.sentBytes = async (call) => {
  let bytes = 0;
  (await call.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp") bytes += s.bytesSent ?? 0;
  });
  return bytes;
};
window.receivingFrom = async (call, userIds, timeoutMs) => {
  const idOf = (u) =>
    call.remoteParticipants.find((p) => p.identifier.communicationUserId === u)?.participantId;
  const ids = await until(() => {
    const found = userIds.map(idOf);
    return found.every(Boolean) ? found : null;
  }, `participants ${userIds}`, timeoutMs);
  const grew = (now, before) => ids.every((id) =>
    ["audio", "video"].every((k) => (now[id]?.[k] ?? 0) > (before?.[id]?.[k] ?? 0)));
  const first = await until(async () => {
    const now = await byParticipant(call);
    return grew(now) ? now : null;
  }, "audio and video from everyone", timeoutMs);
  const later = await until(async () => {
    const now = await byParticipant(call);
    return grew(now, first) ? now : null;
  }, "more audio and video from everyone", timeoutMs);
  return { ids, first, later };
};
"""

DATA_TEXT = (
    "(dc, channel) => dc.filter((m) => m[1] === channel).map((m) => m[3])"  # messages' texts
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """With coturn (--turn): the ICE servers in the register ack answer, so gathering is quick."""
    env = {"SWITCHBOARD_TURN_PORT": "0"}
    running = start_server(tmp_path_factory.mktemp("group-browser"), "--turn", env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
def sign_in(browser: Browser, sample_app: SampleApp) -> Iterator[Callable[[str], Page]]:
    """``sign_in(name)``: a new context's page signed in to the sample app as ``name``."""
    contexts: list[BrowserContext] = []

    def open_page(name: str) -> Page:
        context = browser.new_context()
        contexts.append(context)
        helpers = f"{STATS_HELPER} {GROUP_STATS_HELPER} {DATA_CHANNEL_HELPER}"
        return sign_in_as(context, sample_app.url, name, helpers)

    yield open_page
    for context in contexts:
        context.close()


def user_id(page: Page) -> str:
    return str(page.evaluate("window.sampleApp.me.userId"))


def receiving_from(page: Page, others: list[Page]) -> dict[str, Any]:
    """Until the page's call receives growing audio and video from each of ``others``."""
    result: dict[str, Any] = page.evaluate(
        "([ids, timeout]) => receivingFrom(window.sampleApp.call, ids, timeout)",
        [[user_id(other) for other in others], MEDIA_TIMEOUT_MS],
    )
    return result


def expect_connected(*pages: Page) -> None:
    for page in pages:
        expect_call_state(page, "Connected")


def test_four_browsers_in_a_group_call_receive_everyone_and_carry_on_when_one_leaves(
    sign_in: Callable[[str], Page], tmp_path: Path
) -> None:
    names = ["Ann", "Ben", "Cat", "Dan"]
    pages = {name: sign_in(name) for name in names}
    host = pages["Ann"]
    for name in names[1:]:
        befriend(host, name)
        host.get_by_label(f"Invite {name}").check()
    host.get_by_role("button", name="Start a group call with the ticked contacts").click()
    join_from_prejoin(host)
    for name in names[1:]:  # each invitee's page rings (the invitation is a chat message)
        join_invitation(pages[name], "Ann invites you to a group call")
    expect_connected(*pages.values())

    everyone = list(pages.values())
    for page in everyone:
        others = [p for p in everyone if p is not page]
        result = receiving_from(page, others)
        print("inbound bytes by participant (first, later):", result["first"], result["later"])
    for page in everyone:
        expect(page.locator("#grid .tile")).to_have_count(4)
        page.wait_for_function(
            "[...document.querySelectorAll('#grid .tile video')].filter("
            "(v) => v.videoWidth > 0).length === 4"  # 3 remote + the local preview
        )
    for page in everyone:  # someone is the dominant speaker, highlighted in the grid
        expect(page.locator("#grid .tile.speaking")).to_have_count(1, timeout=10_000)
    screenshot = artifacts_dir(tmp_path) / "sample-app-group-call.png"
    host.screenshot(path=str(screenshot))
    print(f"screenshot of the sample app during a group call: {screenshot}")

    host.get_by_role("button", name="Mute", exact=True).click()
    for name in names[1:]:
        expect(pages[name].locator(".tile[data-name=Ann] .muted")).to_be_visible()
    host.get_by_role("button", name="Unmute").click()
    expect(pages["Ben"].locator(".tile[data-name=Ann] .muted")).to_be_hidden()

    # Data channel: to everyone, then to Cat alone (Ben's next message is the broadcast after).
    for name in names[1:]:
        pages[name].evaluate(
            "window.got = []; window.sampleApp.call.dataChannel.on('message', "
            "(m) => got.push([m.from.identifier.communicationUserId, m.data]))"
        )
    host.evaluate(
        """async () => {
            const call = window.sampleApp.call;
            const cat = call.remoteParticipants.find((p) => p.identifier.communicationUserId
                === window.sampleApp.directory.find((u) => u.name === "Cat").userId);
            await call.dataChannel.send("hello all");
            await call.dataChannel.send("just Cat", { to: [cat] });
            await call.dataChannel.send("all again");
        }"""
    )
    ann = user_id(host)
    expected = {
        "Ben": [[ann, "hello all"], [ann, "all again"]],
        "Cat": [[ann, "hello all"], [ann, "just Cat"], [ann, "all again"]],
        "Dan": [[ann, "hello all"], [ann, "all again"]],
    }
    for name, messages in expected.items():
        pages[name].wait_for_function(f"window.got.length === {len(messages)}")
        assert pages[name].evaluate("window.got") == messages

    # ACS's data channel over WebRTC: durable to Ben and Cat only, then lossy to everyone.
    for page in everyone:
        page.evaluate("(t) => dataChannelsOpen(window.sampleApp.call, t)", MEDIA_TIMEOUT_MS)
    for name in names[1:]:
        pages[name].evaluate("collectData(window.sampleApp.call)")
    host.evaluate(
        """async () => {
            const call = window.sampleApp.call;
            const idOf = (name) => window.sampleApp.directory.find((u) => u.name === name).userId;
            const who = (name) => call.remoteParticipants.find(
                (p) => p.identifier.communicationUserId === idOf(name));
            const data = call.feature("DataChannel");
            const durable = data.createDataChannelSender(
                { channelId: 5, reliability: "durable", participants: [who("Ben"), who("Cat")] });
            const text = (s) => new TextEncoder().encode(s);
            for (let n = 0; n < 100; n++) await durable.sendMessage(text(`d${n}`));
            const lossy = data.createDataChannelSender({ channelId: 6, reliability: "lossy" });
            for (let n = 0; n < 20; n++) await lossy.sendMessage(text(`l${n}`));
            window.tooLarge = await durable.sendMessage(new Uint8Array(32 * 1024 + 1)).then(
                () => "sent", (e) => e.code);
        }"""
    )
    assert host.evaluate("window.tooLarge") == "MessageSizeExceeded"
    in_order = [f"d{n}" for n in range(100)]
    for name in names[1:]:
        page = pages[name]
        page.wait_for_function("dc.some((m) => m[1] === 6 && m[3] === 'l19')")
        durable = page.evaluate(f"({DATA_TEXT})(dc, 5)")
        assert durable == (in_order if name in ("Ben", "Cat") else [])
        assert {m[0] for m in page.evaluate("dc")} == {ann}
        stats = page.evaluate("dataChannelStats(window.sampleApp.call)")
        assert stats["acs-durable"]["received"] == len(durable)  # over SCTP, not the relay

    leaver = pages["Dan"]
    leaver.get_by_role("button", name="Leave").click()
    expect_call_state(leaver, "Disconnected")
    expect(leaver.locator("#end-reason")).to_have_text("You left the call.")
    expect(leaver.locator("#end-code")).to_have_text("Call ended (0/0)")
    rest = [pages[name] for name in names[:3]]
    for page in rest:
        page.wait_for_function("window.sampleApp.call.remoteParticipants.length === 2")
        expect(page.locator("#grid .tile")).to_have_count(3)
        receiving_from(page, [p for p in rest if p is not page])


def test_meeting_consumer_receives_everyone_and_nobody_receives_it(
    sign_in: Callable[[str], Page],
) -> None:
    presenter, attendee, consumer = (sign_in(name) for name in ("Pia", "Abe", "Con"))
    for name in ("Abe", "Con"):
        befriend(presenter, name)
        presenter.get_by_label(f"Invite {name}").check()
    presenter.get_by_label("Con's role in a meeting").select_option("Consumer")
    presenter.get_by_role("button", name="New meeting with the ticked contacts").click()
    join_from_prejoin(presenter)
    for page in (attendee, consumer):
        join = page.locator("#meetings li").get_by_role("button", name="Join Pia's meeting")
        expect(join).to_be_visible(timeout=10_000)
        join.click()
        if page is consumer:  # told before joining; its camera is closed from here on
            expect(page.locator("#prejoin-role")).to_contain_text("You join as a Consumer")
            assert page.evaluate("window.sampleApp.devices.camera") is None
        join_from_prejoin(page)
    expect_connected(presenter, attendee, consumer)
    assert presenter.evaluate("window.sampleApp.call.role") == "Presenter"
    assert attendee.evaluate("window.sampleApp.call.role") == "Attendee"
    expect(consumer.locator("#role")).to_contain_text("You are a Consumer")
    expect(consumer.locator("#mute")).to_be_disabled()

    receiving_from(consumer, [presenter, attendee])
    receiving_from(presenter, [attendee])
    receiving_from(attendee, [presenter])
    consumer_id = user_id(consumer)
    for page in (presenter, attendee):
        # The Consumer is in the call, but the SFU forwards nothing of it: no m-line maps to it.
        page.wait_for_function(
            "(u) => window.sampleApp.call.remoteParticipants.some("
            "(p) => p.identifier.communicationUserId === u && p.role === 'Consumer')",
            arg=consumer_id,
        )
        found = page.evaluate(
            """(u) => {
                const call = window.sampleApp.call;
                const p = call.remoteParticipants.find(
                    (r) => r.identifier.communicationUserId === u);
                return {
                    streams: call.remoteStreams.filter((s) => s.participantId === p.participantId),
                    available: p.videoStreams[0].isAvailable,
                };
            }""",
            consumer_id,
        )
        assert found == {"streams": [], "available": False}
        assert consumer_id not in str(page.evaluate("byParticipant(window.sampleApp.call)"))
    # Its page sends nothing either: the SDK gave its senders no track.
    assert consumer.evaluate("sentBytes(window.sampleApp.call)") == 0

    # Data: the Consumer receives the Presenter's messages but may not send (403 Forbidden).
    for page in (presenter, consumer):
        page.evaluate("(t) => dataChannelsOpen(window.sampleApp.call, t)", MEDIA_TIMEOUT_MS)
    consumer.evaluate("collectData(window.sampleApp.call)")
    presenter.evaluate(
        """() => window.sampleApp.call.feature("DataChannel")
            .createDataChannelSender({ channelId: 9, reliability: "durable" })
            .sendMessage(new TextEncoder().encode("welcome"))"""
    )
    consumer.wait_for_function("dc.length === 1")
    assert consumer.evaluate("dc")[0][3] == "welcome"
    refused = consumer.evaluate(
        """() => window.sampleApp.call.feature("DataChannel")
            .createDataChannelSender({ channelId: 9 })
            .sendMessage(new Uint8Array([1])).then(() => "sent", (e) => e.code)"""
    )
    assert refused == "Forbidden"


def test_off_roster_user_waits_in_the_lobby_until_the_presenter_admits_it(
    sign_in: Callable[[str], Page],
) -> None:
    presenter, guest = sign_in("Liv"), sign_in("Gus")
    # Nobody invited: a Room with its Presenter alone.
    presenter.get_by_role("button", name="New meeting with the ticked contacts").click()
    join_from_prejoin(presenter)
    expect_connected(presenter)
    room_id = str(presenter.evaluate("window.sampleApp.call.id")).removeprefix("room:")

    guest.get_by_label("Meeting (room) id").fill(room_id)
    guest.get_by_role("button", name="Join meeting").click()
    join_from_prejoin(guest)
    expect_call_state(guest, "InLobby")
    expect(guest.get_by_text("Waiting to be let in")).to_be_visible()
    admit = presenter.get_by_role("button", name="Admit Gus")  # the People panel opens
    expect(admit).to_be_visible(timeout=10_000)
    assert guest.evaluate("window.sampleApp.call.remoteParticipants.length") == 0
    admit.click()
    expect_connected(guest)
    expect(presenter.locator("#lobby")).to_be_hidden()
    receiving_from(guest, [presenter])
    receiving_from(presenter, [guest])
    assert guest.evaluate("window.sampleApp.call.role") == "Attendee"


def test_a_shared_screen_takes_the_stage_whole(sign_in: Callable[[str], Page]) -> None:
    """ACS's startScreenSharing through the app's control bar: the others see the screen as its
    own stream on the stage, whole ("Fit": object-fit contain), the cameras in a filmstrip."""
    host, guest = sign_in("Hal"), sign_in("Ida")
    befriend(host, "Ida")
    host.get_by_label("Invite Ida").check()
    host.get_by_role("button", name="Start a group call with the ticked contacts").click()
    join_from_prejoin(host)
    join_invitation(guest, "Hal invites you to a group call")
    expect_connected(host, guest)
    host.get_by_role("button", name="Share screen").click()
    expect(host.get_by_role("button", name="Stop sharing")).to_be_visible(timeout=10_000)
    stage = guest.get_by_label("Shared screen")
    expect(stage).to_be_visible(timeout=MEDIA_TIMEOUT_MS)
    expect(stage).to_contain_text("Hal is presenting")
    guest.wait_for_function(
        "document.querySelector('#screen-stage video')?.videoWidth > 0", timeout=MEDIA_TIMEOUT_MS
    )
    assert (
        guest.evaluate("getComputedStyle(document.querySelector('#screen-stage video')).objectFit")
        == "contain"
    )
    expect(guest.locator("#grid")).to_have_class(re.compile(r"\blayout-filmstrip\b"))
    expect(guest.locator(".tile[data-name=Hal] video")).to_be_visible()  # its camera goes on
    host.get_by_role("button", name="Stop sharing").click()
    expect(stage).to_be_hidden(timeout=MEDIA_TIMEOUT_MS)
    expect(guest.locator("#grid")).to_have_class(re.compile(r"\blayout-grid\b"))
