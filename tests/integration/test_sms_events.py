"""SMS events reach a webhook: SMSReceived for inbound messages, SMSDeliveryReportReceived for
the final receipt of a message sent with enableDeliveryReport (delivered and failed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.phonenumbers import PhoneNumberCapabilityType, PhoneNumbersClient
from azure.communication.phonenumbers import PhoneNumberType as NumberType
from azure.communication.sms import SmsClient

from tests.event_receiver import EventReceiver, signature_is_valid
from tests.integration.admin_http import signed_request
from tests.integration.server import RunningServer
from tests.integration.sms_helpers import buy_number, handset, handset_sends

pytestmark = pytest.mark.anyio

SECRET = "s3cret-for-the-sms-webhook"
RECEIVED = "Microsoft.Communication.SMSReceived"
REPORT = "Microsoft.Communication.SMSDeliveryReportReceived"


@pytest.fixture(scope="module")
def our_number(server: RunningServer) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
        numbers = PhoneNumbersClient.from_connection_string(server.connection_string)
        number = buy_number(
            numbers, sms=PhoneNumberCapabilityType.INBOUND_OUTBOUND, kind=NumberType.TOLL_FREE
        )
        yield number
        numbers.begin_release_phone_number(number, polling_interval=0.05).result()


def sms_events(receiver: EventReceiver, kind: str, number: str) -> list[dict[str, Any]]:
    found = []
    for notification in receiver.notifications:
        assert signature_is_valid(notification, SECRET)
        found += [
            e
            for e in notification.events()
            if e.get("eventType") == kind and number in (e["data"]["From"], e["data"]["To"])
        ]
    return found


async def test_inbound_message_and_delivery_reports_reach_the_webhook(
    server: RunningServer, our_number: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = await EventReceiver().start()
    try:
        response = await signed_request(
            server,
            "PUT",
            f"/admin/eventSubscriptions/sms-{receiver.port}",
            {
                "endpointUrl": receiver.url("/sms"),
                "includedEventTypes": [RECEIVED, REPORT],
                "secret": SECRET,
            },
        )
        assert response.status_code in (200, 201), response.text
        phone, unlucky = handset(), handset()
        await handset_sends(server, phone, our_number, "Hi there 👋")
        response = await signed_request(
            server,
            "PUT",
            f"/admin/simulator/handsets/%2B{unlucky[1:]}",
            {"deliveryReport": "failed"},
        )
        assert response.status_code == 200, response.text

        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
        sms = SmsClient.from_connection_string(server.connection_string)
        delivered, failed = sms.send(
            from_=our_number,
            to=[phone, unlucky],
            message="report back",
            enable_delivery_report=True,
            tag="campaign-7",
        )
        quiet = sms.send(from_=our_number, to=phone, message="no report wanted")[0]

        def arrived() -> bool:
            return (
                len(sms_events(receiver, RECEIVED, phone)) == 1
                and len(sms_events(receiver, REPORT, phone)) == 1
                and len(sms_events(receiver, REPORT, unlucky)) == 1
            )

        await receiver.wait_until(arrived, within=20)
        [inbound] = sms_events(receiver, RECEIVED, phone)
        assert inbound["subject"] == f"/phonenumber/{our_number[1:]}"
        assert inbound["data"]["Message"] == "Hi there 👋"
        assert inbound["data"]["To"] == our_number
        assert inbound["data"]["MessageId"].startswith("Incoming_")
        [ok] = sms_events(receiver, REPORT, phone)
        assert ok["data"]["MessageId"] == delivered.message_id
        assert ok["data"]["DeliveryStatus"] == "Delivered"
        assert ok["data"]["Tag"] == "campaign-7"
        assert ok["data"]["DeliveryAttempts"][0]["SegmentsSucceeded"] == 1
        [bad] = sms_events(receiver, REPORT, unlucky)
        assert bad["data"]["MessageId"] == failed.message_id
        assert bad["data"]["DeliveryStatus"] == "Failed"
        # The report is also readable over HTTP (api-version 2026-01-23).
        report = await signed_request(
            server, "GET", f"/deliveryReports/{failed.message_id}?api-version=2026-01-23"
        )
        assert report.status_code == 200, report.text
        assert report.json()["deliveryStatus"] == "Failed"
        assert all(
            e["data"]["MessageId"] != quiet.message_id for e in sms_events(receiver, REPORT, phone)
        )
    finally:
        await receiver.stop()


async def test_opt_out_routes_add_check_and_remove(server: RunningServer, our_number: str) -> None:
    phone = handset()
    body = {"from": our_number, "recipients": [{"to": phone}, {"to": "bogus"}]}
    version = "?api-version=2026-01-23"
    added = await signed_request(server, "POST", f"/sms/optouts:add{version}", body)
    assert added.status_code == 200, added.text
    assert added.json()["value"] == [
        {"to": phone, "httpStatusCode": 200, "isOptedOut": True},
        {"to": "bogus", "httpStatusCode": 400, "errorMessage": "Invalid To phone number format."},
    ]
    checked = await signed_request(server, "POST", f"/sms/optouts:check{version}", body)
    assert checked.json()["value"][0]["isOptedOut"] is True
    await signed_request(server, "POST", f"/sms/optouts:remove{version}", body)
    checked = await signed_request(server, "POST", f"/sms/optouts:check{version}", body)
    assert checked.json()["value"][0]["isOptedOut"] is False
    refused = await signed_request(
        server,
        "POST",
        f"/sms/optouts:check{version}",
        {"from": "+18005559999", "recipients": [{"to": phone}]},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "InvalidSender"
