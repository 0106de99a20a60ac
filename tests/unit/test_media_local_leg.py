"""Local legs on the forwarder, in process: what they publish, whom it reaches, what they
hear (decoded Opus, telephone events). No sockets; a fake clock."""

from __future__ import annotations

import numpy as np
import pytest

from switchboard.media.forwarder import Forwarder, StreamsChanged
from switchboard.media.local_leg import LocalLeg, audio_level
from switchboard.media.node import LocalMediaNode, MediaParticipantExistsError
from switchboard.media.opus import FRAME_BYTES, FRAME_SAMPLES, OpusDecoder, OpusEncoder
from switchboard.media.rtp import RtpPacket
from switchboard.media.streams import MediaKind

AUDIO = MediaKind.AUDIO
SAMPLE_RATE = 48_000
DIGIT_1 = bytes([1, 0x0A, 0x00, 0xA0])  # RFC 4733: event 1, E=0, volume 10, duration 160


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Sink:
    """A participant's side of the forwarder: the packets it would receive, rewritten."""

    def __init__(self) -> None:
        self.rtp: list[RtpPacket] = []

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
        self.rtp.append(RtpPacket.parse(copy))

    def send_rtcp(self, data: bytes) -> None:
        pass


def tone(frequency: float, frames: int, amplitude: int = 8000) -> list[bytes]:
    t = np.arange(frames * FRAME_SAMPLES)
    pcm = (amplitude * np.sin(2 * np.pi * frequency * t / SAMPLE_RATE)).astype("<i2")
    return [pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES].tobytes() for i in range(frames)]


def frequency_of(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * SAMPLE_RATE / samples.size)


def call(
    subscribers: dict[str, dict[str, int]], clock: Clock
) -> tuple[Forwarder, dict[str, Sink], LocalLeg]:
    """A forwarder with these participants (name → payload types) and a local leg "app"."""
    forwarder = Forwarder()
    sinks = {name: Sink() for name in subscribers}
    for name, types in subscribers.items():
        forwarder.add_participant(name, sinks[name], clock.now, payload_types=types)
    leg = LocalLeg("call", "app", forwarder, clock=clock)
    return forwarder, sinks, leg


def publish_opus(
    forwarder: Forwarder, who: str, ssrc: int, frames: list[bytes], clock: Clock
) -> None:
    forwarder.publish(who, AUDIO, ssrc, 109, clock.now)
    encoder = OpusEncoder()
    for i, frame in enumerate(frames):
        packet = bytes(
            RtpPacket(
                payload_type=109,
                sequence_number=500 + i,
                timestamp=9000 + i * FRAME_SAMPLES,
                ssrc=ssrc,
                payload=encoder.encode(frame),
            )
        )
        forwarder.receive_rtp(packet, len(packet), clock.now)
        clock.now += 0.02


def test_a_legs_frames_reach_subscribers_rewritten_as_opus_of_the_tone() -> None:
    clock = Clock()
    forwarder, sinks, leg = call({"alice": {"opus": 109}}, clock)
    assert StreamsChanged("alice") in forwarder.take_events()  # alice is offered the leg
    [stream] = forwarder.streams("alice")
    assert stream.source_participant_id == "app"
    for frame in tone(440, 10):
        leg.send_audio(frame)
        clock.now += 0.02

    got = sinks["alice"].rtp
    assert len(got) == 10
    assert {p.ssrc for p in got} == {stream.ssrc} and stream.ssrc != leg.ssrc
    assert {p.payload_type for p in got} == {109}  # alice's Opus PT, not the leg's
    assert [(p.sequence_number - got[0].sequence_number) & 0xFFFF for p in got] == list(range(10))
    assert [(p.timestamp - got[0].timestamp) & 0xFFFFFFFF for p in got] == [
        i * FRAME_SAMPLES for i in range(10)
    ]
    assert got[0].marker and not got[1].marker  # a talkspurt starts
    decoder = OpusDecoder()
    pcm = b"".join(decoder.decode(p.payload) for p in got)
    assert abs(frequency_of(pcm[-4 * FRAME_BYTES :]) - 440) < 15


def test_a_pause_continues_the_timestamps_and_marks_the_next_talkspurt() -> None:
    clock = Clock()
    _, sinks, leg = call({"alice": {"opus": 109}}, clock)
    frames = tone(440, 3)
    leg.send_audio(frames[0])
    clock.now += 0.02
    leg.send_audio(frames[1])
    clock.now += 5.0  # nothing to say for a while
    leg.send_audio(frames[2])
    first, second, third = sinks["alice"].rtp
    assert (third.timestamp - second.timestamp) & 0xFFFFFFFF == FRAME_SAMPLES
    assert (third.sequence_number - second.sequence_number) & 0xFFFF == 1
    assert (first.marker, second.marker, third.marker) == (1, 0, 1)


def test_the_audience_narrows_who_hears_the_leg_without_renegotiation() -> None:
    clock = Clock()
    forwarder, sinks, leg = call({"alice": {}, "bob": {}}, clock)
    forwarder.take_events()
    frames = iter(tone(440, 6))

    leg.set_audience({"bob"})
    for _ in range(2):
        leg.send_audio(next(frames))
        clock.now += 0.02
    assert (len(sinks["alice"].rtp), len(sinks["bob"].rtp)) == (0, 2)

    leg.set_audience(None)
    for _ in range(2):
        leg.send_audio(next(frames))
        clock.now += 0.02
    assert (len(sinks["alice"].rtp), len(sinks["bob"].rtp)) == (2, 4)

    leg.set_audience(["alice"])
    leg.send_audio(next(frames))
    assert (len(sinks["alice"].rtp), len(sinks["bob"].rtp)) == (3, 4)
    assert forwarder.take_events() == []  # same streams throughout: nothing to renegotiate
    # alice's stream went on where it was: the next sequence number
    seqs = [p.sequence_number for p in sinks["alice"].rtp]
    assert (seqs[2] - seqs[1]) & 0xFFFF == 1


def test_listening_decodes_only_the_publishers_listened_to() -> None:
    clock = Clock()
    forwarder, _, leg = call({"alice": {"opus": 109}, "bob": {"opus": 109}}, clock)
    heard: list[bytes] = []
    leg.listen("alice", heard.append)
    publish_opus(forwarder, "alice", 0xA0, tone(1000, 10), clock)
    assert len(heard) == 10 and {len(f) for f in heard} == {FRAME_BYTES}
    assert abs(frequency_of(b"".join(heard[-4:])) - 1000) < 15

    publish_opus(forwarder, "bob", 0xB0, tone(700, 5), clock)
    assert len(heard) == 10  # bob is not listened to

    leg.listen("alice", None)
    publish_opus(forwarder, "alice", 0xA1, tone(1000, 3), clock)
    assert len(heard) == 10


def test_telephone_events_reach_the_leg_and_subscribers_who_negotiated_them() -> None:
    clock = Clock()
    forwarder, sinks, leg = call(
        {
            "alice": {"opus": 111, "telephone-event": 101},
            "bob": {"opus": 111, "telephone-event": 126},
            "carol": {"opus": 111},  # no telephone-event in its offer
        },
        clock,
    )
    events: list[tuple[str, bytes, int]] = []
    leg.on_telephone_event(lambda who, payload, ts: events.append((who, payload, ts)))
    forwarder.publish("alice", AUDIO, 0xA0, 111, clock.now)
    forwarder.set_muted("alice", AUDIO, True, clock.now)  # keys still go through

    for seq, (pt, payload) in enumerate([(101, DIGIT_1), (101, DIGIT_1)]):
        packet = bytes(
            RtpPacket(
                payload_type=pt, sequence_number=seq, timestamp=4800, ssrc=0xA0, payload=payload
            )
        )
        forwarder.receive_rtp(packet, len(packet), clock.now)

    assert [(who, payload) for who, payload, _ in events] == [("alice", DIGIT_1)] * 2
    assert events[0][2] == events[1][2]  # one event: one timestamp
    assert [p.payload_type for p in sinks["bob"].rtp] == [126, 126]
    assert sinks["carol"].rtp == []
    assert forwarder.streams("app")  # the leg subscribes like anyone


def test_a_legs_own_telephone_events_reach_subscribers_one_timestamp_per_event() -> None:
    """A phone's key presses relayed by its carrier (gateways/sip): each new event gets a
    timestamp of its own even when no audio was sent between them."""
    clock = Clock()
    _, sinks, leg = call({"bob": {"opus": 111, "telephone-event": 126}}, clock)
    end_1 = bytes([1, 0x8A, 0x03, 0xC0])
    leg.send_telephone_event(DIGIT_1, new_event=True)
    leg.send_telephone_event(end_1, new_event=False)
    leg.send_telephone_event(DIGIT_1, new_event=True)
    events = [p for p in sinks["bob"].rtp if p.payload_type == 126]
    assert [p.payload for p in events] == [DIGIT_1, end_1, DIGIT_1]
    assert [p.marker for p in events] == [True, False, True]
    assert events[0].timestamp == events[1].timestamp != events[2].timestamp
    leg.close()
    leg.send_telephone_event(DIGIT_1, new_event=True)
    assert len([p for p in sinks["bob"].rtp if p.payload_type == 126]) == 3


def test_a_closed_leg_leaves_the_call_and_ignores_later_frames() -> None:
    clock = Clock()
    forwarder, sinks, leg = call({"alice": {}}, clock)
    leg.close()
    assert "app" not in forwarder.participants
    assert forwarder.streams("alice") == []
    leg.send_audio(tone(440, 1)[0])
    assert sinks["alice"].rtp == []


def test_audio_level_is_minus_dbov() -> None:
    assert audio_level(bytes(FRAME_BYTES)) == 127
    full_scale = np.full(FRAME_SAMPLES, 32767, dtype="<i2").tobytes()
    assert audio_level(full_scale) == 0
    assert 25 <= audio_level(tone(440, 1, amplitude=2000)[0]) <= 29  # a sine: −27.3 dBov


def test_the_leg_marks_its_packets_with_its_level_for_speaker_detection() -> None:
    clock = Clock()
    _, sinks, leg = call({"alice": {}}, clock)
    leg.send_audio(tone(440, 1, amplitude=16000)[0])
    [packet] = sinks["alice"].rtp
    assert packet.extensions[0][0] == 1 and packet.extensions[0][1][0] < 10


@pytest.mark.anyio
async def test_the_node_adds_local_legs_and_removes_them_with_the_call() -> None:
    node = LocalMediaNode()
    leg = await node.add_local_participant("call", "app")  # the call is created for it
    assert leg.participant_id == "app" and [s.ssrc for s in await node.streams("call", "app")] == []
    with pytest.raises(MediaParticipantExistsError):
        await node.add_local_participant("call", "app")
    await node.set_muted("call", "app", AUDIO, True)  # a leg is a participant like the others

    await node.remove_participant("call", "app")
    assert leg.closed
    again = await node.add_local_participant("call", "app")
    await node.end_call("call")
    assert again.closed


def test_a_phones_leg_speaks_and_hears_8_khz_while_the_call_hears_48_khz_opus() -> None:
    clock = Clock()
    forwarder, sinks, phone = call({"alice": {"opus": 109}}, clock)
    heard: list[tuple[str, bytes]] = []
    phone.listen_all(lambda who, pcm: heard.append((who, pcm)), narrowband=True)
    publish_opus(forwarder, "alice", 0xA0, tone(1000, 10), clock)
    assert len(heard) == 10 and {who for who, _ in heard} == {"alice"}
    assert {len(pcm) for _, pcm in heard} == {320}  # 160 samples: 20 ms at 8 kHz
    late = np.frombuffer(b"".join(pcm for _, pcm in heard[-4:]), dtype="<i2").astype(np.float64)
    assert abs(np.argmax(np.abs(np.fft.rfft(late))) * 8000 / late.size - 1000) < 15
    tapped: list[bytes] = []
    phone.tap(lambda who, pcm: tapped.append(pcm))  # media streaming still hears 48 kHz
    publish_opus(forwarder, "alice", 0xA1, tone(1000, 3), clock)
    assert len(heard) == 13 and [len(pcm) for pcm in tapped] == [FRAME_BYTES] * 3

    t = np.arange(10 * 160)
    spoken = (8000 * np.sin(2 * np.pi * 440 * t / 8000)).astype("<i2").tobytes()
    for i in range(10):
        phone.send_narrowband(spoken[i * 320 : (i + 1) * 320])
        clock.now += 0.02
    got = sinks["alice"].rtp
    assert len(got) == 10 and got[0].marker
    assert {p.payload_type for p in got} == {109}
    decoder = OpusDecoder()  # alice decodes it as any Opus stream, at 48 kHz
    pcm = b"".join(decoder.decode(p.payload) for p in got)
    assert len(pcm) == 10 * FRAME_BYTES
    assert abs(frequency_of(pcm[-4 * FRAME_BYTES :]) - 440) < 15
