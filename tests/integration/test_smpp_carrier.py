"""SmppCarrier against a real SMSC (smpp34's Rust server), through a link the test can cut."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import smpp34

from switchboard.core.clock import SystemClock
from switchboard.core.config import ConfigError
from switchboard.gateways.smpp import SmppCarrier, SmppSettings
from switchboard.gateways.smpp.pdu import CommandId, Status, Tag
from switchboard.sms.carrier import (
    CarrierRejectedError,
    CarrierReport,
    CarrierUnavailableError,
    InboundSegment,
    InboundSms,
    OutboundSms,
    ReportStatus,
)
from switchboard.sms.encoding import decode_gsm7
from switchboard.sms.store_memory import MemorySmsStore
from tests.smsc import LinkProxy, Smpp34Smsc, Submitted

pytestmark = pytest.mark.anyio

OUR_NUMBER = "+18005550100"
HANDSET = "+14255550123"
T = TypeVar("T")


class RecordingSink:
    """A CarrierSink that records, and can be made to block or fail like a busy database."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, InboundSms]] = []
        self.reports: list[tuple[str, CarrierReport]] = []
        self.failures_left = 0
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.held = MemorySmsStore()  # segments, as SmsService keeps them

    async def inbound(self, carrier: str, message: InboundSms) -> None:
        await self._enter()
        if message.segments is not None:
            async with self.held.transaction() as tx:
                await tx.release_segments(carrier, message.segments)
        self.messages.append((carrier, message))

    async def hold_segment(self, carrier: str, segment: InboundSegment) -> list[InboundSegment]:
        return await self.held.hold_segment(carrier, segment, expire_before_ms=0)

    async def delivery_report(self, carrier: str, report: CarrierReport) -> None:
        await self._enter()
        self.reports.append((carrier, report))

    async def _enter(self) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("database unavailable")


@dataclass
class Rig:
    smsc: Smpp34Smsc
    proxy: LinkProxy
    sink: RecordingSink = field(default_factory=RecordingSink)
    carrier: SmppCarrier | None = None

    async def start_carrier(self, **overrides: Any) -> SmppCarrier:
        settings = SmppSettings.from_mapping(
            {
                "host": "127.0.0.1",
                "port": self.proxy.port,
                "system_id": "switchboard",
                "password": "secret",
                "reconnect_min_seconds": 0.05,
                "reconnect_max_seconds": 0.2,
                "submit_timeout_seconds": 5,
                **overrides,
            }
        )
        binds = self.smsc.binds
        self.carrier = SmppCarrier("smpp-test", settings, clock=SystemClock())
        await self.carrier.start(self.sink)
        await within(self.carrier.wait_up())
        await within(self.smsc.wait_for(lambda: self.smsc.binds > binds))  # its Esme handle
        return self.carrier

    @property
    def esme(self) -> smpp34.Esme:
        assert self.smsc.esme is not None
        return self.smsc.esme


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    smsc = Smpp34Smsc()
    await smsc.start()
    proxy = LinkProxy(smsc.port)
    await proxy.start()
    rig = Rig(smsc, proxy)
    try:
        yield rig
    finally:
        if rig.carrier is not None:
            await rig.carrier.stop()
        await proxy.stop()
        await smsc.stop()


async def within(awaitable: Awaitable[T], seconds: float = 10.0) -> T:
    """A safety net so a broken carrier fails the test instead of hanging it."""
    async with asyncio.timeout(seconds):
        return await awaitable


async def eventually(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 - the state lives in the carrier and the proxy
            await asyncio.sleep(0.01)


def sms(text: str, message_id: str = "Outgoing_1", *, report: bool = False) -> OutboundSms:
    return OutboundSms(message_id, OUR_NUMBER, HANDSET, text, report)


async def deliver(rig: Rig, short_message: bytes, **fields: Any) -> smpp34.DeliverSmResp:
    defaults: dict[str, Any] = {
        "source_addr": HANDSET[1:],
        "source_addr_ton": 1,
        "source_addr_npi": 1,
    }
    fields = defaults | fields
    return await within(
        rig.esme.deliver_sm(OUR_NUMBER[1:], short_message, dest_addr_ton=1, **fields)
    )


# ── submit ──────────────────────────────────────────────────────────────────


async def test_gsm_message_with_extension_characters_arrives_as_one_septet_segment(
    rig: Rig,
) -> None:
    carrier = await rig.start_carrier()
    text = "Total: 5€ [paid] {ok} ~ ^ | \\ done"
    result = await within(carrier.submit(sms(text)))
    (got,) = rig.smsc.submitted
    assert (got.data_coding, got.esm_class) == (0, 0)
    assert decode_gsm7(got.short_message) == text
    assert b"\x1b\x65" in got.short_message  # € behind ESC
    assert (got.source_addr, got.source_addr_ton) == ("18005550100", 1)
    assert (got.destination_addr, got.dest_addr_ton) == ("14255550123", 1)
    assert got.registered_delivery == 0
    assert result.carrier_message_ids == (got.message_id,) and result.segments == 1


async def test_long_ucs2_message_arrives_as_segments_with_udh_that_rebuild_it(rig: Rig) -> None:
    carrier = await rig.start_carrier()
    text = "Ваш код подтверждения: 123456. Никому его не сообщайте! 🔐 " * 5
    result = await within(carrier.submit(sms(text, report=True)))
    segments = rig.smsc.submitted
    assert result.segments == len(segments) == 5
    assert result.carrier_message_ids == tuple(s.message_id for s in segments)
    reference = segments[0].short_message[3]
    payload = b""
    for index, segment in enumerate(segments, start=1):
        assert (segment.data_coding, segment.esm_class, segment.registered_delivery) == (8, 0x40, 1)
        assert segment.short_message[:6] == bytes([5, 0x00, 3, reference, 5, index])
        assert len(segment.short_message) <= 140
        payload += segment.short_message[6:]
    assert payload.decode("utf-16-be") == text


async def test_concurrent_submits_never_exceed_the_window(rig: Rig) -> None:
    rig.smsc.hold = True
    carrier = await rig.start_carrier(window=4)
    sends = [asyncio.create_task(carrier.submit(sms(f"m{i}", f"O{i}"))) for i in range(10)]
    for _ in range(10):
        event = await within(rig.smsc.held.get())
        await asyncio.sleep(0.05)  # give a broken window the chance to overrun
        assert rig.proxy.in_flight <= 4
        rig.smsc.accept(event)
    results = await within(asyncio.gather(*sends))
    assert rig.proxy.max_in_flight == 4
    assert sorted(r.carrier_message_ids[0] for r in results) == sorted(
        s.message_id for s in rig.smsc.submitted if s.message_id
    )


async def test_throttled_submit_is_unavailable_and_parks_the_sender_briefly(rig: Rig) -> None:
    throttle = [Status.RTHROTTLED, Status.RMSGQFUL]
    rig.smsc.decide = lambda event: throttle.pop(0) if throttle else None
    carrier = await rig.start_carrier(throttle_pause_seconds=0.3)
    for _ in range(2):
        with pytest.raises(CarrierUnavailableError, match="ESME_R"):
            await within(carrier.submit(sms("hello")))
        assert not carrier.is_up
        with pytest.raises(CarrierUnavailableError):
            await carrier.submit(sms("hello"))  # refused at once while paused
        await within(carrier.wait_up())
    result = await within(carrier.submit(sms("hello")))
    assert result.segments == 1


async def test_permanent_error_rejects_the_message_and_keeps_the_link(rig: Rig) -> None:
    rig.smsc.decide = lambda event: Status.RINVDSTADR
    carrier = await rig.start_carrier()
    with pytest.raises(CarrierRejectedError, match="RINVDSTADR"):
        await within(carrier.submit(sms("hello")))
    assert carrier.is_up


# ── deliver_sm ──────────────────────────────────────────────────────────────


async def test_delivery_receipts_reach_the_sink_keyed_by_the_submit_id(rig: Rig) -> None:
    carrier = await rig.start_carrier()
    result = await within(carrier.submit(sms("hi", report=True)))
    (message_id,) = result.carrier_message_ids
    text = (
        f"id:{message_id} sub:001 dlvrd:001 submit date:2601231015 done date:2601231016 "
        "stat:DELIVRD err:000 text:hi"
    )
    resp = await deliver(rig, text.encode(), esm_class=0x04)
    assert resp.command_status == Status.ROK
    failed = await deliver(
        rig,
        b"",
        esm_class=0x04,
        tlvs=[
            smpp34.Tlv(Tag.RECEIPTED_MESSAGE_ID, b"M-other\0"),
            smpp34.Tlv(Tag.MESSAGE_STATE, bytes([5])),
        ],
    )
    assert failed.command_status == Status.ROK
    assert [(name, r.carrier_message_id, r.status, r.detail) for name, r in rig.sink.reports] == [
        ("smpp-test", message_id, ReportStatus.DELIVERED, "DELIVRD"),
        ("smpp-test", "M-other", ReportStatus.FAILED, "UNDELIV"),
    ]
    assert rig.sink.reports[0][1].done_ms == 1769163360000  # 2026-01-23 10:16 UTC


async def test_intermediate_receipt_is_acked_without_bothering_the_sink(rig: Rig) -> None:
    await rig.start_carrier()
    resp = await deliver(rig, b"id:M1 stat:ENROUTE", esm_class=0x04)
    assert resp.command_status == Status.ROK
    assert rig.sink.reports == []


async def test_inbound_message_is_acked_only_after_the_sink_returned(rig: Rig) -> None:
    await rig.start_carrier()
    rig.sink.gate = asyncio.Event()
    pending = asyncio.ensure_future(deliver(rig, b"Hello \x00 \x1b\x65 \x7d"))  # GSM septets
    await within(rig.sink.entered.wait())
    await asyncio.sleep(0.2)  # give a premature ack the time to arrive
    assert not pending.done()
    assert rig.proxy.count("esme", CommandId.DELIVER_SM_RESP) == 0
    rig.sink.gate.set()
    resp = await within(pending)
    assert resp.command_status == Status.ROK
    ((name, message),) = rig.sink.messages
    assert name == "smpp-test"
    assert (message.sender, message.recipient, message.text) == (
        HANDSET,
        OUR_NUMBER,
        "Hello @ € ñ",
    )
    assert message.received_ms is not None


async def test_concatenated_inbound_reaches_the_sink_once_whole(rig: Rig) -> None:
    await rig.start_carrier()
    text = "Добрый вечер! Это длинное сообщение из двух частей 😀 " * 2
    raw = text.encode("utf-16-be")
    parts = [raw[:134], raw[134:]]
    for index, chunk in enumerate(parts, start=1):
        udh = bytes([5, 0, 3, 0x42, 2, index])
        resp = await deliver(rig, udh + chunk, esm_class=0x40, data_coding=8)
        assert resp.command_status == Status.ROK
    assert [m.text for _, m in rig.sink.messages] == [text]


async def test_sink_failure_answers_an_error_so_the_smsc_redelivers(rig: Rig) -> None:
    await rig.start_carrier()
    rig.sink.failures_left = 1
    first = await deliver(rig, b"id:M7 stat:DELIVRD", esm_class=0x04)
    assert first.command_status == Status.RSYSERR
    assert rig.sink.reports == []
    again = await deliver(rig, b"id:M7 stat:DELIVRD", esm_class=0x04)
    assert again.command_status == Status.ROK
    assert [r.carrier_message_id for _, r in rig.sink.reports] == ["M7"]


async def test_failed_last_segment_is_reassembled_again_when_redelivered(rig: Rig) -> None:
    await rig.start_carrier()
    first = await deliver(rig, bytes([5, 0, 3, 9, 2, 1]) + b"Hello, ", esm_class=0x40)
    assert first.command_status == Status.ROK
    rig.sink.failures_left = 1
    last = bytes([5, 0, 3, 9, 2, 2]) + b"world"
    assert (await deliver(rig, last, esm_class=0x40)).command_status == Status.RSYSERR
    assert (await deliver(rig, last, esm_class=0x40)).command_status == Status.ROK
    assert [m.text for _, m in rig.sink.messages] == ["Hello, world"]


# ── the link ────────────────────────────────────────────────────────────────


async def test_enquire_link_keeps_one_link_alive(rig: Rig) -> None:
    carrier = await rig.start_carrier(enquire_link_seconds=0.1)
    await eventually(lambda: rig.proxy.count("smsc", CommandId.ENQUIRE_LINK_RESP) >= 5)
    assert carrier.is_up
    assert rig.proxy.connections == 1 and rig.smsc.binds == 1


async def test_silent_link_is_found_dead_and_replaced(rig: Rig) -> None:
    carrier = await rig.start_carrier(enquire_link_seconds=0.1, submit_timeout_seconds=0.3)
    rig.proxy.blackhole()
    await eventually(lambda: not carrier.is_up)
    await rig.proxy.restore()
    await within(carrier.wait_up())
    assert rig.proxy.connections == 2
    assert (await within(carrier.submit(sms("after")))).segments == 1


async def test_dropped_link_is_unavailable_then_restored_by_itself(rig: Rig) -> None:
    carrier = await rig.start_carrier()
    rig.proxy.cut()
    await eventually(lambda: not carrier.is_up)
    with pytest.raises(CarrierUnavailableError):
        await carrier.submit(sms("during the outage"))
    await asyncio.sleep(0.3)  # a few refused reconnects (backoff) while the SMSC is away
    await rig.proxy.restore()
    await within(carrier.wait_up())
    assert (await within(carrier.submit(sms("after")))).segments == 1
    assert rig.smsc.binds == 2


async def test_smsc_unbind_is_answered_and_the_carrier_binds_again(rig: Rig) -> None:
    carrier = await rig.start_carrier()
    await within(rig.esme.unbind())
    await rig.smsc.wait_for(lambda: rig.smsc.binds == 2)
    await within(carrier.wait_up())
    assert (await within(carrier.submit(sms("again")))).segments == 1


async def test_queue_drained_across_a_dropped_link_loses_nothing_and_sends_nothing_twice(
    rig: Rig,
) -> None:
    carrier = await rig.start_carrier()
    queue = [sms(f"message {i} " + "é" * (200 if i == 6 else 0), f"O{i}") for i in range(12)]
    rig.proxy.cut_at_submit = 5  # the 5th submit_sm never reaches the SMSC: the link drops
    outcomes: dict[str, tuple[str, ...]] = {}
    unavailable = 0

    async def sender() -> None:  # what the SMS service's sender does with a durable queue
        nonlocal unavailable
        for message in queue:
            while message.message_id not in outcomes:
                await carrier.wait_up()
                try:
                    result = await carrier.submit(message)
                except CarrierUnavailableError:
                    unavailable += 1
                else:
                    outcomes[message.message_id] = result.carrier_message_ids

    draining = asyncio.create_task(sender())
    await within(rig.proxy.was_cut.wait())
    await eventually(lambda: not carrier.is_up)
    await rig.proxy.restore()
    await within(draining)

    assert unavailable >= 1
    assert messages_at_smsc(rig.smsc.submitted) == [m.text for m in queue]  # once, in order
    assert sorted(i for ids in outcomes.values() for i in ids) == sorted(
        str(s.message_id) for s in rig.smsc.submitted
    )


def messages_at_smsc(submitted: list[Submitted]) -> list[str]:
    """The GSM texts the SMSC received, segments joined by their UDH."""
    texts: list[str] = []
    at = 0
    while at < len(submitted):
        short_message = submitted[at].short_message
        if not submitted[at].esm_class & 0x40:
            texts.append(decode_gsm7(short_message))
            at += 1
            continue
        total = short_message[4]
        texts.append("".join(decode_gsm7(s.short_message[6:]) for s in submitted[at : at + total]))
        at += total
    return texts


async def test_stop_unbinds_cleanly(rig: Rig) -> None:
    carrier = await rig.start_carrier()
    await carrier.stop()
    rig.carrier = None
    assert not carrier.is_up
    await rig.smsc.wait_for(lambda: rig.smsc.unbinds == 1)
    assert rig.proxy.count("esme", CommandId.UNBIND) == 1
    # smpp34 closes the connection instead of answering unbind_resp; either ends the link.


# ── settings ────────────────────────────────────────────────────────────────

REQUIRED = {"host": "smsc.example.net", "port": 2775, "system_id": "sb", "password": "pw"}


def test_settings_come_from_a_toml_like_mapping_with_defaults() -> None:
    settings = SmppSettings.from_mapping(REQUIRED | {"window": 20, "enquire_link_seconds": 15})
    assert (settings.window, settings.enquire_link_seconds) == (20, 15.0)
    assert (settings.source_ton, settings.reconnect_max_seconds) == (None, 60.0)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"host": "h", "port": 2775, "system_id": "sb"}, "'password' is required"),
        (REQUIRED | {"windw": 3}, "unknown SMPP setting 'windw'; did you mean 'window'"),
        (REQUIRED | {"window": "10"}, "'window' must be int"),
        (REQUIRED | {"window": True}, "'window' must be int"),
        (REQUIRED | {"window": 0}, "at least 1"),
        (REQUIRED | {"reconnect_min_seconds": 9, "reconnect_max_seconds": 3}, "reconnect_min"),
    ],
)
def test_bad_settings_are_configuration_errors(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        SmppSettings.from_mapping(values)
