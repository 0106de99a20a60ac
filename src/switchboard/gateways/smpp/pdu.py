"""SMPP 3.4 PDUs as frozen dataclasses, ``encode(pdu) -> bytes``, ``decode(bytes) -> Pdu``.

Sans-I/O. Only what an ESME bound as a transceiver exchanges: bind_transceiver, submit_sm,
deliver_sm, enquire_link, unbind (each with its resp) and generic_nack; any other command
decodes to ``UnknownPdu`` so the session can answer it with generic_nack.

    TCP bytes ──PduFramer.feed()──▶ whole frames ──decode()──▶ Pdu
                                                   encode() ◀── Pdu

``decode`` and ``PduFramer`` raise only ``SmppParseError`` on arbitrary input. ``encode``
raises ``ValueError`` for a PDU we must never send (a field too long, a NUL in a C string):
that is a bug on our side, not the network's.

Strings are C-octet strings; the spec says ASCII, we read and write Latin-1 so that every
byte from the network has a character and nothing here can raise a UnicodeDecodeError.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

HEADER = struct.Struct(">IIII")  # command_length, command_id, command_status, sequence_number
HEADER_LENGTH = HEADER.size
# The largest PDU we accept: a 64 KiB message_payload TLV plus headers; anything larger
# is a broken stream (or an attack), not a message.
MAX_PDU_LENGTH = 70_000
MAX_SEQUENCE = 0x7FFFFFFF


class CommandId(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class Status(IntEnum):
    """The command_status values this package names (a PDU may carry any other number)."""

    ROK = 0x00
    RINVMSGLEN = 0x01
    RINVCMDLEN = 0x02
    RINVCMDID = 0x03
    RINVBNDSTS = 0x04
    RALYBND = 0x05
    RSYSERR = 0x08
    RINVSRCADR = 0x0A
    RINVDSTADR = 0x0B
    RINVMSGID = 0x0C
    RBINDFAIL = 0x0D
    RINVPASWD = 0x0E
    RINVSYSID = 0x0F
    RMSGQFUL = 0x14
    RSUBMITFAIL = 0x45
    RTHROTTLED = 0x58
    RX_T_APPN = 0x64
    RX_P_APPN = 0x65
    RUNKNOWNERR = 0xFF


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED (0x58)`` for logs and error messages."""
    try:
        return f"ESME_{Status(status).name} (0x{status:02X})"
    except ValueError:
        return f"command_status 0x{status:08X}"


class Tag(IntEnum):
    """Optional parameter (TLV) tags this package reads or writes."""

    RECEIPTED_MESSAGE_ID = 0x001E
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


class SmppParseError(Exception):
    """Bytes that are not a valid PDU. ``command_id`` and ``sequence_number`` are set when
    the header was readable, so the session can answer a request with generic_nack
    ``status``."""

    def __init__(
        self,
        message: str,
        *,
        command_id: int | None = None,
        sequence_number: int | None = None,
        status: int = Status.RSYSERR,
    ) -> None:
        super().__init__(message)
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.status = status


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class GenericNack:
    sequence_number: int
    command_status: int


@dataclass(frozen=True, slots=True)
class BindTransceiver:
    sequence_number: int
    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(frozen=True, slots=True)
class BindTransceiverResp:
    sequence_number: int
    command_status: int = Status.ROK
    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """The body submit_sm and deliver_sm share (SMPP 3.4 §4.4.1 / §4.6.1)."""

    sequence_number: int
    source_addr: str
    destination_addr: str
    short_message: bytes = b""
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitSm(ShortMessage):
    pass


@dataclass(frozen=True, slots=True)
class DeliverSm(ShortMessage):
    pass


@dataclass(frozen=True, slots=True)
class SubmitSmResp:
    sequence_number: int
    command_status: int = Status.ROK
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class DeliverSmResp:
    sequence_number: int
    command_status: int = Status.ROK


@dataclass(frozen=True, slots=True)
class Unbind:
    sequence_number: int


@dataclass(frozen=True, slots=True)
class UnbindResp:
    sequence_number: int
    command_status: int = Status.ROK


@dataclass(frozen=True, slots=True)
class EnquireLink:
    sequence_number: int


@dataclass(frozen=True, slots=True)
class EnquireLinkResp:
    sequence_number: int
    command_status: int = Status.ROK


@dataclass(frozen=True, slots=True)
class UnknownPdu:
    """A command this ESME does not handle (query_sm, data_sm, outbind, …), kept raw."""

    command_id: int
    command_status: int
    sequence_number: int
    body: bytes = b""


Pdu = (
    GenericNack
    | BindTransceiver
    | BindTransceiverResp
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
    | Unbind
    | UnbindResp
    | EnquireLink
    | EnquireLinkResp
    | UnknownPdu
)

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


def is_response(command_id: int) -> bool:
    return bool(command_id & 0x80000000)


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


class PduFramer:
    """Splits a TCP byte stream into whole PDUs by their command_length.

    A command_length below 16 or above ``max_length`` means we lost the framing; there is
    no way to find the next PDU, so the framer raises and the connection must be dropped.
    """

    def __init__(self, max_length: int = MAX_PDU_LENGTH) -> None:
        self._buffer = bytearray()
        self._max = max_length

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= 4:
            (length,) = struct.unpack_from(">I", self._buffer)
            if not HEADER_LENGTH <= length <= self._max:
                raise SmppParseError(f"impossible command_length {length}")
            if len(self._buffer) < length:
                break
            frames.append(bytes(self._buffer[:length]))
            del self._buffer[:length]
        return frames
