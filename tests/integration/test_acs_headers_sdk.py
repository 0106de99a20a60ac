"""What the recorded ACS traffic showed beyond bodies, seen through the official SDKs: the
headers every response carries, Rooms' Location, phone-number polls' Operation-Location, and
the api-versions that older and preview SDKs send (docs/conformance.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.identity import CommunicationIdentityClient
from azure.communication.phonenumbers import (
    PhoneNumberAssignmentType,
    PhoneNumberCapabilities,
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)
from azure.communication.rooms import RoomsClient
from azure.communication.rooms.aio import RoomsClient as AsyncRoomsClient
from azure.core.pipeline import PipelineResponse

from tests.integration.admin_http import signed_request
from tests.integration.server import RunningServer
from tests.integration.sms_helpers import buy_number, handset

pytestmark = pytest.mark.anyio


class Responses:
    """A ``raw_response_hook``: keeps the HTTP responses of one SDK call."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    def __call__(self, response: PipelineResponse[Any, Any]) -> None:
        self.headers.append({k.lower(): v for k, v in response.http_response.headers.items()})


@pytest.fixture
def ca_env(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    yield


def test_every_response_carries_ms_cv_and_the_supported_versions(
    server: RunningServer, ca_env: None
) -> None:
    seen = Responses()
    identity = CommunicationIdentityClient.from_connection_string(server.connection_string)
    identity.create_user(raw_response_hook=seen)
    numbers = PhoneNumbersClient.from_connection_string(server.connection_string)
    list(numbers.list_available_countries(raw_response_hook=seen))
    for headers in seen.headers:
        cv, _, step = headers["ms-cv"].partition(".")
        assert len(cv) == 22 and step == "0"  # base64 of 16 bytes, as ACS's
    assert "2023-10-01" in seen.headers[0]["api-supported-versions"].split(", ")
    assert "2023-10-01-preview" in seen.headers[1]["api-supported-versions"].split(", ")


async def test_errors_carry_them_too(server: RunningServer) -> None:
    missing = await signed_request(server, "GET", "/rooms/99000000000000001?api-version=2025-03-13")
    assert missing.status_code == 404
    assert "ms-cv" in missing.headers and "2025-03-13" in missing.headers["api-supported-versions"]
    nowhere = await signed_request(server, "GET", "/no-such-api")
    assert nowhere.status_code == 404 and "ms-cv" in nowhere.headers


def test_room_create_answers_a_full_location(server: RunningServer, ca_env: None) -> None:
    seen = Responses()
    with RoomsClient.from_connection_string(server.connection_string) as rooms:
        room = rooms.create_room(raw_response_hook=seen)
    assert seen.headers[-1]["location"] == f"{server.endpoint}/rooms/{room.id}"


async def test_async_room_create_answers_a_full_location(server: RunningServer) -> None:
    seen = Responses()
    async with AsyncRoomsClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as rooms:
        room = await rooms.create_room(raw_response_hook=seen)
    assert seen.headers[-1]["location"] == f"{server.endpoint}/rooms/{room.id}"


def test_phone_numbers_sdk_pinned_to_2023_10_01_preview_works(
    server: RunningServer, ca_env: None
) -> None:
    numbers = PhoneNumbersClient.from_connection_string(
        server.connection_string, api_version="2023-10-01-preview"
    )
    search = numbers.begin_search_available_phone_numbers(
        "US",
        PhoneNumberType.TOLL_FREE,
        PhoneNumberAssignmentType.APPLICATION,
        PhoneNumberCapabilities(
            calling=PhoneNumberCapabilityType.NONE, sms=PhoneNumberCapabilityType.OUTBOUND
        ),
        polling_interval=0,
    ).result()
    assert len(search.phone_numbers) == 1
    numbers.begin_purchase_phone_numbers(search.search_id, polling_interval=0).result()
    bodies: list[dict[str, Any]] = []

    def keep_body(response: PipelineResponse[Any, Any]) -> None:
        bodies.append(response.http_response.json())

    number = search.phone_numbers[0]
    bought = numbers.get_purchased_phone_number(number, raw_response_hook=keep_body)
    assert bought.phone_number == number
    # That preview also named the operator (as its recording shows); the GA versions do not.
    assert bodies[-1]["phoneNumberSource"] == "cloud" and bodies[-1]["operatorName"]
    current = PhoneNumbersClient.from_connection_string(server.connection_string)
    current.get_purchased_phone_number(number, raw_response_hook=keep_body)
    assert "operatorName" not in bodies[-1]


async def test_a_phone_number_poll_echoes_its_operation_location(server: RunningServer) -> None:
    body = {
        "phoneNumberType": "tollFree",
        "assignmentType": "application",
        "capabilities": {"calling": "none", "sms": "outbound"},
    }
    version = "api-version=2025-06-01"
    started = await signed_request(
        server, "POST", f"/availablePhoneNumbers/countries/US/:search?{version}", body
    )
    assert started.status_code == 202
    where = started.headers["operation-location"]
    polled = await signed_request(server, "GET", where)
    assert polled.status_code == 200
    assert polled.headers["operation-location"] == where


async def test_sms_at_the_2025_05_29_preview_version_is_served(
    server: RunningServer, ca_env: None
) -> None:
    numbers = PhoneNumbersClient.from_connection_string(server.connection_string)
    sender = buy_number(
        numbers, sms=PhoneNumberCapabilityType.OUTBOUND, kind=PhoneNumberType.TOLL_FREE
    )
    body = {
        "from": sender,
        "smsRecipients": [{"to": handset()}, {"to": "Ad155500000000000"}],
        "message": "hello",
        "smsSendOptions": {"enableDeliveryReport": False},
    }
    sent = await signed_request(server, "POST", "/sms?api-version=2025-05-29-preview", body)
    assert sent.status_code == 202, sent.text
    good, bad = sent.json()["value"]
    assert (good["successful"], good["httpStatusCode"]) == (True, 202)
    assert (bad["successful"], bad["httpStatusCode"]) == (False, 400)
