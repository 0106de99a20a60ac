"""The SFU's forwarder at packet level: in-memory links, a fake clock, no sockets."""

from __future__ import annotations

from switchboard.media import rtcp
from switchboard.media.forwarder import (
    KEYFRAME_INTERVAL,
    Forwarder,
    SpeakerChanged,
    StreamsChanged,
)
from switchboard.media.rtp import RtpPacket
from switchboard.media.speaker import HOLD_TICKS, TICK_SECONDS
from switchboard.media.streams import MediaKind

LEVEL_ID = 1
KEY = b"\x10\x00key-frame"  # VP8: S=1, PID=0, frame tag P=0
DELTA = b"\x10\x01delta-frame"
AUDIO, VIDEO = MediaKind.AUDIO, MediaKind.VIDEO


class Link:
    """A participant's side of the forwarder; ``drop`` names packets (by arrival index) lost
    on the way, like a lossy network."""

    def __init__(self, drop: set[int] | None = None) -> None:
        self.rtp: list[RtpPacket] = []
        self.rtcp: list[rtcp.RtcpPacket] = []
        self.drop = drop or set()
        self.offered = 0

    def send_rtp(
        self,
        packet: bytes | bytearray | memoryview,
        length: int,
        marker_pt: int,
        seq: int,
        timestamp: int,
        ssrc: int,
    ) -> None:
        copy = bytearray(packet[:length])
        copy[1] = marker_pt
        copy[2:12] = seq.to_bytes(2, "big") + timestamp.to_bytes(4, "big") + ssrc.to_bytes(4, "big")
        self.offered += 1
        if self.offered - 1 not in self.drop:
            self.rtp.append(RtpPacket.parse(copy))

    def send_rtcp(self, data: bytes) -> None:
        self.rtcp.extend(rtcp.parse_rtcp(data))

    def plis(self) -> list[int]:
        return [p.media_ssrc for p in self.rtcp if isinstance(p, rtcp.PictureLossIndication)]

    def seqs(self, ssrc: int | None = None) -> list[int]:
        return [p.sequence_number for p in self.rtp if ssrc is None or p.ssrc == ssrc]


class Publisher:
    def __init__(self, forwarder: Forwarder, ssrc: int, seq: int, ts: int) -> None:
        self.forwarder, self.ssrc, self.seq, self.ts = forwarder, ssrc, seq, ts

    def send(self, payload: bytes, now: float, *, level: int | None = None, pt: int = 96) -> int:
        extensions = [(LEVEL_ID, bytes([level]))] if level is not None else []
        packet = RtpPacket(
            payload_type=pt,
            sequence_number=self.seq,
            timestamp=self.ts,
            ssrc=self.ssrc,
            payload=payload,
            extension_profile=0xBEDE if extensions else None,
            extensions=extensions,
        )
        data = bytes(packet)
        self.forwarder.receive_rtp(data, len(data), now)
        sent = self.seq
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + 3000) & 0xFFFFFFFF
        return sent


def call(*names: str, max_video: int = 16) -> tuple[Forwarder, dict[str, Link]]:
    forwarder = Forwarder()
    links = {name: Link() for name in names}
    for name in names:
        forwarder.add_participant(name, links[name], 0.0, max_video=max_video)
    return forwarder, links


def only_stream(forwarder: Forwarder, subscriber: str, kind: MediaKind, source: str) -> int:
    [stream] = [
        s
        for s in forwarder.streams(subscriber)
        if s.kind is kind and s.source_participant_id == source
    ]
    return stream.ssrc


def speak(forwarder: Forwarder, talkers: dict[str, Publisher], loud: str, now: float) -> float:
    """One tick of audio where ``loud`` talks and the others are silent; the next time."""
    for name, publisher in talkers.items():
        publisher.send(b"opus", now, level=10 if name == loud else 127, pt=111)
    forwarder.tick(now)
    return now + TICK_SECONDS


def test_video_slot_switch_keeps_one_continuous_stream_and_waits_for_a_key_frame() -> None:
    forwarder, links = call("alice", "bob", "sam")
    forwarder.set_max_video("sam", 1, 0.0)
    alice_audio = Publisher(forwarder, 0xA0, 100, 0)
    bob_audio = Publisher(forwarder, 0xB0, 9000, 0)
    forwarder.publish("alice", AUDIO, 0xA0, 111, 0.0, audio_level_id=LEVEL_ID)
    forwarder.publish("bob", AUDIO, 0xB0, 111, 0.0, audio_level_id=LEVEL_ID)
    alice = Publisher(forwarder, 0xA1, 1000, 50_000)
    bob = Publisher(forwarder, 0xB1, 40_000, 7_000_000)
    forwarder.publish("alice", VIDEO, 0xA1, 96, 0.0)
    forwarder.publish("bob", VIDEO, 0xB1, 96, 0.0)
    slot = only_stream(forwarder, "sam", VIDEO, "alice")  # alice joined first: her video shows

    alice.send(DELTA, 0.01)  # nothing before a key frame
    for payload in (KEY, DELTA, DELTA):
        alice.send(payload, 0.02)
    before = [p for p in links["sam"].rtp if p.ssrc == slot]
    assert [p.payload for p in before] == [KEY, DELTA, DELTA]
    assert [(p.sequence_number - before[0].sequence_number) & 0xFFFF for p in before] == [0, 1, 2]

    now = 0.1
    while not any(isinstance(e, SpeakerChanged) for e in forwarder.take_events()):
        now = speak(forwarder, {"alice": alice_audio, "bob": bob_audio}, "bob", now)
    assert only_stream(forwarder, "sam", VIDEO, "bob") == slot  # same outgoing SSRC
    assert 0xB1 in links["bob"].plis()  # bob is asked for a key frame

    bob.send(DELTA, now)
    alice.send(DELTA, now)  # alice no longer feeds the slot
    bob.send(KEY, now + 0.5)
    bob.send(DELTA, now + 0.5)
    after = [p for p in links["sam"].rtp if p.ssrc == slot][len(before) :]
    assert [p.payload for p in after] == [KEY, DELTA]
    last = before[-1]
    assert after[0].sequence_number == (last.sequence_number + 1) & 0xFFFF
    assert after[1].sequence_number == (last.sequence_number + 2) & 0xFFFF
    jump = (after[0].timestamp - last.timestamp) & 0xFFFFFFFF
    assert abs(jump - (now + 0.5 - 0.02) * 90_000) < 2  # the wall-clock gap at 90 kHz
    assert (after[1].timestamp - after[0].timestamp) & 0xFFFFFFFF == 3000  # bob's own clock


def test_nack_is_answered_from_the_cache_through_a_lossy_link() -> None:
    forwarder = Forwarder()
    lossy = Link(drop={3, 7, 8, 15})
    forwarder.add_participant("alice", Link(), 0.0)
    forwarder.add_participant("sam", lossy, 0.0)
    alice = Publisher(forwarder, 0xA1, 65_530, 0)  # wraps around 65535
    forwarder.publish("alice", VIDEO, 0xA1, 96, 0.0)
    slot = only_stream(forwarder, "sam", VIDEO, "alice")
    payloads = [KEY] + [DELTA + bytes([i]) for i in range(1, 20)]
    for payload in payloads:
        alice.send(payload, 0.1)

    got = {p.sequence_number: p.payload for p in lossy.rtp}
    first = lossy.rtp[0].sequence_number
    missing = [(first + i) & 0xFFFF for i in range(20) if (first + i) & 0xFFFF not in got]
    assert len(missing) == 4
    nack = rtcp.GenericNack(sender_ssrc=1, media_ssrc=slot, lost=missing)
    forwarder.receive_rtcp("sam", bytes(nack), 0.3)

    got = {p.sequence_number: p.payload for p in lossy.rtp}
    assert [got[(first + i) & 0xFFFF] for i in range(20)] == payloads
    assert forwarder.retransmitted == 4


def test_nack_for_packets_older_than_the_cache_is_not_answered() -> None:
    forwarder, links = call("alice", "sam")
    alice = Publisher(forwarder, 0xA1, 5, 0)
    forwarder.publish("alice", VIDEO, 0xA1, 96, 0.0)
    slot = only_stream(forwarder, "sam", VIDEO, "alice")
    alice.send(KEY, 0.0)
    seq = links["sam"].rtp[0].sequence_number

    forwarder.receive_rtcp("sam", bytes(rtcp.GenericNack(1, slot, [seq])), 2.0)

    assert len(links["sam"].rtp) == 1
    assert forwarder.nack_misses == 1


def test_key_frame_requests_from_subscribers_reach_the_publisher_rate_limited() -> None:
    forwarder, links = call("alice", "sam", "tom")
    alice = Publisher(forwarder, 0xA1, 5, 0)
    forwarder.publish("alice", VIDEO, 0xA1, 96, 0.0)
    alice.send(KEY, 0.0)
    links["alice"].rtcp.clear()
    at = KEYFRAME_INTERVAL + 1.0

    for subscriber in ("sam", "tom"):
        slot = only_stream(forwarder, subscriber, VIDEO, "alice")
        forwarder.receive_rtcp(subscriber, bytes(rtcp.PictureLossIndication(1, slot)), at)
    assert links["alice"].plis() == [0xA1]

    slot = only_stream(forwarder, "tom", VIDEO, "alice")
    fir = rtcp.FullIntraRequest(1, [(slot, 1)])
    forwarder.receive_rtcp("tom", bytes(fir), at + KEYFRAME_INTERVAL)
    assert links["alice"].plis() == [0xA1, 0xA1]


def test_muted_audio_is_not_forwarded_and_resumes_without_a_sequence_gap() -> None:
    forwarder, links = call("alice", "sam")
    forwarder.publish("alice", AUDIO, 0xA0, 111, 0.0)
    alice = Publisher(forwarder, 0xA0, 10, 0)
    alice.send(b"one", 0.0, pt=111)
    forwarder.set_muted("alice", AUDIO, True, 0.0)
    alice.send(b"muted", 0.02, pt=111)
    alice.send(b"muted", 0.04, pt=111)
    forwarder.set_muted("alice", AUDIO, False, 0.05)
    alice.send(b"two", 0.06, pt=111)

    received = links["sam"].rtp
    assert [p.payload for p in received] == [b"one", b"two"]
    assert received[1].sequence_number == (received[0].sequence_number + 1) & 0xFFFF


def test_a_muted_video_publisher_gives_its_slot_to_another() -> None:
    forwarder, links = call("alice", "bob", "sam", max_video=1)
    forwarder.publish("alice", VIDEO, 0xA1, 96, 0.0)
    forwarder.publish("bob", VIDEO, 0xB1, 96, 0.0)
    slot = only_stream(forwarder, "sam", VIDEO, "alice")

    forwarder.set_muted("alice", VIDEO, True, 1.0)

    assert only_stream(forwarder, "sam", VIDEO, "bob") == slot
    Publisher(forwarder, 0xA1, 1, 0).send(KEY, 1.1)
    Publisher(forwarder, 0xB1, 1, 0).send(KEY, 1.1)
    assert [p.payload for p in links["sam"].rtp] == [KEY]


def test_a_short_burst_does_not_take_the_speaker_from_who_is_talking() -> None:
    forwarder, _ = call("alice", "bob")
    forwarder.publish("alice", AUDIO, 0xA0, 111, 0.0, audio_level_id=LEVEL_ID)
    forwarder.publish("bob", AUDIO, 0xB0, 111, 0.0, audio_level_id=LEVEL_ID)
    talkers = {"alice": Publisher(forwarder, 0xA0, 1, 0), "bob": Publisher(forwarder, 0xB0, 1, 0)}
    now = 0.0
    for _ in range(10):
        now = speak(forwarder, talkers, "alice", now)
    assert forwarder.take_events().count(SpeakerChanged("alice")) == 1

    now = speak(forwarder, talkers, "bob", now)  # one tick of bob: a cough
    for _ in range(5):
        now = speak(forwarder, talkers, "alice", now)
    assert SpeakerChanged("bob") not in forwarder.take_events()

    for _ in range(HOLD_TICKS + 10):
        now = speak(forwarder, talkers, "bob", now)
    assert SpeakerChanged("bob") in forwarder.take_events()
    assert forwarder.speaker_order[0] == "bob"


def test_subscriber_receives_no_more_video_streams_than_it_asked_for() -> None:
    forwarder, _ = call("alice", "bob", "carol", "sam")
    for ssrc, name in ((0xA1, "alice"), (0xB1, "bob"), (0xC1, "carol")):
        forwarder.publish(name, VIDEO, ssrc, 96, 0.0)
    forwarder.take_events()
    assert sum(1 for s in forwarder.streams("sam") if s.source_participant_id) == 3

    forwarder.set_max_video("sam", 1, 0.0)

    shown = [s for s in forwarder.streams("sam") if s.source_participant_id]
    assert [s.source_participant_id for s in shown] == ["alice"]


def test_new_publisher_makes_subscribers_renegotiate() -> None:
    forwarder, _ = call("alice", "sam")
    forwarder.take_events()
    forwarder.publish("alice", AUDIO, 0xA0, 111, 0.0)
    assert forwarder.take_events() == [StreamsChanged("sam")]


def test_receiver_reports_count_what_the_publisher_lost() -> None:
    forwarder, links = call("alice", "sam")
    forwarder.publish("alice", AUDIO, 0xA0, 111, 0.0)
    alice = Publisher(forwarder, 0xA0, 65_500, 0)
    for i in range(100):
        if i % 10 == 0:
            alice.seq = (alice.seq + 1) & 0xFFFF  # one packet in ten never arrives
        alice.send(b"opus", 0.01 * i, pt=111)
    forwarder.tick(1.0)

    [report] = [p for p in links["alice"].rtcp if isinstance(p, rtcp.ReceiverReport)]
    [block] = report.reports
    assert block.ssrc == 0xA0
    assert block.packets_lost == 9  # the gaps between the first and the last packet received
    assert block.fraction_lost == 9 * 256 // 109
    assert block.highest_sequence == 0x10000 + (65_500 + 109) % 0x10000


def test_sender_reports_are_translated_to_each_subscribers_stream() -> None:
    forwarder, links = call("alice", "sam")
    forwarder.publish("alice", AUDIO, 0xA0, 111, 0.0)
    Publisher(forwarder, 0xA0, 1, 5000).send(b"opus", 0.0, pt=111)
    out = links["sam"].rtp[0]

    sr = rtcp.SenderReport(
        0xA0, ntp_timestamp=1 << 40, rtp_timestamp=5960, packet_count=2, octet_count=8
    )
    forwarder.receive_rtcp("alice", bytes(sr), 0.02)

    [translated] = [p for p in links["sam"].rtcp if isinstance(p, rtcp.SenderReport)]
    assert translated.ssrc == out.ssrc
    assert translated.rtp_timestamp == (out.timestamp + 960) & 0xFFFFFFFF
    assert translated.ntp_timestamp == 1 << 40


def test_publisher_hears_the_lowest_bandwidth_estimate_of_its_subscribers() -> None:
    forwarder, links = call("alice", "sam", "tom")
    forwarder.publish("alice", VIDEO, 0xA1, 96, 0.0)
    for name, bitrate in (("sam", 800_000), ("tom", 300_000)):
        slot = only_stream(forwarder, name, VIDEO, "alice")
        forwarder.receive_rtcp(name, bytes(rtcp.Remb(1, bitrate, [slot])), 0.5)
    forwarder.tick(1.0)

    [remb] = [p for p in links["alice"].rtcp if isinstance(p, rtcp.Remb)]
    assert remb.bitrate == 300_000
    assert remb.ssrcs == [0xA1]


def test_garbage_rtcp_is_counted_not_raised() -> None:
    forwarder, _ = call("alice")
    forwarder.receive_rtcp("alice", b"\x80\xc9\x00\x07", 0.0)
    assert forwarder.bad_rtcp == 1


def test_a_participant_who_leaves_stops_being_forwarded() -> None:
    forwarder, links = call("alice", "sam")
    forwarder.publish("alice", AUDIO, 0xA0, 111, 0.0)
    forwarder.remove_participant("alice", 1.0)
    Publisher(forwarder, 0xA0, 1, 0).send(b"opus", 1.1, pt=111)
    assert links["sam"].rtp == []
    assert forwarder.streams("sam") == []
