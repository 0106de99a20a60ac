"""SMS through an SMPP carrier, end to end: the official SDKs against a running server whose
carrier is a real SMSC (smpp34's server) behind a link the test can cut.

    SDK ──HTTPS──▶ switchboard serve ──SMPP──▶ LinkProxy ──▶ Smpp34Smsc (in this process)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from azure.communication.phonenumbers import (
    PhoneNumberAssignmentType,
    PhoneNumberCapabilities,
    PhoneNumberCapabilityType,
    PhoneNumberType,
)
from azure.communication.phonenumbers.aio import PhoneNumbersClient
from azure.communication.sms.aio import SmsClient

from switchboard.gateways.smpp.pdu import CommandId
from tests.integration.server import RunningServer, start_server
from tests.integration.sms_helpers import final_report, handset
from tests.smsc import LinkProxy, Smpp34Smsc

pytestmark = pytest.mark.anyio

CONFIG = """
[[carriers]]
name = "smsc"
kind = "smpp"
host = "127.0.0.1"
port = {port}
system_id = "switchboard"
password = "secret"
reconnect_min_seconds = 0.05
reconnect_max_seconds = 0.5

[[numbers]]
carrier = "smsc"
country_code = "US"
phone_number_type = "geographic"
numbers = ["+15095550100", "+15095550101"]
locality = "Spokane"
administrative_division = "WA"
capabilities = {{ calling = "none", sms = "inbound+outbound" }}
cost = {{ amount = 1.0, currency = "USD" }}
"""


class Rig:
    def __init__(self, data_dir: Path, smsc: Smpp34Smsc, proxy: LinkProxy) -> None:
        self.data_dir = data_dir
        self.smsc = smsc
        self.proxy = proxy
        self.config = data_dir / "switchboard.toml"
        self.config.write_text(CONFIG.format(port=proxy.port))
        self.server: RunningServer | None = None

    async def start_server(self) -> RunningServer:
        self.server = await asyncio.to_thread(
            start_server, self.data_dir, "--config", str(self.config)
        )
        return self.server

    async def stop_server(self) -> None:
        assert self.server is not None
        server, self.server = self.server, None
        assert await asyncio.to_thread(server.stop) == 0, "\n".join(server.output)

    def texts_to(self, number: str) -> list[bytes]:
        return [s.short_message for s in self.smsc.submitted if s.destination_addr == number[1:]]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    smsc = Smpp34Smsc()
    await smsc.start()
    proxy = LinkProxy(smsc.port)
    await proxy.start()
    rig = Rig(tmp_path, smsc, proxy)
    try:
        yield rig
    finally:
        if rig.server is not None:
            await rig.stop_server()
        await proxy.stop()
        await smsc.stop()


async def buy_smpp_number(server: RunningServer) -> str:
    async with PhoneNumbersClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as numbers:
        poller = await numbers.begin_search_available_phone_numbers(
            "US",
            PhoneNumberType.GEOGRAPHIC,
            PhoneNumberAssignmentType.APPLICATION,
            PhoneNumberCapabilities(
                calling=PhoneNumberCapabilityType.NONE,
                sms=PhoneNumberCapabilityType.INBOUND_OUTBOUND,
            ),
            area_code="509",
            quantity=1,
            polling_interval=0.05,
        )
        search = await poller.result()
        purchase = await numbers.begin_purchase_phone_numbers(
            search.search_id, polling_interval=0.05
        )
        await purchase.result()
    [number] = search.phone_numbers
    return str(number)


async def send(server: RunningServer, sender: str, to: str, text: str, report: bool) -> str:
    async with SmsClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as sms:
        [result] = await sms.send(from_=sender, to=to, message=text, enable_delivery_report=report)
    assert result.successful, result.error_message
    return str(result.message_id)


async def eventually(condition: object, within: float = 15.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_long_message_goes_out_in_segments_and_receipts_make_it_delivered(
    rig: Rig,
) -> None:
    server = await rig.start_server()
    ours = await buy_smpp_number(server)
    phone = handset()
    text = "Привет из Switchboard! " * 4  # Cyrillic: UCS-2, 92 characters → 2 segments
    message_id = await send(server, ours, phone, text, report=True)
    await eventually(lambda: len(rig.texts_to(phone)) == 2)
    segments = [s for s in rig.smsc.submitted if s.destination_addr == phone[1:]]
    assert {(s.data_coding, s.esm_class, s.source_addr) for s in segments} == {(8, 0x40, ours[1:])}
    assert b"".join(s.short_message[6:] for s in segments).decode("utf-16-be") == text

    assert rig.smsc.esme is not None
    for segment in segments:
        receipt = f"id:{segment.message_id} sub:001 dlvrd:001 stat:DELIVRD err:000 text:"
        await rig.smsc.esme.deliver_sm(
            ours[1:], receipt.encode(), source_addr=phone[1:], esm_class=0x04
        )
    report = await final_report(server, message_id)
    assert report.status_code == 200, report.text
    assert report.json()["deliveryStatus"] == "Delivered"
    assert report.json()["deliveryAttempts"][0]["segmentsSucceeded"] == 2


async def test_inbound_stop_over_smpp_is_answered_over_smpp(rig: Rig) -> None:
    server = await rig.start_server()
    ours = await buy_smpp_number(server)
    phone = handset()
    await eventually(lambda: rig.smsc.esme is not None)
    assert rig.smsc.esme is not None
    await rig.smsc.esme.deliver_sm(ours[1:], b"STOP", source_addr=phone[1:], source_addr_ton=1)
    await eventually(lambda: len(rig.texts_to(phone)) == 1)
    assert b"unsubscribed" in rig.texts_to(phone)[0]  # GSM-7 septets: ASCII letters as-is
    async with SmsClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as sms:
        [refused] = await sms.send(from_=ours, to=phone, message="hello?")
    assert not refused.successful and "opted out" in refused.error_message


async def test_messages_accepted_during_an_outage_survive_a_restart_and_go_out_once(
    rig: Rig,
) -> None:
    server = await rig.start_server()
    ours = await buy_smpp_number(server)
    phone = handset()
    await eventually(lambda: rig.proxy.connections >= 1)
    rig.proxy.cut()  # the carrier is gone
    texts = [f"queued {n}" for n in range(3)]
    for text in texts:
        await send(server, ours, phone, text, report=False)
    await asyncio.sleep(0.3)
    assert rig.texts_to(phone) == []

    await rig.stop_server()
    server = await rig.start_server()  # same data dir: the queue is in the database
    await rig.proxy.restore()
    await eventually(lambda: len(rig.texts_to(phone)) == len(texts))
    # Barrier: a later message arrives only after everything queued before it was claimed.
    await send(server, ours, phone, "sentinel", report=False)
    await eventually(lambda: b"sentinel" in rig.texts_to(phone))
    assert sorted(rig.texts_to(phone)) == sorted([b"sentinel", *(t.encode() for t in texts)])
    assert rig.proxy.count("esme", CommandId.SUBMIT_SM) == len(texts) + 1


async def test_a_multipart_message_survives_a_crash_between_its_segments_and_arrives_once(
    rig: Rig,
) -> None:
    server = await rig.start_server()
    ours = await buy_smpp_number(server)
    phone = handset()
    await eventually(lambda: rig.smsc.binds == 1 and rig.smsc.esme is not None)

    async def segment(index: int, chunk: bytes) -> int:
        # "HELP" in three segments (8-bit reference 0x42): answered only once it is whole.
        assert rig.smsc.esme is not None
        response = await rig.smsc.esme.deliver_sm(
            ours[1:],
            bytes([5, 0, 3, 0x42, 3, index]) + chunk,
            source_addr=phone[1:],
            source_addr_ton=1,
            esm_class=0x40,
        )
        return int(response.command_status)

    assert await segment(1, b"HE") == 0
    assert await segment(2, b"L") == 0  # both acknowledged: the SMSC will not send them again

    assert rig.server is not None
    rig.server.process.kill()  # a crash: nothing held in memory survives it
    await asyncio.to_thread(rig.server.process.wait)
    rig.server = None
    server = await rig.start_server()
    await eventually(lambda: rig.smsc.binds == 2)

    assert await segment(3, b"P") == 0
    await eventually(lambda: len(rig.texts_to(phone)) == 1)
    assert b"Reply STOP" in rig.texts_to(phone)[0]
    # The last segment again, as the SMSC does when its deliver_sm_resp was lost.
    assert await segment(3, b"P") == 0
    # Barrier: the sink has committed whatever the redelivery caused before it was answered,
    # so a reply it queued goes out before a message sent after it.
    await send(server, ours, phone, "sentinel", report=False)
    await eventually(lambda: b"sentinel" in rig.texts_to(phone))
    assert len(rig.texts_to(phone)) == 2
