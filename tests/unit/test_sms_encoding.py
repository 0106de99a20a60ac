"""The GSM codec: alphabets, segmentation with UDH, reassembly (no SMPP, no I/O)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from switchboard.sms.encoding import (
    DataCoding,
    MessagePart,
    Reassembler,
    decode_gsm7,
    decode_text,
    encode_message,
    is_gsm7,
    segment_count,
    split_udh,
)

GSM_SAMPLE = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà"
GSM_EXTENSION = "\f^{}\\[~]|€"


def reassemble(segments: tuple[bytes, ...], data_coding: int) -> str:
    """What a handset does with our segments (in reverse order, to be unkind)."""
    reassembler = Reassembler()
    if len(segments) == 1:
        return decode_text(segments[0], data_coding)
    result = None
    for segment in reversed(segments):
        part, payload = split_udh(segment)
        assert part is not None
        result = reassembler.add("+1", "+2", part, data_coding, payload, 0.0) or result
    assert result is not None
    return result.text


# ── outbound ────────────────────────────────────────────────────────────────


def test_gsm_alphabet_and_extension_fit_the_default_alphabet() -> None:
    assert is_gsm7(GSM_SAMPLE + GSM_EXTENSION)
    encoded = encode_message(GSM_SAMPLE + GSM_EXTENSION, 0)
    assert encoded.data_coding is DataCoding.GSM7
    assert decode_gsm7(encoded.segments[0]) == GSM_SAMPLE + GSM_EXTENSION


def test_extension_characters_are_escaped_septet_pairs() -> None:
    assert encode_message("€[", 0).segments == (b"\x1b\x65\x1b\x3c",)


def test_one_character_outside_gsm_makes_the_whole_message_ucs2() -> None:
    encoded = encode_message("Price: 5€ ✓", 0)
    assert encoded.data_coding is DataCoding.UCS2
    assert encoded.segments == ("Price: 5€ ✓".encode("utf-16-be"),)


def test_160_septets_is_one_segment_161_is_two_of_153_and_8() -> None:
    assert len(encode_message("a" * 160, 0).segments) == 1
    long = encode_message("a" * 161, 9)
    assert long.has_udh
    assert [len(s) for s in long.segments] == [6 + 153, 6 + 8]
    assert long.segments[0][:6] == bytes([5, 0, 3, 9, 2, 1])
    assert long.segments[1][:6] == bytes([5, 0, 3, 9, 2, 2])


def test_extension_characters_count_twice_and_are_never_split() -> None:
    assert len(encode_message("€" * 80, 0).segments) == 1
    segments = encode_message("a" * 152 + "€" + "b" * 10, 0).segments
    assert segments[0][6:] == b"a" * 152  # the ESC pair would not fit: it moves on whole
    assert segments[1][6:] == b"\x1b\x65" + b"b" * 10


def test_70_ucs2_units_is_one_segment_71_is_two_of_67_and_4() -> None:
    assert len(encode_message("ж" * 70, 0).segments) == 1
    segments = encode_message("ж" * 71, 200).segments
    assert [len(s) - 6 for s in segments] == [134, 8]
    assert segments[0][:6] == bytes([5, 0, 3, 200, 2, 1])


def test_a_surrogate_pair_is_never_split_between_segments() -> None:
    segments = encode_message("ж" * 66 + "😀" + "ж" * 5, 0).segments
    assert segments[0][6:].decode("utf-16-be") == "ж" * 66
    assert segments[1][6:].decode("utf-16-be") == "😀" + "ж" * 5


def test_long_ucs2_message_reassembles_to_the_original() -> None:
    text = "Привет, мир! 😀 " * 30
    encoded = encode_message(text, 77)
    assert len(encoded.segments) == 8
    assert reassemble(encoded.segments, encoded.data_coding) == text


@given(st.text(max_size=600), st.integers(0, 255))
def test_any_text_survives_segmentation_and_reassembly(text: str, reference: int) -> None:
    encoded = encode_message(text, reference)
    assert all(len(s) <= 140 for s in encoded.segments)
    assert reassemble(encoded.segments, encoded.data_coding) == text


@given(st.binary(max_size=300), st.integers(0, 255))
def test_any_payload_decodes_without_raising(payload: bytes, data_coding: int) -> None:
    assert isinstance(decode_text(payload, data_coding), str)


def test_segment_count_is_what_the_network_bills() -> None:
    assert segment_count("a" * 160) == 1
    assert segment_count("a" * 161) == 2
    assert segment_count("ж" * 71) == 2
    assert segment_count("") == 1


# ── inbound segments ────────────────────────────────────────────────────────


def test_a_udh_without_a_concatenation_element_is_a_whole_message() -> None:
    assert split_udh(bytes([3, 0x0B, 1, 0xF0]) + b"body") == (None, b"body")
    assert split_udh(b"") == (None, b"")


def test_completed_message_is_held_until_forgotten() -> None:
    reassembler = Reassembler()
    assert reassembler.add("+1", "+2", MessagePart(5, 2, 1), 0, b"Hello, ", 0.0) is None
    done = reassembler.add("+1", "+2", MessagePart(5, 2, 2), 0, b"world", 1.0)
    assert done is not None and done.text == "Hello, world"
    # The sink failed; the SMSC redelivers the last segment: the first is still here.
    again = reassembler.add("+1", "+2", MessagePart(5, 2, 2), 0, b"world", 2.0)
    assert again is not None and again.text == "Hello, world"
    reassembler.forget(again.key)
    assert len(reassembler) == 0


def test_segments_of_different_senders_do_not_mix() -> None:
    reassembler = Reassembler()
    assert reassembler.add("+1", "+2", MessagePart(5, 2, 1), 0, b"a", 0.0) is None
    assert reassembler.add("+3", "+2", MessagePart(5, 2, 2), 0, b"b", 0.0) is None
    assert len(reassembler) == 2


def test_a_surrogate_pair_split_by_the_sender_is_joined() -> None:
    emoji = "😀".encode("utf-16-be")
    reassembler = Reassembler()
    reassembler.add("+1", "+2", MessagePart(1, 2, 1), 8, b"\x00a" + emoji[:2], 0.0)
    done = reassembler.add("+1", "+2", MessagePart(1, 2, 2), 8, emoji[2:], 0.0)
    assert done is not None and done.text == "a😀"


def test_incomplete_messages_expire() -> None:
    reassembler = Reassembler(max_age_seconds=60)
    reassembler.add("+1", "+2", MessagePart(1, 2, 1), 0, b"a", 0.0)
    reassembler.add("+1", "+2", MessagePart(2, 2, 1), 0, b"a", 61.0)
    assert len(reassembler) == 1
