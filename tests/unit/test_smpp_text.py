"""SMPP's side of message text: esm_class, UDH or SAR TLVs, delivery receipts."""

from __future__ import annotations

from datetime import UTC, datetime

from switchboard.gateways.smpp.pdu import Tag, Tlv
from switchboard.gateways.smpp.text import (
    ESM_UDHI,
    MessageState,
    esm_class_of,
    message_part,
    parse_receipt,
)
from switchboard.sms.encoding import MessagePart, encode_message


def test_a_segmented_message_sets_the_udhi_bit_of_esm_class() -> None:
    assert esm_class_of(encode_message("a" * 160, 0)) == 0
    assert esm_class_of(encode_message("a" * 161, 0)) == ESM_UDHI


# ── inbound segments ────────────────────────────────────────────────────────


def test_udh_with_16_bit_reference_and_other_elements_is_read() -> None:
    udh = bytes([12, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x08, 4, 0x12, 0x34, 3, 2])
    part, payload = message_part(udh + b"body", ESM_UDHI, ())
    assert part == MessagePart(0x1234, 3, 2)
    assert payload == b"body"


def test_sar_tlvs_describe_a_segment_without_udh() -> None:
    sar = (
        Tlv(Tag.SAR_MSG_REF_NUM, b"\x01\x02"),
        Tlv(Tag.SAR_TOTAL_SEGMENTS, b"\x02"),
        Tlv(Tag.SAR_SEGMENT_SEQNUM, b"\x01"),
    )
    assert message_part(b"text", 0, sar) == (MessagePart(0x0102, 2, 1), b"text")


def test_nonsense_segment_numbers_mean_a_whole_message() -> None:
    assert message_part(bytes([5, 0, 3, 1, 2, 3]) + b"x", ESM_UDHI, ()) == (None, b"x")
    assert message_part(bytes([5, 0, 3, 1, 1, 1]) + b"x", ESM_UDHI, ()) == (None, b"x")
    assert message_part(bytes([9, 0, 3]), ESM_UDHI, ())[0] is None  # UDH longer than the body


# ── delivery receipts ───────────────────────────────────────────────────────


def test_receipt_text_is_read() -> None:
    text = (
        "id:0123456789 sub:001 dlvrd:001 submit date:2601231015 done date:2601231016 "
        "stat:DELIVRD err:000 text:Hello id:999 stat:UNDELIV"
    )
    receipt = parse_receipt(text, ())
    assert receipt is not None
    assert receipt.message_id == "0123456789"
    assert receipt.state is MessageState.DELIVERED
    assert receipt.detail == "DELIVRD"
    assert receipt.done_ms == int(datetime(2026, 1, 23, 10, 16, tzinfo=UTC).timestamp() * 1000)


def test_failed_receipt_detail_carries_the_error() -> None:
    receipt = parse_receipt("id:ab stat:UNDELIV err:001 done date:260123101659", ())
    assert receipt is not None
    assert receipt.state is MessageState.UNDELIVERABLE and receipt.state.is_final
    assert receipt.detail == "UNDELIV err:001"
    assert receipt.done_ms == int(datetime(2026, 1, 23, 10, 16, 59, tzinfo=UTC).timestamp() * 1000)


def test_tlvs_win_over_the_text() -> None:
    tlvs = (Tlv(Tag.RECEIPTED_MESSAGE_ID, b"tlv-id\0"), Tlv(Tag.MESSAGE_STATE, b"\x05"))
    receipt = parse_receipt("id:text-id stat:DELIVRD", tlvs)
    assert receipt is not None
    assert (receipt.message_id, receipt.state) == ("tlv-id", MessageState.UNDELIVERABLE)


def test_intermediate_states_are_not_final() -> None:
    for stat in ("ENROUTE", "ACCEPTD"):
        receipt = parse_receipt(f"id:1 stat:{stat}", ())
        assert receipt is not None and not receipt.state.is_final


def test_receipt_without_an_id_is_none_and_odd_fields_do_not_raise() -> None:
    assert parse_receipt("stat:DELIVRD", ()) is None
    receipt = parse_receipt("id:1 stat:WHATEVER done date:991399", ())
    assert receipt is not None
    assert (receipt.state, receipt.done_ms) == (MessageState.UNKNOWN, None)
