"""Hold in the forwarder: a participant set apart hears and is heard only by whom it is kept
with (the app's leg), until it is back; the others go on hearing each other."""

from __future__ import annotations

from switchboard.media.streams import MediaKind
from tests.unit.test_media_forwarder import Publisher, call

AUDIO = MediaKind.AUDIO


def test_a_held_participant_hears_only_the_app_and_nobody_hears_it_until_unhold() -> None:
    forwarder, links = call("held", "other", "third", "app")
    publishers = {}
    for n, name in enumerate(("held", "other", "third", "app")):
        forwarder.publish(name, AUDIO, 0xA0 + n, 111, 0.0)
        publishers[name] = Publisher(forwarder, 0xA0 + n, 100 * n, 0)

    def round_of(payload: bytes, now: float) -> None:
        for name, publisher in publishers.items():
            publisher.send(payload + b"-" + name.encode(), now, pt=111)

    round_of(b"before", 0.0)
    forwarder.set_apart("held", {"app"}, 0.01)
    round_of(b"held", 0.02)
    forwarder.set_apart("held", None, 0.03)
    round_of(b"after", 0.04)

    def heard(by: str) -> list[bytes]:
        return [p.payload for p in links[by].rtp]

    assert heard("held") == [
        b"before-other", b"before-third", b"before-app",
        b"held-app",
        b"after-other", b"after-third", b"after-app",
    ]  # fmt: skip
    assert heard("other") == [
        b"before-held", b"before-third", b"before-app",
        b"held-third", b"held-app",
        b"after-held", b"after-third", b"after-app",
    ]  # fmt: skip
    assert b"held-held" in heard("app")  # the app still hears it (its recognition goes on)
    # Back from hold, the held one's stream to the others continues without a sequence gap.
    other_from_held = [p for p in links["other"].rtp if p.payload.endswith(b"-held")]
    assert other_from_held[1].sequence_number == (other_from_held[0].sequence_number + 1) & 0xFFFF
    assert forwarder.linked("held", "other") and forwarder.linked("other", "held")


def test_a_held_participant_that_leaves_is_forgotten() -> None:
    forwarder, _ = call("held", "other")
    forwarder.set_apart("held", {"app"}, 0.0)
    forwarder.remove_participant("held", 0.01)
    assert forwarder.apart == {}
