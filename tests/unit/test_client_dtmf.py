"""The Python client's DTMF: tones, SDP with telephone-event, and RFC 4733 packets slotted
into an audio stream (a fake transport in place of aiortc's DTLS transport)."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.client.calling.dtmf import (
    DtmfError,
    DtmfSender,
    DtmfTone,
    parse_tone,
    telephone_event_pt,
    with_telephone_event,
)
from switchboard.media.rtp import RtpPacket

AIORTC_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96 9 0 8",
        "c=IN IP4 0.0.0.0",
        "a=sendrecv",
        "a=mid:0",
        "a=rtcp-mux",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=ssrc:42 cname:x",
        "",
    ]
)


def test_tones_are_acs_names_or_keys() -> None:
    assert parse_tone("Num1") is DtmfTone.NUM1 and DtmfTone.NUM1.event == 1
    assert parse_tone("#") is DtmfTone.POUND and DtmfTone.POUND.event == 11
    assert parse_tone("d").event == 15
    with pytest.raises(DtmfError):
        parse_tone("Num10")


def test_an_offer_gains_telephone_event_on_its_audio_line_once() -> None:
    offer = with_telephone_event(AIORTC_OFFER, "0")
    assert offer.splitlines()[5] == "m=audio 9 UDP/TLS/RTP/SAVPF 96 9 0 8 101"
    assert "a=rtpmap:101 telephone-event/48000" in offer and "a=fmtp:101 0-15" in offer
    assert offer.index("telephone-event") > offer.index("PCMA")  # after the other codecs
    assert telephone_event_pt(offer, "0") == 101
    assert with_telephone_event(offer, "0") == offer
    assert with_telephone_event(AIORTC_OFFER, "7") == AIORTC_OFFER  # no such m-line
    assert telephone_event_pt(AIORTC_OFFER, "0") is None


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


def audio(seq: int, ts: int, ssrc: int = 42) -> bytes:
    return bytes(RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, ssrc=ssrc))


@pytest.mark.anyio
async def test_events_take_sequence_numbers_in_the_audio_stream_and_replace_its_packets() -> None:
    transport = FakeTransport()
    sender = DtmfSender(ssrc=42, payload_type=101)
    sender.attach(transport)
    send = transport._send_rtp  # what aiortc's RTCRtpSender now calls

    async def talk() -> None:
        seq, ts = 1000, 5000
        while True:
            await send(audio(seq, ts))
            await send(audio(7, 7, ssrc=99))  # another sender's packet: untouched
            seq, ts = seq + 1, ts + 960
            await asyncio.sleep(0.01)

    talking = asyncio.create_task(talk())
    try:
        await sender.send([DtmfTone.NUM5])
        await asyncio.sleep(0.05)  # audio resumes after the tone
    finally:
        talking.cancel()

    packets = [RtpPacket.parse(d) for d in transport.sent]
    assert {p.sequence_number for p in packets if p.ssrc == 99} == {7}
    ours = [p for p in packets if p.ssrc == 42]
    seqs = [p.sequence_number for p in ours]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # one gapless stream
    kinds = "".join("e" if p.payload_type == 101 else "a" for p in ours)
    assert kinds.strip("a") == "e" * 7  # 4 updates + the end 3 times, no audio in between
    events = [p for p in ours if p.payload_type == 101]
    assert {p.payload[0] for p in events} == {5} and len({p.timestamp for p in events}) == 1
    assert [p.marker for p in events] == [True] + [False] * 6
    assert [bool(p.payload[1] & 0x80) for p in events] == [False] * 4 + [True] * 3
    durations = [int.from_bytes(p.payload[2:4], "big") for p in events]
    assert durations == [960, 1920, 2880, 3840, 4800, 4800, 4800]
