"""SMPP 3.4 PDU codec: ``encode(pdu) -> bytes``, ``decode(frame) -> Pdu``. Sans-I/O.

The PDUs, command ids, status codes and tags are in commands.py; the header, ``PduFramer``
and ``SmppParseError`` in framing.py. All of them are re-exported here, so callers import
the codec and what it yields from one place.

    TCP bytes ──PduFramer.feed()──▶ whole frames ──decode()──▶ Pdu
                                                   encode() ◀── Pdu

``decode`` raises only ``SmppParseError`` on arbitrary input. ``encode`` raises
``ValueError`` for a PDU we must never send (a field too long, a NUL in a C string): that is
a bug on our side, not the network's.

Strings are C-octet strings; the spec says ASCII, we read and write Latin-1 so that every
byte from the network has a character and nothing here can raise a UnicodeDecodeError.
"""

from __future__ import annotations

import struct
from typing import TypeVar

from switchboard.gateways.smpp.commands import (
    MAX_SEQUENCE,
    BindTransceiver,
    BindTransceiverResp,
    CommandId,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    ShortMessage,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    Unbind,
    UnbindResp,
    UnknownPdu,
    is_response,
    status_name,
)
from switchboard.gateways.smpp.framing import (
    HEADER,
    HEADER_LENGTH,
    MAX_PDU_LENGTH,
    PduFramer,
    SmppParseError,
)

__all__ = [
    "HEADER",
    "HEADER_LENGTH",
    "MAX_PDU_LENGTH",
    "MAX_SEQUENCE",
    "BindTransceiver",
    "BindTransceiverResp",
    "CommandId",
    "DeliverSm",
    "DeliverSmResp",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "Pdu",
    "PduFramer",
    "ShortMessage",
    "SmppParseError",
    "Status",
    "SubmitSm",
    "SubmitSmResp",
    "Tag",
    "Tlv",
    "Unbind",
    "UnbindResp",
    "UnknownPdu",
    "decode",
    "encode",
    "is_response",
    "status_name",
]

# Maximum lengths of C-octet strings, NUL included (SMPP 3.4 §4).
_MAX = {
    "system_id": 16,
    "password": 9,
    "system_type": 13,
    "address_range": 41,
    "service_type": 6,
    "source_addr": 21,
    "destination_addr": 21,
    "schedule_delivery_time": 17,
    "validity_period": 17,
    "message_id": 65,
}
_MAX_SHORT_MESSAGE = 254
_KNOWN_COMMANDS = frozenset(int(c) for c in CommandId)


# ── encoding ────────────────────────────────────────────────────────────────


def _cstr(value: str, field: str) -> bytes:
    raw = value.encode("latin-1")  # UnicodeEncodeError is a ValueError: a bug of the caller
    if b"\0" in raw:
        raise ValueError(f"{field} contains NUL")
    if len(raw) + 1 > _MAX[field]:
        raise ValueError(f"{field} longer than {_MAX[field] - 1} octets")
    return raw + b"\0"


def _byte(value: int, field: str) -> bytes:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{field} is not an octet: {value}")
    return bytes((value,))


def _tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    out = bytearray()
    for tlv in tlvs:
        if not 0 <= tlv.tag <= 0xFFFF or len(tlv.value) > 0xFFFF:
            raise ValueError(f"TLV 0x{tlv.tag:04X} out of range")
        out += struct.pack(">HH", tlv.tag, len(tlv.value)) + tlv.value
    return bytes(out)


def _short_message_body(pdu: ShortMessage) -> bytes:
    if len(pdu.short_message) > _MAX_SHORT_MESSAGE:
        raise ValueError("short_message longer than 254 octets (use message_payload)")
    return b"".join(
        (
            _cstr(pdu.service_type, "service_type"),
            _byte(pdu.source_addr_ton, "source_addr_ton"),
            _byte(pdu.source_addr_npi, "source_addr_npi"),
            _cstr(pdu.source_addr, "source_addr"),
            _byte(pdu.dest_addr_ton, "dest_addr_ton"),
            _byte(pdu.dest_addr_npi, "dest_addr_npi"),
            _cstr(pdu.destination_addr, "destination_addr"),
            _byte(pdu.esm_class, "esm_class"),
            _byte(pdu.protocol_id, "protocol_id"),
            _byte(pdu.priority_flag, "priority_flag"),
            _cstr(pdu.schedule_delivery_time, "schedule_delivery_time"),
            _cstr(pdu.validity_period, "validity_period"),
            _byte(pdu.registered_delivery, "registered_delivery"),
            _byte(pdu.replace_if_present_flag, "replace_if_present_flag"),
            _byte(pdu.data_coding, "data_coding"),
            _byte(pdu.sm_default_msg_id, "sm_default_msg_id"),
            bytes((len(pdu.short_message),)),
            pdu.short_message,
            _tlvs(pdu.tlvs),
        )
    )


def _command_and_body(pdu: Pdu) -> tuple[int, int, bytes]:
    """(command_id, command_status, body) of a PDU."""
    match pdu:
        case GenericNack(_, status):
            return CommandId.GENERIC_NACK, status, b""
        case BindTransceiver():
            body = b"".join(
                (
                    _cstr(pdu.system_id, "system_id"),
                    _cstr(pdu.password, "password"),
                    _cstr(pdu.system_type, "system_type"),
                    _byte(pdu.interface_version, "interface_version"),
                    _byte(pdu.addr_ton, "addr_ton"),
                    _byte(pdu.addr_npi, "addr_npi"),
                    _cstr(pdu.address_range, "address_range"),
                )
            )
            return CommandId.BIND_TRANSCEIVER, Status.ROK, body
        case BindTransceiverResp(_, status, system_id, tlvs):
            # An error resp may carry no body at all (§4.1.6): we send none then.
            empty = status != Status.ROK and not system_id and not tlvs
            body = b"" if empty else _cstr(system_id, "system_id") + _tlvs(tlvs)
            return CommandId.BIND_TRANSCEIVER_RESP, status, body
        case SubmitSm():
            return CommandId.SUBMIT_SM, Status.ROK, _short_message_body(pdu)
        case DeliverSm():
            return CommandId.DELIVER_SM, Status.ROK, _short_message_body(pdu)
        case SubmitSmResp(_, status, message_id):
            empty = status != Status.ROK and not message_id  # §4.4.2: no body on error
            return (
                CommandId.SUBMIT_SM_RESP,
                status,
                b"" if empty else _cstr(message_id, "message_id"),
            )
        case DeliverSmResp(_, status):
            return CommandId.DELIVER_SM_RESP, status, b"\0"  # message_id: unused, NULL
        case Unbind():
            return CommandId.UNBIND, Status.ROK, b""
        case UnbindResp(_, status):
            return CommandId.UNBIND_RESP, status, b""
        case EnquireLink():
            return CommandId.ENQUIRE_LINK, Status.ROK, b""
        case EnquireLinkResp(_, status):
            return CommandId.ENQUIRE_LINK_RESP, status, b""
        case UnknownPdu(command_id, status, _, body):
            if command_id in _KNOWN_COMMANDS:
                raise ValueError(f"UnknownPdu with a known command_id 0x{command_id:08X}")
            return command_id, status, body
    raise TypeError(f"not a PDU: {pdu!r}")  # pragma: no cover - exhaustive above


def encode(pdu: Pdu) -> bytes:
    command_id, status, body = _command_and_body(pdu)
    for name, value in (("command_id", command_id), ("command_status", status)):
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"{name} out of range: {value}")
    if not 0 <= pdu.sequence_number <= 0xFFFFFFFF:
        raise ValueError(f"sequence_number out of range: {pdu.sequence_number}")
    return HEADER.pack(HEADER_LENGTH + len(body), command_id, status, pdu.sequence_number) + body


# ── decoding ────────────────────────────────────────────────────────────────


class _Reader:
    """A cursor over a PDU body; every short read is an SmppParseError."""

    def __init__(self, body: bytes, command_id: int, sequence_number: int) -> None:
        self._body = body
        self._at = 0
        self._command_id = command_id
        self._seq = sequence_number

    def fail(self, message: str) -> SmppParseError:
        return SmppParseError(
            message,
            command_id=self._command_id,
            sequence_number=self._seq,
            status=Status.RINVCMDLEN,
        )

    def cstr(self, field: str) -> str:
        end = self._body.find(b"\0", self._at)
        if end < 0:
            raise self.fail(f"{field}: no NUL terminator")
        value = self._body[self._at : end].decode("latin-1")
        self._at = end + 1
        return value

    def byte(self, field: str) -> int:
        if self._at >= len(self._body):
            raise self.fail(f"{field}: body too short")
        self._at += 1
        return self._body[self._at - 1]

    def octets(self, n: int, field: str) -> bytes:
        if self._at + n > len(self._body):
            raise self.fail(f"{field}: body too short")
        self._at += n
        return self._body[self._at - n : self._at]

    def at_end(self) -> bool:
        return self._at >= len(self._body)

    def tlvs(self) -> tuple[Tlv, ...]:
        out: list[Tlv] = []
        while not self.at_end():
            tag, length = struct.unpack(">HH", self.octets(4, "TLV header"))
            out.append(Tlv(tag, self.octets(length, f"TLV 0x{tag:04X}")))
        return tuple(out)

    def end(self) -> None:
        if not self.at_end():
            raise self.fail("trailing bytes after the body")


_M = TypeVar("_M", SubmitSm, DeliverSm)


def _short_message(r: _Reader, seq: int, cls: type[_M]) -> _M:
    service_type = r.cstr("service_type")
    source_addr_ton, source_addr_npi = r.byte("source_addr_ton"), r.byte("source_addr_npi")
    source_addr = r.cstr("source_addr")
    dest_addr_ton, dest_addr_npi = r.byte("dest_addr_ton"), r.byte("dest_addr_npi")
    destination_addr = r.cstr("destination_addr")
    esm_class, protocol_id, priority_flag = (r.byte("esm_class"), r.byte("pid"), r.byte("prio"))
    schedule_delivery_time = r.cstr("schedule_delivery_time")
    validity_period = r.cstr("validity_period")
    registered_delivery = r.byte("registered_delivery")
    replace_if_present_flag = r.byte("replace_if_present_flag")
    data_coding, sm_default_msg_id = r.byte("data_coding"), r.byte("sm_default_msg_id")
    short_message = r.octets(r.byte("sm_length"), "short_message")
    return cls(
        sequence_number=seq,
        service_type=service_type,
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        destination_addr=destination_addr,
        esm_class=esm_class,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        schedule_delivery_time=schedule_delivery_time,
        validity_period=validity_period,
        registered_delivery=registered_delivery,
        replace_if_present_flag=replace_if_present_flag,
        data_coding=data_coding,
        sm_default_msg_id=sm_default_msg_id,
        short_message=short_message,
        tlvs=r.tlvs(),
    )


def _body(command_id: int, status: int, seq: int, body: bytes) -> Pdu:
    r = _Reader(body, command_id, seq)
    match command_id:
        case CommandId.GENERIC_NACK:
            return GenericNack(seq, status)
        case CommandId.BIND_TRANSCEIVER:
            pdu = BindTransceiver(
                seq,
                system_id=r.cstr("system_id"),
                password=r.cstr("password"),
                system_type=r.cstr("system_type"),
                interface_version=r.byte("interface_version"),
                addr_ton=r.byte("addr_ton"),
                addr_npi=r.byte("addr_npi"),
                address_range=r.cstr("address_range"),
            )
            r.end()
            return pdu
        case CommandId.BIND_TRANSCEIVER_RESP:
            if r.at_end():
                return BindTransceiverResp(seq, status)
            return BindTransceiverResp(seq, status, r.cstr("system_id"), r.tlvs())
        case CommandId.SUBMIT_SM:
            return _short_message(r, seq, SubmitSm)
        case CommandId.DELIVER_SM:
            return _short_message(r, seq, DeliverSm)
        case CommandId.SUBMIT_SM_RESP:
            message_id = "" if r.at_end() else r.cstr("message_id")
            r.end()
            return SubmitSmResp(seq, status, message_id)
        case CommandId.DELIVER_SM_RESP:
            if not r.at_end():
                r.cstr("message_id")
            r.end()
            return DeliverSmResp(seq, status)
        case CommandId.UNBIND:
            r.end()
            return Unbind(seq)
        case CommandId.UNBIND_RESP:
            r.end()
            return UnbindResp(seq, status)
        case CommandId.ENQUIRE_LINK:
            r.end()
            return EnquireLink(seq)
        case CommandId.ENQUIRE_LINK_RESP:
            r.end()
            return EnquireLinkResp(seq, status)
    return UnknownPdu(command_id, status, seq, body)


def decode(frame: bytes) -> Pdu:
    """One whole PDU (as ``PduFramer`` yields them) → a dataclass; else SmppParseError."""
    if len(frame) < HEADER_LENGTH:
        raise SmppParseError(f"PDU shorter than its header ({len(frame)} octets)")
    length, command_id, status, seq = HEADER.unpack_from(frame)
    if length != len(frame):
        raise SmppParseError(
            f"command_length {length} != {len(frame)} octets",
            command_id=command_id,
            sequence_number=seq,
            status=Status.RINVCMDLEN,
        )
    return _body(command_id, status, seq, frame[HEADER_LENGTH:])
