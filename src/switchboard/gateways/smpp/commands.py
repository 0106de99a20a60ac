"""SMPP 3.4 as data: command ids, status codes, TLV tags and the PDUs as frozen dataclasses.

Only what an ESME bound as a transceiver exchanges: bind_transceiver, submit_sm, deliver_sm,
enquire_link, unbind (each with its resp) and generic_nack; any other command is an
``UnknownPdu`` (kept raw) so the session can answer it with generic_nack. How these are
written to and read from bytes is in pdu.py.

Strings are ``str`` holding Latin-1 characters (see pdu.py); octet fields are ``int``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

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


def is_response(command_id: int) -> bool:
    return bool(command_id & 0x80000000)
