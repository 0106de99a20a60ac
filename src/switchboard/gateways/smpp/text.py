"""SMPP's side of message text: esm_class, SAR TLVs and delivery receipts.

The alphabets, segmenting and reassembly are the network's, not SMPP's: they live in
``switchboard.sms.encoding`` (a sans-I/O codec the SMS domain uses as well). This module adds
what only SMPP has:

    esm_class_of(encoded)   ─▶ ESM_UDHI when the segments carry a user data header
    message_part(...)       ─▶ a segment's place: the UDH (esm_class UDHI) or the SAR TLVs
    parse_receipt(...)      ─▶ a delivery receipt from its TLVs (receipted_message_id,
                               message_state) or, failing those, the de-facto text format
                               ``id:… sub:… dlvrd:… submit date:… done date:… stat:DELIVRD
                               err:000 text:…``
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from switchboard.gateways.smpp.pdu import Tag, Tlv
from switchboard.sms.encoding import EncodedMessage, MessagePart, split_udh, valid_part

ESM_UDHI = 0x40  # esm_class bit: short_message starts with a user data header


def esm_class_of(encoded: EncodedMessage) -> int:
    return ESM_UDHI if encoded.has_udh else 0


# ── inbound segments ────────────────────────────────────────────────────────


def message_part(
    short_message: bytes, esm_class: int, tlvs: Iterable[Tlv]
) -> tuple[MessagePart | None, bytes]:
    """(where this segment belongs, or None for a whole message; the payload without UDH)."""
    part: MessagePart | None = None
    payload = short_message
    if esm_class & ESM_UDHI and short_message:
        part, payload = split_udh(short_message)
    if part is None:
        part = _sar_part(tlvs)
    return part, payload


def _sar_part(tlvs: Iterable[Tlv]) -> MessagePart | None:
    values = {t.tag: t.value for t in tlvs}
    ref = values.get(Tag.SAR_MSG_REF_NUM)
    total = values.get(Tag.SAR_TOTAL_SEGMENTS)
    index = values.get(Tag.SAR_SEGMENT_SEQNUM)
    if ref is None or total is None or index is None or len(total) != 1 or len(index) != 1:
        return None
    return valid_part(int.from_bytes(ref, "big"), total[0], index[0])


# ── delivery receipts ───────────────────────────────────────────────────────


class MessageState(IntEnum):
    """SMPP 3.4 §5.2.28 message_state, also what the receipt's ``stat:`` words mean."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8

    @property
    def is_final(self) -> bool:
        return self not in (MessageState.ENROUTE, MessageState.ACCEPTED)


_STAT_WORDS = {
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
}
_STATE_WORDS = {state: word for word, state in _STAT_WORDS.items()}
_RECEIPT_FIELD = re.compile(r"(?i)\b(id|sub|dlvrd|submit date|done date|stat|err):(\S*)")


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str  # the id submit_sm_resp gave for the segment
    state: MessageState
    error: str | None  # the receipt's err: field ("000" when fine)
    done_ms: int | None

    @property
    def detail(self) -> str:
        word = _STATE_WORDS[self.state]
        fine = self.error is None or self.error.strip("0") == ""
        return word if fine else f"{word} err:{self.error}"


def parse_receipt(short_message: str, tlvs: Iterable[Tlv]) -> Receipt | None:
    """A delivery receipt, or None when it names no message (nothing to match it to)."""
    # Only before "text:": the quoted message itself may contain "id:" or "stat:".
    head = re.split(r"(?i)\btext:", short_message, maxsplit=1)[0]
    fields = {k.lower(): v for k, v in _RECEIPT_FIELD.findall(head)}
    values = {t.tag: t.value for t in tlvs}
    receipted = values.get(Tag.RECEIPTED_MESSAGE_ID)
    message_id = (
        receipted.split(b"\0", 1)[0].decode("latin-1") if receipted else fields.get("id", "")
    )
    if not message_id:
        return None
    state = _state(values.get(Tag.MESSAGE_STATE), fields.get("stat", ""))
    return Receipt(message_id, state, fields.get("err"), _done_ms(fields.get("done date")))


def _state(tlv: bytes | None, stat: str) -> MessageState:
    if tlv is not None and len(tlv) == 1:
        try:
            return MessageState(tlv[0])
        except ValueError:
            pass
    return _STAT_WORDS.get(stat.upper(), MessageState.UNKNOWN)


def _done_ms(value: str | None) -> int | None:
    """``YYMMDDhhmm`` (or with ``ss``), read as UTC: SMPP receipts name no zone."""
    if value is None or not value.isdigit() or len(value) not in (10, 12):
        return None
    fmt = "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M"
    try:
        moment = datetime.strptime(value, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)
