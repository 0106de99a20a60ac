"""A shared screen in a group call: the SFU forwards it as a video stream of its own, beside
the publisher's camera, says so in the stream map, and re-offers a video slot whose owner
changed (so the subscriber never shows one person's screen under another's name)."""

from __future__ import annotations

from switchboard.media.forwarder import Forwarder, StreamsChanged
from switchboard.media.negotiation import Negotiation, OutgoingSpec, payload_types_of
from switchboard.media.sdp import parse
from switchboard.media.streams import MediaKind
from tests.unit.test_media_forwarder import KEY, Link, Publisher
from tests.unit.test_media_negotiation import CHROMIUM_OFFER, TRANSPORT, everyone

VIDEO = MediaKind.VIDEO


def sources(forwarder: Forwarder, subscriber: str) -> list[tuple[str | None, bool]]:
    return [
        (s.source_participant_id, s.screen_share)
        for s in forwarder.streams(subscriber)
        if s.kind is VIDEO
    ]


def test_a_shared_screen_is_a_second_video_stream_that_camera_off_does_not_stop() -> None:
    forwarder = Forwarder()
    links = {name: Link() for name in ("alice", "bob")}
    for name, link in links.items():
        forwarder.add_participant(name, link, 0.0)
    forwarder.publish("alice", VIDEO, 0xA1, 96, 0.0)
    forwarder.publish("alice", VIDEO, 0xA2, 96, 0.0, screen_share=True)
    assert sorted(sources(forwarder, "bob"), key=str) == [("alice", False), ("alice", True)]

    forwarder.set_muted("alice", VIDEO, True, 1.0)  # camera off

    assert sources(forwarder, "bob") == [(None, False), ("alice", True)]
    Publisher(forwarder, 0xA1, 1, 0).send(KEY, 1.1)
    Publisher(forwarder, 0xA2, 1, 0).send(KEY, 1.1)
    screen = next(s.ssrc for s in forwarder.streams("bob") if s.screen_share)
    assert [p.ssrc for p in links["bob"].rtp] == [screen]


def test_screens_come_before_cameras_when_video_slots_are_scarce() -> None:
    forwarder = Forwarder()
    for name in ("alice", "bob", "sam"):
        forwarder.add_participant(name, Link(), 0.0, max_video=1)
    forwarder.publish("alice", VIDEO, 0xA1, 96, 0.0)
    forwarder.take_events()
    assert sources(forwarder, "sam") == [("alice", False)]

    forwarder.publish("bob", VIDEO, 0xB2, 96, 1.0, screen_share=True)

    assert sources(forwarder, "sam") == [("bob", True)]  # the same slot, a new owner
    assert StreamsChanged("sam") in forwarder.take_events()  # so sam is told


def test_a_slot_with_a_new_owner_is_offered_again_with_the_new_stream_map() -> None:
    negotiation = Negotiation(TRANSPORT, payload_types_of(parse(CHROMIUM_OFFER)))
    negotiation.answer(CHROMIUM_OFFER, everyone)
    first = negotiation.offer([OutgoingSpec(777, VIDEO, "alice")], everyone)
    assert first is not None
    negotiation.accept_answer(first.replace("a=sendonly", "a=recvonly"))
    assert negotiation.offer([OutgoingSpec(777, VIDEO, "alice")], everyone) is None

    again = negotiation.offer([OutgoingSpec(777, VIDEO, "bob", screen_share=True)], everyone)

    assert again is not None
    line = parse(again).media[-1]
    assert line.msid is not None and line.msid.startswith("bob ")
    assert negotiation.streams() == [
        {"mid": "s1", "kind": "video", "participantId": "bob", "screenShare": True}
    ]


def test_a_screen_share_mid_publishes_a_screen_track() -> None:
    negotiation = Negotiation(TRANSPORT, payload_types_of(parse(CHROMIUM_OFFER)))
    negotiation.answer(CHROMIUM_OFFER, everyone, {"1"})
    assert [(t.kind, t.screen_share) for t in negotiation.published()] == [
        (MediaKind.AUDIO, False),
        (VIDEO, True),
    ]
