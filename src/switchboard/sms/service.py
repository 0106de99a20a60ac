"""SmsService: accept sends, take what carriers hand back, keep opt-outs.

    POST /sms ─▶ send(): checks ─▶ one unit of work: queued messages (per-recipient
                 repeatability) ─▶ commit ─▶ wake the sender ─▶ 202 with message ids
    carrier ─▶ inbound(): keyword? opt-out + automatic reply ─▶ emit SmsReceived ─▶ commit
    carrier ─▶ delivery_report(): count the segment ─▶ final? emit SmsDeliveryReportReceived
    carrier ─▶ hold_segment(): one segment of a concatenated message, durably ─▶ all held so
               far (whole: the carrier joins them and calls inbound(), which releases them)

The service is the carriers' ``CarrierSink``: each of its coroutines returns only once what it
was handed is committed, so a carrier acknowledges nothing that could still be lost. Events
are typed (sms/events.py) and emitted into the unit of work; the store publishes them with
the commit (for Event Grid, sms/eventgrid.py renders them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from switchboard.core.clock import Clock
from switchboard.core.errors import AuthenticationError, BadRequestError, NotFoundError
from switchboard.numbers.models import OwnedNumber
from switchboard.sms.carrier import CarrierReport, InboundSegment, InboundSms
from switchboard.sms.events import SmsDeliveryReportReceived, SmsReceived
from switchboard.sms.keywords import REPLIES, Keyword, keyword_of
from switchboard.sms.models import (
    MAX_RECIPIENTS,
    Direction,
    MessageOrigin,
    MessageState,
    OptOutResult,
    QueuedMessage,
    RecipientRequest,
    RecipientResult,
    SendOptions,
    SmsMessage,
    check_text,
    is_e164,
    new_message_id,
)
from switchboard.sms.store import NewMessage, SmsStore, SmsUnitOfWork

log = logging.getLogger(__name__)

# A segment whose siblings never came is dropped after this (the SMSC retries for hours).
HELD_SEGMENT_MAX_AGE_MS = 24 * 3600 * 1000
OPTED_OUT_MESSAGE = "The recipient has opted out of messages from this sender."


class NumberDirectory(Protocol):
    """What SMS needs from the numbers domain."""

    async def owned_number(self, phone_number: str) -> OwnedNumber | None: ...


class SenderNotAllowedError(BadRequestError):
    code = "InvalidSender"


class SenderNotOwnedError(AuthenticationError):
    """Sending from a number this resource does not own: ACS answers 401 Unauthorized (the
    SDKs raise their authentication error class for it)."""


class DeliveryReportNotFoundError(NotFoundError):
    code = "DeliveryReportNotFound"


class SmsService:
    def __init__(
        self,
        store: SmsStore,
        numbers: NumberDirectory,
        *,
        clock: Clock,
        on_queued: Callable[[str], Awaitable[None]] | None = None,
        segments: Callable[[str], int] = lambda _text: 1,
    ) -> None:
        self._store = store
        self._numbers = numbers
        self._clock = clock
        self._on_queued = on_queued
        self._segments = segments

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    async def _sending_number(self, sender: str, *, unowned_is_401: bool = False) -> OwnedNumber:
        number = await self._numbers.owned_number(sender)
        if number is None:
            message = f"The sender '{sender}' is not a phone number of this resource."
            if unowned_is_401 and _plausible_number(sender):
                raise SenderNotOwnedError(message)
            raise SenderNotAllowedError(message, target="from")
        if not number.sms.allows_outbound:
            raise SenderNotAllowedError(
                f"The phone number '{sender}' cannot send SMS (its SMS capability is "
                f"'{number.sms.value}').",
                target="from",
            )
        return number

    async def send(
        self,
        sender: str,
        recipients: Sequence[RecipientRequest],
        message: str,
        options: SendOptions,
    ) -> list[RecipientResult]:
        if not 1 <= len(recipients) <= MAX_RECIPIENTS:
            raise BadRequestError(
                f"A message goes to 1 to {MAX_RECIPIENTS} recipients.", target="smsRecipients"
            )
        check_text(message)
        number = await self._sending_number(sender, unowned_is_401=True)
        now_ms = self._now_ms()
        results: list[RecipientResult] = []
        rows: list[NewMessage] = []
        keys = [_send_key(r.repeatability_request_id) for r in recipients]
        async with self._store.transaction() as tx:
            opted_out = await tx.opted_out(sender, [r.to for r in recipients])
            # Message ids by repeatability key: earlier requests', then this one's as it goes
            # (a key repeated within one request is one message too).
            known = await tx.message_ids_by_dedupe_keys([k for k in keys if k])
            for recipient, key in zip(recipients, keys, strict=True):
                result, row = self._accept_one(
                    number, recipient, key, known, message, options, opted_out, now_ms
                )
                results.append(result)
                if row is not None:
                    rows.append(row)
                    if key:
                        known[key] = row.id
            await tx.insert_messages(rows)
        if rows and self._on_queued is not None:
            await self._on_queued(number.carrier)
        return results

    def _accept_one(
        self,
        number: OwnedNumber,
        recipient: RecipientRequest,
        key: str | None,
        known: dict[str, str],
        text: str,
        options: SendOptions,
        opted_out: set[str],
        now_ms: int,
    ) -> tuple[RecipientResult, NewMessage | None]:
        repeatability = "accepted" if key else None
        if key and key in known:
            # The same recipient again: the first outcome, and nothing sent twice.
            return _accepted(recipient.to, known[key], repeatability), None
        # A refused recipient has no repeatabilityResult (as ACS answers): nothing was kept.
        if not is_e164(recipient.to):
            return _refused(recipient.to, "Invalid To phone number format."), None
        if recipient.to in opted_out:
            return _refused(recipient.to, OPTED_OUT_MESSAGE), None
        message_id = new_message_id(Direction.OUTBOUND, now_ms / 1000)
        row = _outbound(
            message_id, number, recipient.to, text, options, MessageOrigin.API, now_ms, key
        )
        return _accepted(recipient.to, message_id, repeatability), row

    # -- what carriers hand back (CarrierSink) ------------------------------------------------

    async def hold_segment(self, carrier: str, segment: InboundSegment) -> list[InboundSegment]:
        expire_before_ms = self._now_ms() - HELD_SEGMENT_MAX_AGE_MS
        return await self._store.hold_segment(carrier, segment, expire_before_ms)

    async def inbound(self, carrier: str, message: InboundSms) -> None:
        number = await self._numbers.owned_number(message.recipient)
        if number is None or not number.sms.allows_inbound:
            # Nobody here takes messages for it: acknowledge (the network would redeliver
            # forever) and say so in the log.
            log.warning("dropped an SMS to %s: not a number of ours", message.recipient)
            if message.segments is not None:
                async with self._store.transaction() as tx:
                    await tx.release_segments(carrier, message.segments)
            return
        now_ms = self._now_ms()
        received_ms = message.received_ms or now_ms
        message_id = new_message_id(Direction.INBOUND, received_ms / 1000)
        stored = SmsMessage(
            id=message_id,
            direction=Direction.INBOUND,
            state=MessageState.RECEIVED,
            sender=message.sender,
            recipient=message.recipient,
            text=message.text,
            tag=None,
            want_report=False,
            carrier=carrier,
            segments=self._segments(message.text),
            segments_delivered=0,
            segments_failed=0,
            created_ms=received_ms,
            done_ms=received_ms,
            detail=None,
        )
        carrier_id = message.carrier_message_id
        dedupe = f"in:{carrier}:{carrier_id}" if carrier_id else None
        keyword = keyword_of(message.text)
        queued = False
        async with self._store.transaction() as tx:
            if message.segments is not None:  # joined: its segments end with this commit
                await tx.release_segments(carrier, message.segments)
            if dedupe is not None and await tx.message_by_dedupe_key(dedupe) is not None:
                return  # the network redelivered what we already have
            await tx.insert_messages([_inbound(stored, dedupe)])
            if keyword is not None:
                queued = await self._answer_keyword(tx, number, message.sender, keyword, now_ms)
            tx.emit(SmsReceived.of(stored))
        if queued and self._on_queued is not None:
            await self._on_queued(number.carrier)

    async def _answer_keyword(
        self, tx: SmsUnitOfWork, number: OwnedNumber, handset: str, keyword: Keyword, now_ms: int
    ) -> bool:
        if keyword is not Keyword.HELP:
            await tx.set_opt_out(number.phone_number, handset, keyword is Keyword.STOP, now_ms)
        if not number.sms.allows_outbound:
            return False
        reply_id = new_message_id(Direction.OUTBOUND, now_ms / 1000)
        await tx.insert_messages(
            [
                _outbound(
                    reply_id,
                    number,
                    handset,
                    REPLIES[keyword],
                    SendOptions(),
                    MessageOrigin.KEYWORD_REPLY,
                    now_ms,
                )
            ]
        )
        return True

    async def delivery_report(self, carrier: str, report: CarrierReport) -> None:
        now_ms = self._now_ms()
        async with self._store.transaction() as tx:
            final = await tx.apply_segment_report(
                carrier, report.carrier_message_id, report.status, report.detail, now_ms
            )
            _report_final(tx, final)

    # -- used by the sender --------------------------------------------------------------------

    async def submitted(self, queued: QueuedMessage, carrier_ids: Sequence[str]) -> None:
        """Record a submit; receipts that raced ahead of it are applied now."""
        now_ms = self._now_ms()
        async with self._store.transaction() as tx:
            if not await tx.mark_submitted(queued, carrier_ids, now_ms):
                return
            for early in await tx.take_early_reports(queued.carrier, carrier_ids):
                final = await tx.apply_segment_report(
                    queued.carrier, early.carrier_message_id, early.status, early.detail, now_ms
                )
                _report_final(tx, final)

    async def failed(self, queued: QueuedMessage, detail: str) -> None:
        """The carrier refused the message for good (or it expired in the queue)."""
        async with self._store.transaction() as tx:
            _report_final(tx, await tx.fail(queued, detail, self._now_ms()))

    # -- opt-outs and reports (api-version 2026-01-23) ------------------------------------------

    async def change_opt_outs(
        self, sender: str, recipients: Sequence[str], opted_out: bool | None
    ) -> list[OptOutResult]:
        """``opted_out`` True: add, False: remove, None: check."""
        await self._sending_number(sender)
        valid = [to for to in recipients if is_e164(to)]
        results: list[OptOutResult] = []
        now_ms = self._now_ms()
        async with self._store.transaction() as tx:
            current = await tx.opted_out(sender, valid)
            for to in recipients:
                if to not in valid:
                    results.append(
                        OptOutResult(to, 400, error_message="Invalid To phone number format.")
                    )
                    continue
                if opted_out is not None:
                    await tx.set_opt_out(sender, to, opted_out, now_ms)
                state = opted_out if opted_out is not None else to in current
                results.append(OptOutResult(to, 200, is_opted_out=state))
        return results

    async def report(self, message_id: str) -> SmsMessage:
        message = await self._store.get(message_id)
        if message is None or message.direction is not Direction.OUTBOUND:
            raise DeliveryReportNotFoundError(f"No outgoing message '{message_id}'.")
        if message.state not in (MessageState.DELIVERED, MessageState.FAILED):
            raise DeliveryReportNotFoundError(
                f"No delivery report for '{message_id}' yet (it is {message.state.value})."
            )
        return message


def _send_key(repeatability_request_id: str | None) -> str | None:
    return f"send:{repeatability_request_id}" if repeatability_request_id else None


def _plausible_number(number: str) -> bool:
    """E.164, and of the right length for the +1 plan: ACS answers 400 "Invalid from phone
    number format." for a sender such as +1425555012345, and 401 only for a real number."""
    return is_e164(number) and (not number.startswith("+1") or len(number) == 12)


def _refused(to: str, error_message: str) -> RecipientResult:
    return RecipientResult(
        to=to,
        message_id=None,
        http_status_code=400,
        successful=False,
        repeatability_result=None,
        error_message=error_message,
    )


def _accepted(to: str, message_id: str, repeatability: str | None) -> RecipientResult:
    return RecipientResult(
        to=to,
        message_id=message_id,
        http_status_code=202,
        successful=True,
        repeatability_result=repeatability,
    )


def _report_final(tx: SmsUnitOfWork, message: SmsMessage | None) -> None:
    """A message became final: its sender hears of it if a delivery report was asked for."""
    if message is not None and message.want_report:
        tx.emit(SmsDeliveryReportReceived.of(message))


def _outbound(
    message_id: str,
    number: OwnedNumber,
    to: str,
    text: str,
    options: SendOptions,
    origin: MessageOrigin,
    now_ms: int,
    dedupe_key: str | None = None,
) -> NewMessage:
    return NewMessage(
        id=message_id,
        direction=Direction.OUTBOUND,
        origin=origin,
        state=MessageState.QUEUED,
        carrier=number.carrier,
        sender=number.phone_number,
        recipient=to,
        text=text,
        tag=options.tag,
        want_report=options.enable_delivery_report,
        created_ms=now_ms,
        dedupe_key=dedupe_key,
    )


def _inbound(message: SmsMessage, dedupe: str | None) -> NewMessage:
    return NewMessage(
        id=message.id,
        direction=Direction.INBOUND,
        origin=MessageOrigin.NETWORK,
        state=MessageState.RECEIVED,
        carrier=message.carrier,
        sender=message.sender,
        recipient=message.recipient,
        text=message.text,
        want_report=False,
        dedupe_key=dedupe,
        segments=message.segments,
        created_ms=message.created_ms,
        done_ms=message.done_ms,
    )
