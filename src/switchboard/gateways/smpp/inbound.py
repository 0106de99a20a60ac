"""``InboundHandler``: what ``SmppCarrier`` does with a deliver_sm, and the status to answer.

    deliver_sm ─▶ receipt?  ─▶ final state? ─▶ sink.delivery_report ─▶ ESME_ROK
               ─▶ message   ─▶ whole        ─▶ sink.inbound          ─▶ ESME_ROK
                            └▶ a segment    ─▶ sink.hold_segment (durable) ─▶ all held?
                                               no ─▶ ESME_ROK
                                               yes ─▶ join ─▶ sink.inbound (releases them)
                                                      ─▶ ESME_ROK
                  the sink raised ─▶ ESME_RSYSERR (the SMSC redelivers)

No segment is acknowledged before it is stored, so a crash between segments loses nothing.
The joined message's id is its key and first segment's time: a segment redelivered before
the release joins to the same id, which the sink already has (docs/smpp.md, duplicates).

The carrier sends the deliver_sm_resp; this module knows no connection.
"""

from __future__ import annotations

import logging

from switchboard.core.clock import Clock
from switchboard.gateways.smpp.addressing import e164
from switchboard.gateways.smpp.commands import DeliverSm, Status, Tag
from switchboard.gateways.smpp.text import MessageState, message_part, parse_receipt
from switchboard.sms.carrier import (
    CarrierReport,
    CarrierSink,
    InboundSegment,
    InboundSms,
    ReportStatus,
    SegmentKey,
)
from switchboard.sms.encoding import decode_text

logger = logging.getLogger(__name__)

_RECEIPT_TYPES = frozenset({0x04, 0x20})  # esm_class bits 2–5: SMSC receipt, intermediate


class InboundHandler:
    """Hands deliver_sm PDUs of carrier ``name`` to a sink (segments held by the sink)."""

    def __init__(self, name: str, clock: Clock) -> None:
        self._name = name
        self._clock = clock

    async def consume(self, sink: CarrierSink, pdu: DeliverSm) -> int:
        """Hand a deliver_sm to the sink; the status to answer it with."""
        payload = pdu.short_message
        for tlv in pdu.tlvs:
            if tlv.tag == Tag.MESSAGE_PAYLOAD:
                payload = tlv.value
        try:
            if pdu.esm_class & 0x3C in _RECEIPT_TYPES:
                await self._receipt(sink, pdu, decode_text(payload, pdu.data_coding))
            else:
                await self._message(sink, pdu, payload)
        except Exception:
            logger.exception("smpp %s: sink failed; deliver_sm left for redelivery", self._name)
            return Status.RSYSERR
        return Status.ROK

    async def _receipt(self, sink: CarrierSink, pdu: DeliverSm, text: str) -> None:
        receipt = parse_receipt(text, pdu.tlvs)
        if receipt is None:
            # Refusing it would only make the SMSC send the same unreadable receipt again.
            logger.warning("smpp %s: receipt without a message id: %r", self._name, text)
            return
        if not receipt.state.is_final:
            return
        delivered = receipt.state is MessageState.DELIVERED
        report = CarrierReport(
            carrier_message_id=receipt.message_id,
            status=ReportStatus.DELIVERED if delivered else ReportStatus.FAILED,
            detail=receipt.detail,
            done_ms=receipt.done_ms,
        )
        await sink.delivery_report(self._name, report)

    async def _message(self, sink: CarrierSink, pdu: DeliverSm, payload: bytes) -> None:
        sender = e164(pdu.source_addr, pdu.source_addr_ton)
        recipient = e164(pdu.destination_addr, pdu.dest_addr_ton)
        part, payload = message_part(payload, pdu.esm_class, pdu.tlvs)
        received_ms = int(self._clock.now() * 1000)
        if part is None:
            text = decode_text(payload, pdu.data_coding)
            await sink.inbound(self._name, InboundSms(sender, recipient, text, None, received_ms))
            return
        key = SegmentKey(sender, recipient, part.reference, part.total)
        segment = InboundSegment(key, part.index, pdu.data_coding, payload, received_ms)
        held = await sink.hold_segment(self._name, segment)
        if len(held) < part.total:
            return  # stored: acknowledged now, joined when the last one is here
        # A sender may split a surrogate pair: decode the joined payloads, not each one.
        text = decode_text(b"".join(s.payload for s in held), held[0].data_coding)
        first_ms = min(s.received_ms for s in held)
        joined_id = f"parts:{sender}:{recipient}:{part.reference}:{part.total}:{first_ms}"
        message = InboundSms(sender, recipient, text, joined_id, first_ms, segments=key)
        await sink.inbound(self._name, message)
