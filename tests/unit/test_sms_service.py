"""SmsService on the in-memory stores: sends, opt-out keywords, receipts, and the events.

No database and no carrier: the tests play the sender (claim ─▶ submitted / failed) and the
carrier (inbound, delivery_report) themselves.
"""

from __future__ import annotations

import pytest

from switchboard.core.clock import FakeClock
from switchboard.core.errors import BadRequestError
from switchboard.numbers.models import Capability, OwnedNumber
from switchboard.sms.carrier import (
    CarrierReport,
    InboundSegment,
    InboundSms,
    ReportStatus,
    SegmentKey,
)
from switchboard.sms.events import DeliveryOutcome, SmsDeliveryReportReceived, SmsReceived
from switchboard.sms.keywords import REPLIES, Keyword
from switchboard.sms.models import (
    Direction,
    MessageState,
    QueuedMessage,
    RecipientRequest,
    SendOptions,
)
from switchboard.sms.service import (
    OPTED_OUT_MESSAGE,
    DeliveryReportNotFoundError,
    SenderNotAllowedError,
    SenderNotOwnedError,
    SmsService,
)
from switchboard.sms.store_memory import MemorySmsStore

pytestmark = pytest.mark.anyio

OURS = "+18005550100"  # inbound+outbound
INBOUND_ONLY = "+18005550101"
NO_SMS = "+18005550102"
HANDSET = "+14255550123"
OTHER_HANDSET = "+14255550124"
CARRIER = "simulator"


class Numbers:
    def __init__(self) -> None:
        self.owned = {
            number: OwnedNumber(number, CARRIER, "US", "tollFree", sms, Capability.NONE)
            for number, sms in (
                (OURS, Capability.INBOUND_OUTBOUND),
                (INBOUND_ONLY, Capability.INBOUND),
                (NO_SMS, Capability.NONE),
            )
        }

    async def owned_number(self, phone_number: str) -> OwnedNumber | None:
        return self.owned.get(phone_number)


class Harness:
    def __init__(self) -> None:
        self.store = MemorySmsStore()
        self.clock = FakeClock()
        self.woken: list[str] = []
        self.service = SmsService(
            self.store,
            Numbers(),
            clock=self.clock,
            on_queued=self._woken,
            segments=lambda text: 1 + len(text) // 160,
        )

    async def _woken(self, carrier: str) -> None:
        self.woken.append(carrier)

    @property
    def now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    async def claim(self) -> list[QueuedMessage]:
        return await self.store.claim(CARRIER, self.now_ms, 100, lease_ms=60_000)

    async def text_us(self, text: str, *, to: str = OURS, carrier_id: str | None = None) -> None:
        await self.service.inbound(CARRIER, InboundSms(HANDSET, to, text, carrier_id))

    async def receipt(self, carrier_id: str, status: ReportStatus = ReportStatus.DELIVERED) -> None:
        await self.service.delivery_report(CARRIER, CarrierReport(carrier_id, status, "DELIVRD"))


@pytest.fixture
def sms() -> Harness:
    return Harness()


async def send(
    sms: Harness, *to: str | RecipientRequest, report: bool = False, sender: str = OURS
) -> list[str | None]:
    recipients = [r if isinstance(r, RecipientRequest) else RecipientRequest(r) for r in to]
    results = await sms.service.send(
        sender, recipients, "hello", SendOptions(enable_delivery_report=report, tag="t")
    )
    return [r.message_id for r in results]


# ── sending ─────────────────────────────────────────────────────────────────


async def test_each_recipient_gets_its_own_outcome(sms: Harness) -> None:
    async with sms.store.transaction() as tx:
        await tx.set_opt_out(OURS, OTHER_HANDSET, True, 0)
    results = await sms.service.send(
        OURS,
        [RecipientRequest(HANDSET), RecipientRequest("12345"), RecipientRequest(OTHER_HANDSET)],
        "hello",
        SendOptions(),
    )
    assert [(r.to, r.http_status_code, r.successful) for r in results] == [
        (HANDSET, 202, True),
        ("12345", 400, False),
        (OTHER_HANDSET, 400, False),
    ]
    assert results[2].error_message == OPTED_OUT_MESSAGE
    [queued] = await sms.claim()
    assert (queued.id, queued.recipient, queued.sender) == (results[0].message_id, HANDSET, OURS)
    assert sms.woken == [CARRIER]


async def test_a_repeatability_id_repeated_in_one_request_is_one_message(sms: Harness) -> None:
    twice = RecipientRequest(HANDSET, "req-1")
    first, second, other = await send(sms, twice, twice, RecipientRequest(OTHER_HANDSET, "req-2"))
    assert first is not None and first == second
    assert other not in (None, first)
    assert len(await sms.claim()) == 2


async def test_a_repeated_request_returns_the_first_outcome_and_sends_nothing(
    sms: Harness,
) -> None:
    [first] = await send(sms, RecipientRequest(HANDSET, "req-1"))
    results = await sms.service.send(
        OURS, [RecipientRequest(HANDSET, "req-1")], "hi", SendOptions()
    )
    assert (results[0].message_id, results[0].repeatability_result) == (first, "accepted")
    assert len(await sms.claim()) == 1
    assert sms.woken == [CARRIER]  # the repeat queued nothing, so woke no sender


@pytest.mark.parametrize("sender", [INBOUND_ONLY, NO_SMS])
async def test_only_an_owned_number_that_sends_sms_may_send(sms: Harness, sender: str) -> None:
    with pytest.raises(SenderNotAllowedError):
        await send(sms, HANDSET, sender=sender)
    assert await sms.claim() == []


async def test_a_number_of_another_resource_is_unauthorized_as_in_acs(sms: Harness) -> None:
    with pytest.raises(SenderNotOwnedError) as caught:
        await send(sms, HANDSET, sender="+18005550199")
    assert (caught.value.status, caught.value.error_code) == (401, "Unauthorized")
    for malformed in ("sender", "+1425555012345"):  # not a phone number: 400, as ACS
        with pytest.raises(SenderNotAllowedError):
            await send(sms, HANDSET, sender=malformed)
    assert await sms.claim() == []


async def test_a_request_needs_recipients_and_a_message(sms: Harness) -> None:
    with pytest.raises(BadRequestError, match="recipients"):
        await sms.service.send(OURS, [], "hi", SendOptions())
    with pytest.raises(BadRequestError, match="empty"):
        await sms.service.send(OURS, [RecipientRequest(HANDSET)], "", SendOptions())
    with pytest.raises(BadRequestError, match="longer"):
        await sms.service.send(OURS, [RecipientRequest(HANDSET)], "x" * 2049, SendOptions())


# ── inbound and keywords ────────────────────────────────────────────────────


async def test_an_inbound_message_is_stored_and_announced_once(sms: Harness) -> None:
    await sms.text_us("a" * 200, carrier_id="net-1")
    await sms.text_us("a" * 200, carrier_id="net-1")  # the network redelivers
    [event] = sms.store.events
    assert isinstance(event, SmsReceived)
    assert (event.sender, event.recipient, event.segments) == (HANDSET, OURS, 2)
    stored = await sms.store.get(event.message_id)
    assert stored is not None
    assert (stored.direction, stored.state) == (Direction.INBOUND, MessageState.RECEIVED)


async def test_a_joined_message_releases_its_held_segments_with_its_commit(
    sms: Harness,
) -> None:
    for to in (OURS, "+18005550199"):  # ours, and a number that is not: released either way
        key = SegmentKey(HANDSET, to, 7, 2)
        for index, chunk in enumerate((b"Hello, ", b"world"), start=1):
            segment = InboundSegment(key, index, 0, chunk, sms.now_ms)
            held = await sms.service.hold_segment(CARRIER, segment)
        assert len(held) == 2
        joined = InboundSms(HANDSET, to, "Hello, world", "parts:7", sms.now_ms, segments=key)
        await sms.service.inbound(CARRIER, joined)
        await sms.service.inbound(CARRIER, joined)  # a join that raced the first: known by id
        late = InboundSegment(key, 2, 0, b"world", sms.now_ms)
        assert await sms.service.hold_segment(CARRIER, late) == [late]  # alone: never whole
    [event] = sms.store.events
    assert isinstance(event, SmsReceived) and event.text == "Hello, world"


async def test_a_message_to_a_number_that_is_not_ours_is_dropped(sms: Harness) -> None:
    await sms.text_us("hi", to="+18005550199")
    await sms.text_us("hi", to=NO_SMS)
    assert sms.store.events == []


async def test_stop_opts_the_handset_out_and_answers_once(sms: Harness) -> None:
    await sms.text_us("Stop")
    assert await sms.store.opted_out(OURS, [HANDSET]) == {HANDSET}
    [reply] = await sms.claim()
    assert (reply.sender, reply.recipient, reply.text) == (OURS, HANDSET, REPLIES[Keyword.STOP])
    assert sms.woken == [CARRIER]
    [result] = await sms.service.send(OURS, [RecipientRequest(HANDSET)], "hi", SendOptions())
    assert (result.successful, result.error_message) == (False, OPTED_OUT_MESSAGE)
    assert [type(e) for e in sms.store.events] == [SmsReceived]  # the keyword is news too


async def test_start_opts_back_in_and_help_changes_nothing(sms: Harness) -> None:
    await sms.text_us("STOP")
    await sms.text_us("help")
    assert await sms.store.opted_out(OURS, [HANDSET]) == {HANDSET}
    await sms.text_us("start")
    assert await sms.store.opted_out(OURS, [HANDSET]) == set()
    replies = [m.text for m in await sms.claim()]
    assert replies == [REPLIES[Keyword.STOP], REPLIES[Keyword.HELP], REPLIES[Keyword.START]]


async def test_a_number_that_cannot_send_records_the_opt_out_without_answering(
    sms: Harness,
) -> None:
    await sms.text_us("STOP", to=INBOUND_ONLY)
    assert await sms.store.opted_out(INBOUND_ONLY, [HANDSET]) == {HANDSET}
    assert await sms.claim() == []
    assert sms.woken == []


async def test_opt_outs_can_be_added_checked_and_removed(sms: Harness) -> None:
    added = await sms.service.change_opt_outs(OURS, [HANDSET, "bad"], True)
    assert [(r.to, r.http_status_code, r.is_opted_out) for r in added] == [
        (HANDSET, 200, True),
        ("bad", 400, None),
    ]
    [checked] = await sms.service.change_opt_outs(OURS, [HANDSET], None)
    assert checked.is_opted_out is True
    await sms.service.change_opt_outs(OURS, [HANDSET], False)
    [checked] = await sms.service.change_opt_outs(OURS, [HANDSET], None)
    assert checked.is_opted_out is False
    with pytest.raises(SenderNotAllowedError):
        await sms.service.change_opt_outs(NO_SMS, [HANDSET], True)


# ── receipts ────────────────────────────────────────────────────────────────


async def test_the_last_segment_receipt_makes_the_report_and_its_event(sms: Harness) -> None:
    [message_id] = await send(sms, HANDSET, report=True)
    [queued] = await sms.claim()
    await sms.service.submitted(queued, ["seg-1", "seg-2"])
    await sms.receipt("seg-1")
    assert sms.store.events == []
    with pytest.raises(DeliveryReportNotFoundError, match="submitted"):
        await sms.service.report(queued.id)
    await sms.receipt("seg-2")
    await sms.receipt("seg-2")  # redelivered: counted once
    [event] = sms.store.events
    assert isinstance(event, SmsDeliveryReportReceived)
    assert (event.message_id, event.outcome, event.tag) == (
        message_id,
        DeliveryOutcome.DELIVERED,
        "t",
    )
    assert (event.segments_delivered, event.segments_failed) == (2, 0)
    report = await sms.service.report(queued.id)
    assert report.state is MessageState.DELIVERED


async def test_without_a_report_requested_the_outcome_is_kept_but_not_announced(
    sms: Harness,
) -> None:
    await send(sms, HANDSET)
    [queued] = await sms.claim()
    await sms.service.submitted(queued, ["seg-1"])
    await sms.receipt("seg-1", ReportStatus.FAILED)
    assert sms.store.events == []
    assert (await sms.service.report(queued.id)).state is MessageState.FAILED


async def test_a_receipt_that_beats_its_submit_is_applied_with_the_submit(sms: Harness) -> None:
    await send(sms, HANDSET, report=True)
    [queued] = await sms.claim()
    await sms.receipt("seg-1")  # the network answered before we recorded the submit
    assert sms.store.events == []
    await sms.service.submitted(queued, ["seg-1"])
    [event] = sms.store.events
    assert isinstance(event, SmsDeliveryReportReceived)
    assert event.outcome is DeliveryOutcome.DELIVERED


async def test_a_refused_message_fails_with_the_carriers_words(sms: Harness) -> None:
    await send(sms, HANDSET, report=True)
    [queued] = await sms.claim()
    await sms.service.failed(queued, "Barred")
    [event] = sms.store.events
    assert isinstance(event, SmsDeliveryReportReceived)
    assert (event.outcome, event.detail) == (DeliveryOutcome.FAILED, "Barred")
    await sms.service.failed(queued, "again")  # the claim is spent: nothing changes
    assert len(sms.store.events) == 1


async def test_only_outgoing_messages_have_delivery_reports(sms: Harness) -> None:
    await sms.text_us("hi")
    [received] = sms.store.events
    with pytest.raises(DeliveryReportNotFoundError):
        await sms.service.report(received.message_id)
    with pytest.raises(DeliveryReportNotFoundError):
        await sms.service.report("Outgoing_unknown")


async def test_a_refused_recipient_has_no_repeatability_result_as_in_acs(sms: Harness) -> None:
    results = await sms.service.send(
        OURS,
        [RecipientRequest(HANDSET, "id-1"), RecipientRequest("Ad155500000000000", "id-2")],
        "hello",
        SendOptions(),
    )
    assert [(r.successful, r.repeatability_result) for r in results] == [
        (True, "accepted"),
        (False, None),
    ]
