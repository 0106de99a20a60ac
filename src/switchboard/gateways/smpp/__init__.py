"""SMPP 3.4 ESME: a sans-I/O codec and session, and ``SmppCarrier``, an asyncio SmsCarrier.

pdu.py      bytes ⇄ PDU dataclasses, the stream framer
text.py     GSM 03.38 / UCS-2, segments with UDH, reassembly, delivery receipts
session.py  bind, sequence numbers, window, enquire_link, timeouts (no sockets)
settings.py SmppSettings (from a [[carriers]] table)
carrier.py  the asyncio transport: connect, reconnect with backoff, submit, deliver_sm
"""

from switchboard.gateways.smpp.carrier import SmppCarrier
from switchboard.gateways.smpp.pdu import SmppParseError
from switchboard.gateways.smpp.settings import SmppSettings

__all__ = ["SmppCarrier", "SmppParseError", "SmppSettings"]
