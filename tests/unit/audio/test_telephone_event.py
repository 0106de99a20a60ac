"""RFC 4733: the payload codec, the receiver (one press each) and the sender's packets."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.media.audio.errors import TelephoneEventParseError
from switchboard.media.audio.telephone_event import (
    MAX_DURATION,
    TelephoneEvent,
    TelephoneEventReceiver,
    TelephoneEventSender,
)
from switchboard.media.audio.tones import DtmfTone

events = st.builds(
    TelephoneEvent,
    event=st.integers(0, 255),
    end=st.booleans(),
    volume=st.integers(0, 63),
    duration=st.integers(0, MAX_DURATION),
)


@given(events)
def test_payload_round_trips(event: TelephoneEvent) -> None:
    assert TelephoneEvent.parse(bytes(event)) == event


@given(st.binary(max_size=12))
def test_arbitrary_bytes_parse_or_raise_only_the_parse_error(data: bytes) -> None:
    try:
        event = TelephoneEvent.parse(data)
    except TelephoneEventParseError:
        assert len(data) != 4
    else:
        assert bytes(event)[0] == data[0]
        assert bytes(event)[2:] == data[2:]


def test_a_captured_payload_reads_as_rfc_4733_lays_it_out() -> None:
    # digit 9, end bit set, reserved bit set (ignored), volume 10, duration 1,600
    event = TelephoneEvent.parse(bytes([0x09, 0xCA, 0x06, 0x40]))
    assert event == TelephoneEvent(9, end=True, volume=10, duration=1600)
    assert event.tone is DtmfTone.NINE
    assert bytes(event) == bytes([0x09, 0x8A, 0x06, 0x40])


def test_a_flash_hook_event_has_no_tone() -> None:
    assert TelephoneEvent(16).tone is None


def test_the_receiver_reports_a_press_once_across_updates_and_redundant_ends() -> None:
    receiver = TelephoneEventReceiver()
    packets = TelephoneEventSender(8000).press(DtmfTone.FIVE, 250)
    found = [t for p in packets for t in receiver.receive(1000, p.payload)]
    found += receiver.receive(1000, packets[-1].payload)  # a retransmit
    assert found == [DtmfTone.FIVE]


def test_the_same_key_pressed_again_is_a_new_press_with_a_new_timestamp() -> None:
    receiver = TelephoneEventReceiver()
    sender = TelephoneEventSender(8000)
    found = [
        t
        for ts in (1000, 5000, 9000)
        for p in sender.press(DtmfTone.POUND, 100)
        for t in receiver.receive(ts, p.payload)
    ]
    assert found == [DtmfTone.POUND] * 3


def test_a_press_whose_start_was_lost_is_reported_from_its_end_packet() -> None:
    receiver = TelephoneEventReceiver()
    end = bytes(TelephoneEvent(DtmfTone.ONE.event_code, end=True, duration=800))
    assert receiver.receive(4000, end) == [DtmfTone.ONE]
    assert receiver.receive(4000, end) == []


def test_a_long_press_continued_in_a_new_segment_is_not_reported_twice() -> None:
    receiver = TelephoneEventReceiver()
    code = DtmfTone.ZERO.event_code
    assert receiver.receive(100, bytes(TelephoneEvent(code, duration=MAX_DURATION))) == [
        DtmfTone.ZERO
    ]
    assert receiver.receive(100 + MAX_DURATION, bytes(TelephoneEvent(code, duration=400))) == []


def test_non_dtmf_events_are_not_key_presses() -> None:
    assert TelephoneEventReceiver().receive(1, bytes(TelephoneEvent(16, end=True))) == []


def test_the_receiver_raises_the_parse_error_on_a_short_payload() -> None:
    with pytest.raises(TelephoneEventParseError):
        TelephoneEventReceiver().receive(1, b"\x01\x02")


def test_the_sender_marks_the_first_packet_and_ends_with_three_end_packets() -> None:
    packets = TelephoneEventSender(48_000).press(DtmfTone.A, 200)
    parsed = [TelephoneEvent.parse(p.payload) for p in packets]
    assert [p.marker for p in packets] == [True, False, False, False, False, False]
    assert [p.offset_ms for p in packets] == [0, 50, 100, 150, 170, 190]
    assert [e.duration for e in parsed] == [2400, 4800, 7200, 9600, 9600, 9600]
    assert [e.end for e in parsed] == [False, False, False, True, True, True]
    assert {e.event for e in parsed} == {12}


def test_the_sender_refuses_a_press_longer_than_the_duration_field() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        TelephoneEventSender(48_000).press(DtmfTone.ONE, 1400)


@settings(max_examples=60)
@given(
    presses=st.lists(
        st.tuples(st.sampled_from(list(DtmfTone)), st.integers(20, 1000)), min_size=1, max_size=10
    ),
    clock_rate=st.sampled_from([8000, 16000, 48_000]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_presses_round_trip_through_sender_and_receiver_despite_loss_and_duplicates(
    presses: list[tuple[DtmfTone, int]], clock_rate: int, seed: int
) -> None:
    """Each press keeps at least one packet; others are dropped, duplicated or reordered
    within the press (the network's usual damage)."""
    rng = random.Random(seed)
    sender, receiver = TelephoneEventSender(clock_rate), TelephoneEventReceiver()
    found: list[DtmfTone] = []
    timestamp = rng.randrange(2**32)
    for tone, ms in presses:
        payloads = [p.payload for p in sender.press(tone, ms)]
        kept = [p for p in payloads if rng.random() < 0.6] or [rng.choice(payloads)]
        kept += rng.sample(kept, k=min(len(kept), 2))
        rng.shuffle(kept)
        found += [t for p in kept for t in receiver.receive(timestamp, p)]
        timestamp = (timestamp + clock_rate * (ms + 100) // 1000) & 0xFFFFFFFF
    assert found == [tone for tone, _ in presses]
