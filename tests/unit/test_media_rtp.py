"""RTP/RTCP codecs: round trips, captured bytes, hostile input, in-place helpers."""

from __future__ import annotations

import contextlib
import struct

import pytest
from aiortc.rtp import (
    HeaderExtensionsMap,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
)
from aiortc.rtp import RtcpPacket as AiortcRtcp
from aiortc.rtp import RtpPacket as AiortcRtp
from hypothesis import given
from hypothesis import strategies as st

from switchboard.media import rtcp
from switchboard.media.codecs import is_h264_keyframe, is_vp8_keyframe
from switchboard.media.rtp import (
    REWRITE,
    SILENCE,
    RtpPacket,
    RtpParseError,
    audio_level,
    is_rtcp,
    payload_offset,
)

u8, u16, u32 = st.integers(0, 0xFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)

one_byte_elements = st.lists(
    st.tuples(st.integers(1, 14), st.binary(min_size=1, max_size=16)), max_size=4
)
two_byte_elements = st.lists(st.tuples(st.integers(1, 255), st.binary(max_size=40)), max_size=4)


@st.composite
def rtp_packets(draw: st.DrawFn) -> RtpPacket:
    profile = draw(st.sampled_from([None, 0xBEDE, 0x1000]))
    extensions: list[tuple[int, bytes]] = []
    if profile == 0xBEDE:
        extensions = draw(one_byte_elements)
    elif profile == 0x1000:
        extensions = draw(two_byte_elements)
    return RtpPacket(
        payload_type=draw(st.integers(0, 127)),
        sequence_number=draw(u16),
        timestamp=draw(u32),
        ssrc=draw(u32),
        payload=draw(st.binary(max_size=200)),
        marker=draw(st.booleans()),
        csrc=draw(st.lists(u32, max_size=15)),
        extension_profile=profile,
        extensions=extensions,
        padding=draw(st.integers(0, 255)),
    )


@given(rtp_packets())
def test_rtp_packets_survive_a_round_trip(packet: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(packet)) == packet


@given(st.binary(max_size=120))
def test_garbage_raises_only_the_parse_error(data: bytes) -> None:
    for parse in (RtpPacket.parse, rtcp.parse_rtcp):
        with contextlib.suppress(RtpParseError):
            parse(data)


@given(rtp_packets(), st.data())
def test_truncated_rtp_raises_only_the_parse_error(packet: RtpPacket, data: st.DataObject) -> None:
    raw = bytes(packet)
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(RtpParseError):
        RtpPacket.parse(raw[:cut])


def test_aiortc_reads_what_we_write_and_we_read_what_it_writes() -> None:
    ours = RtpPacket(
        111,
        4321,
        96000,
        0x1234ABCD,
        b"opus-frame",
        marker=True,
        extension_profile=0xBEDE,
        extensions=[(1, b"\x85")],
    )
    theirs = AiortcRtp.parse(bytes(ours), HeaderExtensionsMap())
    assert (theirs.payload_type, theirs.sequence_number, theirs.timestamp, theirs.ssrc) == (
        111,
        4321,
        96000,
        0x1234ABCD,
    )
    assert theirs.marker == 1 and theirs.payload == b"opus-frame"
    back = AiortcRtp(payload_type=96, sequence_number=7, timestamp=9, ssrc=5, payload=b"vp8")
    assert RtpPacket.parse(back.serialize()) == RtpPacket(96, 7, 9, 5, b"vp8")


def test_audio_level_is_read_in_place_by_its_negotiated_id() -> None:
    packet = RtpPacket(
        111, 1, 2, 3, b"x", extension_profile=0xBEDE, extensions=[(3, b"\x01\x02"), (5, b"\x9e")]
    )
    data = bytes(packet)
    assert audio_level(data, len(data), 5) == 0x1E  # the V bit is not part of the level
    assert audio_level(data, len(data), 4) == SILENCE
    plain = bytes(RtpPacket(111, 1, 2, 3, b"x"))
    assert audio_level(plain, len(plain), 5) == SILENCE


@given(rtp_packets(), st.integers(1, 14))
def test_in_place_reads_agree_with_the_parser(packet: RtpPacket, ext_id: int) -> None:
    data = bytes(packet)
    assert payload_offset(data, len(data)) == len(data) - packet.padding - len(packet.payload)
    level = audio_level(data, len(data), ext_id)
    if packet.extension_profile == 0xBEDE:
        values = [v for i, v in packet.extensions if i == ext_id]
        assert level == (values[0][0] & 0x7F if values else SILENCE)


def test_rewrite_writes_marker_payload_type_sequence_timestamp_and_ssrc_at_once() -> None:
    buffer = bytearray(bytes(RtpPacket(96, 1, 2, 3, b"payload")))
    REWRITE.pack_into(buffer, 1, 0x80 | 100, 65535, 0xFFFFFFFF, 0xCAFEBABE)
    assert RtpPacket.parse(buffer) == RtpPacket(
        100, 65535, 0xFFFFFFFF, 0xCAFEBABE, b"payload", marker=True
    )


def test_rtcp_and_rtp_are_told_apart_on_one_port() -> None:
    assert is_rtcp(bytes(rtcp.PictureLossIndication(1, 2)))
    assert not is_rtcp(bytes(RtpPacket(96, 1, 2, 3)))
    assert not is_rtcp(bytes(RtpPacket(127, 1, 2, 3, marker=True)))


# ── RTCP ──────────────────────────────────────────────────────────────────────────────

report_blocks = st.builds(
    rtcp.ReportBlock, u32, u8, st.integers(-0x800000, 0x7FFFFF), u32, u32, u32, u32
)
sdes_items = st.lists(st.tuples(st.integers(1, 255), st.binary(max_size=30)), max_size=3)
remb_bitrates = st.builds(lambda m, e: m << e, st.integers(0, (1 << 18) - 1), st.integers(0, 20))
rtcp_packets: st.SearchStrategy[rtcp.RtcpPacket] = st.one_of(
    st.builds(
        rtcp.SenderReport,
        u32,
        st.integers(0, 2**64 - 1),
        u32,
        u32,
        u32,
        st.lists(report_blocks, max_size=3),
    ),
    st.builds(rtcp.ReceiverReport, u32, st.lists(report_blocks, max_size=3)),
    st.builds(rtcp.SourceDescription, st.lists(st.tuples(u32, sdes_items), max_size=3)),
    st.builds(rtcp.Bye, st.lists(u32, max_size=4), st.binary(max_size=40)),
    st.builds(rtcp.GenericNack, u32, u32, st.lists(u16, max_size=40, unique=True).map(sorted)),
    st.builds(rtcp.PictureLossIndication, u32, u32),
    st.builds(rtcp.FullIntraRequest, u32, st.lists(st.tuples(u32, u8), max_size=3)),
    st.builds(rtcp.Remb, u32, remb_bitrates, st.lists(u32, max_size=4)),
)


@given(st.lists(rtcp_packets, min_size=1, max_size=4))
def test_rtcp_compound_packets_survive_a_round_trip(packets: list[rtcp.RtcpPacket]) -> None:
    assert rtcp.parse_rtcp(rtcp.compound(packets)) == packets


@given(st.lists(rtcp_packets, min_size=1, max_size=3), st.data())
def test_truncated_rtcp_raises_only_the_parse_error(
    packets: list[rtcp.RtcpPacket], data: st.DataObject
) -> None:
    raw = rtcp.compound(packets)
    with contextlib.suppress(RtpParseError):
        rtcp.parse_rtcp(raw[: data.draw(st.integers(0, len(raw)))])


def test_aiortc_reads_our_feedback_and_we_read_its_reports() -> None:
    nack = bytes(rtcp.GenericNack(1, 2, [100, 101, 116, 117, 200]))
    [parsed_nack] = AiortcRtcp.parse(nack)
    assert isinstance(parsed_nack, RtcpRtpfbPacket)
    assert sorted(parsed_nack.lost) == [100, 101, 116, 117, 200]
    [parsed_remb] = AiortcRtcp.parse(bytes(rtcp.Remb(1, 1_500_000, [7, 8])))
    assert isinstance(parsed_remb, RtcpPsfbPacket) and parsed_remb.fmt == 15
    theirs = RtcpRrPacket(
        ssrc=9,
        reports=[
            RtcpReceiverInfo(
                ssrc=5,
                fraction_lost=3,
                packets_lost=-2,
                highest_sequence=70000,
                jitter=4,
                lsr=5,
                dlsr=6,
            )
        ],
    )
    assert rtcp.parse_rtcp(bytes(theirs)) == [
        rtcp.ReceiverReport(9, [rtcp.ReportBlock(5, 3, -2, 70000, 4, 5, 6)])
    ]


def test_nack_groups_neighbours_into_one_bitmask() -> None:
    data = bytes(rtcp.GenericNack(1, 2, [65535, 0, 1, 15]))
    assert len(data) == 12 + 4  # one PID + BLP pair, across the wrap
    assert rtcp.parse_rtcp(data) == [rtcp.GenericNack(1, 2, [65535, 0, 1, 15])]


def test_unknown_rtcp_types_are_kept_whole() -> None:
    app = struct.pack(">BBH4s", 0x80, 204, 1, b"name")
    assert rtcp.parse_rtcp(app) == [rtcp.UnknownRtcp(204, 0, b"name")]


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (b"\x10\x00\x9d\x01\x2a", True),  # S=1, no extension, P=0
        (b"\x10\x01", False),  # a delta frame
        (b"\x00\x00", False),  # not the start of the partition
        (b"\x90\x80\x81\x23\x00", True),  # X, I with a 15-bit picture id
        (b"\x90\xe0\x05\x11\x22\x01", False),  # X, I (7-bit), L, T: delta
        (b"\x90\xe0\x05\x11\x22\x00", True),
        (b"\x90\x80", False),  # truncated
        (b"", False),
    ],
)
def test_vp8_key_frames_are_found_in_the_payload_descriptor(payload: bytes, key: bool) -> None:
    assert is_vp8_keyframe(payload, 0, len(payload)) is key


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (b"\x65\x88", True),  # IDR slice
        (b"\x67\x42", True),  # SPS
        (b"\x41\x9a", False),  # non-IDR slice
        (b"\x78\x00\x02\x67\x42\x00\x02\x68\xce", True),  # STAP-A with SPS, PPS
        (b"\x7c\x85\x88", True),  # FU-A start of an IDR
        (b"\x7c\x05\x88", False),  # FU-A continuation
    ],
)
def test_h264_key_frames_are_found_by_nal_type(payload: bytes, key: bool) -> None:
    assert is_h264_keyframe(payload, 0, len(payload)) is key
