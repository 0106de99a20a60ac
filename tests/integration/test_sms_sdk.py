"""The official azure-communication-sms SDK (sync and async) against a running server, with
numbers bought through azure-communication-phonenumbers and the built-in simulator carrier."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.communication.phonenumbers import (
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)
from azure.communication.sms import SmsClient
from azure.communication.sms.aio import SmsClient as AsyncSmsClient
from azure.core.exceptions import HttpResponseError

from tests.integration.admin_http import signed_request
from tests.integration.server import RunningServer
from tests.integration.sms_helpers import (
    buy_number,
    handset,
    handset_sends,
    inbox_before_sentinel,
    wait_for_inbox,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def numbers_client(server: RunningServer) -> Iterator[PhoneNumbersClient]:
    # The client is not a context manager; it reads the CA from the environment per request.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
        yield PhoneNumbersClient.from_connection_string(server.connection_string)


@pytest.fixture(scope="module")
def our_number(numbers_client: PhoneNumbersClient) -> Iterator[str]:
    """A toll-free number with two-way SMS, bought for this module, released after it."""
    number = buy_number(
        numbers_client,
        sms=PhoneNumberCapabilityType.INBOUND_OUTBOUND,
        kind=PhoneNumberType.TOLL_FREE,
    )
    yield number
    numbers_client.begin_release_phone_number(number, polling_interval=0.05).result()


@pytest.fixture
def sms(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmsClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    yield SmsClient.from_connection_string(server.connection_string)


async def test_message_to_two_recipients_reaches_both_handsets(
    server: RunningServer, sms: SmsClient, our_number: str
) -> None:
    first, second = handset(), handset()
    results = sms.send(
        from_=our_number, to=[first, second], message="Hello from Switchboard", tag="greeting"
    )
    assert [r.to for r in results] == [first, second]
    assert all(r.successful and r.http_status_code == 202 for r in results)
    assert all(r.message_id.startswith("Outgoing_") for r in results)
    for number in (first, second):
        [received] = await wait_for_inbox(server, number, 1)
        assert received["from"] == our_number
        assert received["message"] == "Hello from Switchboard"


async def test_async_client_sends_a_long_unicode_message_in_segments(
    server: RunningServer, our_number: str
) -> None:
    to = handset()
    text = "Grüße aus Zürich — ☎ " * 10  # UCS-2: 210 characters → 4 segments of 67
    async with AsyncSmsClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as client:
        [result] = await client.send(from_=our_number, to=to, message=text)
    assert result.successful
    [received] = await wait_for_inbox(server, to, 1)
    assert received["message"] == text
    assert received["segments"] == 4


async def test_repeated_recipient_request_is_sent_once(
    server: RunningServer, our_number: str
) -> None:
    to = handset()
    repeat_id = str(uuid.uuid4())
    body = {
        "from": our_number,
        "smsRecipients": [{"to": to, "repeatabilityRequestId": repeat_id}],
        "message": "only once",
        "smsSendOptions": {"enableDeliveryReport": False},
    }
    first = await signed_request(server, "POST", "/sms?api-version=2021-03-07", body)
    again = await signed_request(server, "POST", "/sms?api-version=2021-03-07", body)
    assert first.status_code == again.status_code == 202
    [one], [two] = first.json()["value"], again.json()["value"]
    assert one["messageId"] == two["messageId"]
    assert two["repeatabilityResult"] == "accepted"
    [received] = await inbox_before_sentinel(server, our_number, to)  # and no second copy
    assert received["message"] in ("only once", "twice?")


def test_sender_that_is_not_our_number_is_refused(sms: SmsClient) -> None:
    with pytest.raises(HttpResponseError) as error:  # ClientAuthenticationError, as with ACS
        sms.send(from_="+18005559999", to=handset(), message="hi")
    assert error.value.status_code == 401
    assert "not a phone number of this resource" in str(error.value.message)


def test_number_without_sms_capability_cannot_send(
    sms: SmsClient, numbers_client: PhoneNumbersClient
) -> None:
    number = buy_number(
        numbers_client, sms=PhoneNumberCapabilityType.INBOUND, kind=PhoneNumberType.TOLL_FREE
    )
    try:
        with pytest.raises(HttpResponseError) as error:
            sms.send(from_=number, to=handset(), message="hi")
        assert error.value.status_code == 400
        assert "cannot send SMS" in str(error.value.message)
    finally:
        numbers_client.begin_release_phone_number(number, polling_interval=0.05).result()


def test_invalid_recipient_fails_only_that_recipient(sms: SmsClient, our_number: str) -> None:
    good = handset()
    results = sms.send(from_=our_number, to=[good, "12345"], message="hi")
    by_to = {r.to: r for r in results}
    assert by_to[good].successful
    assert not by_to["12345"].successful
    assert by_to["12345"].http_status_code == 400
    assert by_to["12345"].message_id is None


async def test_stop_opts_the_handset_out_and_start_opts_it_back_in(
    server: RunningServer, sms: SmsClient, our_number: str
) -> None:
    phone = handset()
    await handset_sends(server, phone, our_number, "STOP")
    [reply] = await wait_for_inbox(server, phone, 1)
    assert "unsubscribed" in reply["message"]
    [refused] = sms.send(from_=our_number, to=phone, message="are you there?")
    assert not refused.successful
    assert refused.http_status_code == 400
    assert "opted out" in refused.error_message
    await handset_sends(server, phone, our_number, "start")
    replies = await wait_for_inbox(server, phone, 2)
    assert "resubscribed" in replies[-1]["message"]
    [accepted] = sms.send(from_=our_number, to=phone, message="welcome back")
    assert accepted.successful
    assert (await wait_for_inbox(server, phone, 3))[-1]["message"] == "welcome back"


async def test_a_recipient_listed_twice_with_one_repeatability_id_is_sent_once(
    server: RunningServer, our_number: str
) -> None:
    to = handset()
    recipient = {"to": to, "repeatabilityRequestId": str(uuid.uuid4())}
    body = {"from": our_number, "smsRecipients": [recipient, recipient], "message": "twice?"}
    response = await signed_request(server, "POST", "/sms?api-version=2021-03-07", body)
    assert response.status_code == 202, response.text
    first, second = response.json()["value"]
    assert first["messageId"] == second["messageId"]
    [received] = await inbox_before_sentinel(server, our_number, to)  # and no second copy
    assert received["message"] in ("only once", "twice?")
