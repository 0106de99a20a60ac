"""The SMPP PDU codec: round trips, captured bytes, an independent codec, hostile input."""

from __future__ import annotations

import contextlib
import struct

import pytest
import smpp34
from hypothesis import given
from hypothesis import strategies as st

from switchboard.gateways.smpp.pdu import (
    HEADER_LENGTH,
    BindTransceiver,
    BindTransceiverResp,
    CommandId,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    PduFramer,
    SmppParseError,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    Unbind,
    UnbindResp,
    UnknownPdu,
    decode,
    encode,
    status_name,
)

# ── strategies ──────────────────────────────────────────────────────────────

u32 = st.integers(0, 0xFFFFFFFF)
octet = st.integers(0, 0xFF)


def cstr(max_octets: int) -> st.SearchStrategy[str]:
    latin1 = st.characters(min_codepoint=1, max_codepoint=0xFF)
    return st.text(alphabet=latin1, max_size=max_octets - 1)


tlvs = st.lists(st.builds(Tlv, st.integers(0, 0xFFFF), st.binary(max_size=300)), max_size=4).map(
    tuple
)


def short_message(cls: type[SubmitSm] | type[DeliverSm]) -> st.SearchStrategy[Pdu]:
    return st.builds(
        cls,
        sequence_number=u32,
        source_addr=cstr(21),
        destination_addr=cstr(21),
        short_message=st.binary(max_size=254),
        service_type=cstr(6),
        source_addr_ton=octet,
        source_addr_npi=octet,
        dest_addr_ton=octet,
        dest_addr_npi=octet,
        esm_class=octet,
        protocol_id=octet,
        priority_flag=octet,
        schedule_delivery_time=cstr(17),
        validity_period=cstr(17),
        registered_delivery=octet,
        replace_if_present_flag=octet,
        data_coding=octet,
        sm_default_msg_id=octet,
        tlvs=tlvs,
    )


known_ids = frozenset(int(c) for c in CommandId)
pdus: st.SearchStrategy[Pdu] = st.one_of(
    st.builds(GenericNack, u32, u32),
    st.builds(BindTransceiver, u32, cstr(16), cstr(9), cstr(13), octet, octet, octet, cstr(41)),
    st.builds(BindTransceiverResp, u32, u32, cstr(16), tlvs),
    short_message(SubmitSm),
    st.builds(SubmitSmResp, u32, u32, cstr(65)),
    short_message(DeliverSm),
    st.builds(DeliverSmResp, u32, u32),
    st.builds(Unbind, u32),
    st.builds(UnbindResp, u32, u32),
    st.builds(EnquireLink, u32),
    st.builds(EnquireLinkResp, u32, u32),
    st.builds(UnknownPdu, u32.filter(lambda c: c not in known_ids), u32, u32, st.binary()),
)


def frame(command_id: int, body: bytes, sequence: int = 1, status: int = 0) -> bytes:
    return struct.pack(">IIII", HEADER_LENGTH + len(body), command_id, status, sequence) + body


# ── properties ──────────────────────────────────────────────────────────────


@given(pdus)
def test_every_pdu_survives_encode_then_decode(pdu: Pdu) -> None:
    assert decode(encode(pdu)) == pdu


@given(st.lists(pdus, min_size=1, max_size=5), st.integers(1, 50))
def test_framer_returns_pdus_however_the_stream_is_cut(pdu_list: list[Pdu], step: int) -> None:
    stream = b"".join(encode(p) for p in pdu_list)
    framer = PduFramer()
    frames: list[bytes] = []
    for at in range(0, len(stream), step):
        frames += framer.feed(stream[at : at + step])
    assert [decode(f) for f in frames] == pdu_list


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_the_parse_error(data: bytes) -> None:
    with contextlib.suppress(SmppParseError):
        decode(data)


@given(st.sampled_from(sorted(known_ids)), st.binary(max_size=300), u32, u32)
def test_arbitrary_bodies_of_known_commands_raise_only_the_parse_error(
    command_id: int, body: bytes, sequence: int, status: int
) -> None:
    try:
        pdu = decode(frame(command_id, body, sequence, status))
    except SmppParseError as exc:
        assert exc.sequence_number == sequence
        assert exc.command_id == command_id
    else:
        assert pdu.sequence_number == sequence


@given(st.lists(st.binary(max_size=64), max_size=8))
def test_framer_on_arbitrary_bytes_raises_only_the_parse_error(chunks: list[bytes]) -> None:
    framer = PduFramer()
    try:
        for chunk in chunks:
            for f in framer.feed(chunk):
                assert len(f) >= HEADER_LENGTH
    except SmppParseError:
        pass


# ── captured and hand-made bytes ────────────────────────────────────────────

# bind_transceiver_resp and deliver_sm as the smpp34 SMSC sent them (captured on loopback).
CAPTURED_BIND_RESP = bytes.fromhex("0000001a800000090000000000000001534d5343000210000134")
CAPTURED_DELIVER_SM = bytes.fromhex(
    "0000002900000005000000000000000100000034353600010131323300000000000000000000026869"
)


def test_captured_bind_resp_carries_the_interface_version() -> None:
    pdu = decode(CAPTURED_BIND_RESP)
    assert pdu == BindTransceiverResp(1, 0, "SMSC", (Tlv(Tag.SC_INTERFACE_VERSION, b"\x34"),))
    assert encode(pdu) == CAPTURED_BIND_RESP


def test_captured_deliver_sm_decodes_field_by_field() -> None:
    pdu = decode(CAPTURED_DELIVER_SM)
    assert isinstance(pdu, DeliverSm)
    assert (pdu.source_addr, pdu.destination_addr, pdu.short_message) == ("456", "123", b"hi")
    assert (pdu.dest_addr_ton, pdu.dest_addr_npi) == (1, 1)
    assert encode(pdu) == CAPTURED_DELIVER_SM


def test_every_truncation_of_a_pdu_is_a_parse_error() -> None:
    whole = encode(SubmitSm(7, "123", "456", b"hello", tlvs=(Tlv(0x1400, b"ab"),)))
    for cut in range(len(whole)):
        with pytest.raises(SmppParseError):
            decode(whole[:cut])


def test_truncated_body_with_a_consistent_length_names_its_sequence() -> None:
    with pytest.raises(SmppParseError) as caught:
        decode(frame(CommandId.SUBMIT_SM, b"\x00\x01\x01123", sequence=42))
    assert caught.value.sequence_number == 42
    assert caught.value.status == Status.RINVCMDLEN


def test_error_resps_without_a_body_decode() -> None:
    assert decode(frame(0x80000004, b"", 3, 0x58)) == SubmitSmResp(3, 0x58, "")
    assert decode(frame(0x80000009, b"", 1, 0x0E)) == BindTransceiverResp(1, 0x0E)
    assert encode(SubmitSmResp(3, 0x58)) == frame(0x80000004, b"", 3, 0x58)


def test_unknown_command_decodes_raw() -> None:
    assert decode(frame(0x00000103, b"xyz", 9)) == UnknownPdu(0x103, 0, 9, b"xyz")


def test_framer_refuses_an_impossible_length() -> None:
    with pytest.raises(SmppParseError):
        PduFramer().feed(struct.pack(">I", 8) + b"\0" * 12)
    with pytest.raises(SmppParseError):
        PduFramer(max_length=1000).feed(struct.pack(">I", 1001))


@pytest.mark.parametrize(
    "pdu",
    [
        SubmitSm(1, "1" * 21, "123"),
        SubmitSm(1, "123", "456", b"x" * 255),
        BindTransceiver(1, "esme", "pass\0word"),
        BindTransceiver(1, "esme", "€"),
        SubmitSm(1, "123", "456", esm_class=256),
    ],
)
def test_encode_refuses_pdus_we_must_never_send(pdu: Pdu) -> None:
    with pytest.raises(ValueError):
        encode(pdu)


def test_status_names_read_well_in_logs() -> None:
    assert status_name(0x58) == "ESME_RTHROTTLED (0x58)"
    assert status_name(0x400) == "command_status 0x00000400"


# ── against an independent codec (smpp34, Rust) ─────────────────────────────


def test_our_submit_sm_decodes_identically_in_smpp34() -> None:
    ours = SubmitSm(
        5,
        source_addr="18005550100",
        destination_addr="14255550123",
        short_message=b"\x05\x00\x03\x07\x02\x01hello",
        source_addr_ton=1,
        source_addr_npi=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
        esm_class=0x40,
        registered_delivery=1,
        data_coding=8,
        tlvs=(Tlv(Tag.SAR_MSG_REF_NUM, b"\x00\x07"),),
    )
    theirs = smpp34.decode(encode(ours))
    assert isinstance(theirs, smpp34.SubmitSm)
    assert theirs.sequence_number == 5
    assert (theirs.source_addr, theirs.destination_addr) == ("18005550100", "14255550123")
    assert (theirs.esm_class, theirs.data_coding, theirs.registered_delivery) == (0x40, 8, 1)
    assert theirs.short_message == ours.short_message
    assert [(t.tag, t.value) for t in theirs.tlvs] == [(Tag.SAR_MSG_REF_NUM, b"\x00\x07")]


def test_smpp34_deliver_sm_decodes_identically_here() -> None:
    theirs = smpp34.DeliverSm(
        "14255550123",
        "18005550100",
        b"id:abc stat:DELIVRD",
        source_addr_ton=1,
        source_addr_npi=1,
        esm_class=0x04,
        tlvs=[smpp34.Tlv(Tag.RECEIPTED_MESSAGE_ID, b"abc\0")],
        sequence_number=77,
    )
    ours = decode(theirs.encode())
    assert ours == DeliverSm(
        77,
        source_addr="14255550123",
        destination_addr="18005550100",
        short_message=b"id:abc stat:DELIVRD",
        source_addr_ton=1,
        source_addr_npi=1,
        esm_class=0x04,
        tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, b"abc\0"),),
    )
