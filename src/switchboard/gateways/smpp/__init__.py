"""SMPP 3.4 ESME: a sans-I/O codec and session, and ``SmppCarrier``, an asyncio SmsCarrier.

commands.py   the PDU dataclasses, command ids, status codes, TLV tags
framing.py    the PDU header, the stream framer, SmppParseError
pdu.py        bytes ⇄ PDU dataclasses (encode, decode); re-exports the two above
text.py       esm_class, SAR TLVs, delivery receipts (alphabets, segments: sms/encoding.py)
session.py    bind, sequence numbers, window, enquire_link, timeouts (no sockets)
settings.py   SmppSettings (from a [[carriers]] table)
carrier.py    the asyncio transport: connect, reconnect with backoff, submit, deliver_sm
link.py       SmppLink: one connection, its session, window-slot waiters, pending resps
inbound.py    deliver_sm ─▶ the sink (receipts, reassembled messages) ─▶ the status to answer
addressing.py E.164 / short code / sender id ⇄ SMPP address, TON, NPI
"""

from switchboard.gateways.smpp.carrier import SmppCarrier
from switchboard.gateways.smpp.pdu import SmppParseError
from switchboard.gateways.smpp.settings import SmppSettings

__all__ = ["SmppCarrier", "SmppParseError", "SmppSettings"]
