"""The official azure-communication-phonenumbers SDK, sync and async, against a real server.

The server starts with the simulator's demo inventory. Tests share one server per database,
so each works in its own part of it (an area code, a country) and releases what it buys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from azure.communication.phonenumbers import (
    PhoneNumberAssignmentType,
    PhoneNumberCapabilities,
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)
from azure.communication.phonenumbers.aio import PhoneNumbersClient as AsyncPhoneNumbersClient
from azure.communication.sms import SmsClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.integration.server import RunningServer

T = TypeVar("T")


def some(value: T | None) -> T:
    """The SDK types every response field as optional; these are always present."""
    assert value is not None
    return value


BOTH = PhoneNumberCapabilities(
    calling=PhoneNumberCapabilityType.INBOUND_OUTBOUND,
    sms=PhoneNumberCapabilityType.INBOUND_OUTBOUND,
)
APP = PhoneNumberAssignmentType.APPLICATION
GEO = PhoneNumberType.GEOGRAPHIC


@pytest.fixture
def client(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[PhoneNumbersClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    yield PhoneNumbersClient.from_connection_string(server.connection_string)


def purchased(client: PhoneNumbersClient) -> set[str]:
    return {n.phone_number for n in client.list_purchased_phone_numbers()}


def test_catalogue_describes_the_demo_inventory(client: PhoneNumbersClient) -> None:
    countries = {c.country_code: c.localized_name for c in client.list_available_countries()}
    assert countries["US"] == "United States"
    assert {"CA", "GB", "FR"} <= set(countries)
    pages = list(client.list_available_countries(max_page_size=2).by_page())
    assert [len(list(page)) for page in pages][:2] == [2, 2]

    localities = {
        (loc.localized_name, some(loc.administrative_division).abbreviated_name)
        for loc in client.list_available_localities("US", phone_number_type=GEO)
    }
    assert {("Redmond", "WA"), ("Seattle", "WA"), ("New York", "NY")} <= localities
    in_ny = [
        loc.localized_name
        for loc in client.list_available_localities("US", administrative_division="NY")
    ]
    assert in_ny == ["New York"]

    geographic = {a.area_code for a in client.list_available_area_codes("US", GEO)}
    assert {"425", "206", "212"} <= geographic
    redmond = [a.area_code for a in client.list_available_area_codes("US", GEO, locality="Redmond")]
    assert redmond == ["425"]
    toll_free = {
        a.area_code for a in client.list_available_area_codes("US", PhoneNumberType.TOLL_FREE)
    }
    assert toll_free == {"800", "833"}

    offers = list(
        client.list_available_offerings("US", phone_number_type=PhoneNumberType.TOLL_FREE)
    )
    capabilities = [some(o.available_capabilities) for o in offers]
    assert {(c.calling, c.sms) for c in capabilities} == {
        ("inbound+outbound", "inbound+outbound"),
        ("inbound", "inbound+outbound"),
    }
    assert {(o.cost.amount, o.cost.currency_code, o.cost.billing_frequency) for o in offers} == {
        (2.0, "USD", "monthly")
    }


def test_search_purchase_send_update_and_release(
    client: PhoneNumbersClient, server: RunningServer
) -> None:
    search = client.begin_search_available_phone_numbers(
        "US", GEO, APP, BOTH, area_code="425", quantity=2, polling_interval=0
    ).result()
    assert len(search.phone_numbers) == 2
    assert all(n.startswith("+1425555") for n in search.phone_numbers)
    assert (search.cost.amount, search.cost.currency_code) == (1.0, "USD")
    expires = search.search_expires_by
    assert datetime.now(UTC) < expires < datetime.now(UTC) + timedelta(minutes=16)

    client.begin_purchase_phone_numbers(search.search_id, polling_interval=0).result()
    assert set(search.phone_numbers) <= purchased(client)
    first, second = search.phone_numbers
    owned = client.get_purchased_phone_number(first)
    assert (owned.phone_number, owned.id, owned.country_code) == (first, first[1:], "US")
    assert (owned.phone_number_type, owned.assignment_type) == ("geographic", "application")
    assert owned.capabilities.sms == "inbound+outbound"
    assert owned.purchase_date is not None and owned.cost.amount == 1.0
    sms = SmsClient.from_connection_string(server.connection_string)
    (sent,) = sms.send(from_=first, to="+14255550999", message="hello from a bought number")
    assert sent.successful, sent.error_message

    updated = client.begin_update_phone_number_capabilities(
        first,
        sms=PhoneNumberCapabilityType.OUTBOUND,
        calling=PhoneNumberCapabilityType.INBOUND,
        polling_interval=0,
    ).result()
    assert (updated.capabilities.calling, updated.capabilities.sms) == ("inbound", "outbound")
    assert client.get_purchased_phone_number(first).capabilities.sms == "outbound"

    # Bought numbers are no longer offered; released ones are offered again.
    offered = client.browse_available_phone_numbers(
        country_code="US", phone_number_type=GEO, phone_number_prefixes=[first]
    )
    assert offered.phone_numbers == []
    for number in (first, second):
        client.begin_release_phone_number(number, polling_interval=0).result()
        with pytest.raises(ResourceNotFoundError):
            client.get_purchased_phone_number(number)
    with pytest.raises(HttpResponseError):  # released: no longer this resource's sender
        sms.send(from_=first, to="+14255550999", message="too late")
    offered = client.browse_available_phone_numbers(
        country_code="US", phone_number_type=GEO, phone_number_prefixes=[first]
    )
    assert [n.phone_number for n in offered.phone_numbers] == [first]
    assert offered.phone_numbers[0].capabilities.sms == "inbound+outbound"


def test_a_search_holds_its_numbers_from_other_searches(client: PhoneNumbersClient) -> None:
    def search(quantity: int) -> list[str]:
        poller = client.begin_search_available_phone_numbers(
            "US", GEO, APP, BOTH, area_code="206", quantity=quantity, polling_interval=0
        )
        return list(poller.result().phone_numbers)

    first = search(30)
    second = search(80)  # the block has 100: only 70 are not held by the first search
    assert len(first) == 30 and len(second) == 70
    assert not set(first) & set(second)
    with pytest.raises(HttpResponseError) as caught:
        search(1)
    assert caught.value.error is not None and caught.value.error.code == "OutOfStock"
    browsed = client.browse_available_phone_numbers(
        country_code="US", phone_number_type=GEO, phone_number_prefixes=["+1206"]
    )
    assert browsed.phone_numbers == []


def test_errors_come_back_in_the_acs_shape(client: PhoneNumbersClient) -> None:
    with pytest.raises(ResourceNotFoundError) as missing:
        client.get_purchased_phone_number("+14255559999")
    assert missing.value.error is not None  # ACS's code and target for a number not ours
    assert (missing.value.error.code, missing.value.error.target) == ("NotFound", "phonenumber")
    with pytest.raises(ResourceNotFoundError):
        client.begin_release_phone_number("+14255559999", polling_interval=0)
    with pytest.raises(ResourceNotFoundError):
        client.begin_purchase_phone_numbers("no-such-search", polling_interval=0)
    with pytest.raises(HttpResponseError) as bad:
        client.begin_search_available_phone_numbers("US", "landline", APP, BOTH)
    assert bad.value.status_code == 400 and "landline" in str(bad.value.message)
    with pytest.raises(HttpResponseError) as bad:
        client.list_available_area_codes("US", "landline").next()
    assert bad.value.status_code == 400
    with pytest.raises(HttpResponseError) as unknown_country:  # at once, not a failed LRO
        client.begin_search_available_phone_numbers("XX", GEO, APP, BOTH, polling_interval=0)
    assert unknown_country.value.status_code == 400
    assert unknown_country.value.error is not None
    assert unknown_country.value.error.code == "InvalidInput"
    with pytest.raises(HttpResponseError) as none_left:
        client.begin_search_available_phone_numbers(
            "US", GEO, APP, BOTH, area_code="999", polling_interval=0
        ).result()
    assert none_left.value.error is not None and none_left.value.error.code == "OutOfStock"

    # 833 toll-free numbers offer inbound calling only: outbound cannot be switched on.
    inbound_only = PhoneNumberCapabilities(calling="inbound", sms="inbound+outbound")
    search = client.begin_search_available_phone_numbers(
        "US", PhoneNumberType.TOLL_FREE, APP, inbound_only, area_code="833", polling_interval=0
    ).result()
    number = search.phone_numbers[0]
    client.begin_purchase_phone_numbers(search.search_id, polling_interval=0).result()
    with pytest.raises(HttpResponseError) as refused:
        client.begin_update_phone_number_capabilities(
            number, calling="inbound+outbound", polling_interval=0
        )
    assert refused.value.status_code == 400
    client.begin_release_phone_number(number, polling_interval=0).result()
    with pytest.raises(HttpResponseError) as not_ours:  # released: no longer ours to change
        client.begin_update_phone_number_capabilities(number, sms="none", polling_interval=0)
    assert not_ours.value.status_code == 403
    assert not_ours.value.error is not None
    assert not_ours.value.error.code == "InsufficientPermissions"


def test_reservations(client: PhoneNumbersClient) -> None:
    browsed = client.browse_available_phone_numbers(
        country_code="CA", phone_number_type=GEO, sms_capability="outbound"
    ).phone_numbers
    assert len(browsed) >= 3 and all(n.country_code == "CA" for n in browsed)
    keep, drop, other = browsed[:3]
    keep_number, drop_number = some(keep.phone_number), some(drop.phone_number)
    reservation_id = str(uuid.uuid4())

    made = client.create_or_update_reservation(
        reservation_id=reservation_id, numbers_to_add=[keep, drop]
    )
    assert made.id == reservation_id and made.status == "active"
    assert set(some(made.phone_numbers)) == {keep.id, drop.id}
    assert {n.status for n in some(made.phone_numbers).values()} == {"reserved"}
    assert some(made.expires_at) > datetime.now(UTC)
    # Reserved numbers are held: browsing no longer offers them.
    again = client.browse_available_phone_numbers(
        country_code="CA", phone_number_type=GEO, phone_number_prefixes=[keep_number]
    )
    assert again.phone_numbers == []

    changed = client.create_or_update_reservation(
        reservation_id=reservation_id, numbers_to_remove=[drop_number]
    )
    assert set(some(changed.phone_numbers)) == {keep.id}
    assert set(some(client.get_reservation(reservation_id).phone_numbers)) == {keep.id}
    assert reservation_id in {r.id for r in client.list_reservations()}

    client.begin_purchase_reservation(reservation_id, polling_interval=0).result()
    assert client.get_reservation(reservation_id).status == "completed"
    assert client.get_purchased_phone_number(keep_number).country_code == "CA"
    with pytest.raises(HttpResponseError) as done:
        client.create_or_update_reservation(reservation_id=reservation_id, numbers_to_add=[other])
    assert done.value.status_code == 409

    doomed = str(uuid.uuid4())
    client.create_or_update_reservation(reservation_id=doomed, numbers_to_add=[other])
    client.delete_reservation(doomed)
    with pytest.raises(ResourceNotFoundError):
        client.get_reservation(doomed)
    client.begin_release_phone_number(keep_number, polling_interval=0).result()


def test_operator_information(client: PhoneNumbersClient) -> None:
    result = client.search_operator_information(["+14255550150", "+447700900001"])
    first, second = some(result.values)
    assert (first.phone_number, first.iso_country_code, first.number_type) == (
        "+14255550150",
        "US",
        "geographic",
    )
    assert first.international_format == "+1 425-555-0150"
    assert (second.iso_country_code, second.number_type) == ("GB", "mobile")


@pytest.mark.anyio
async def test_async_client_search_purchase_reserve_and_release(server: RunningServer) -> None:
    async with AsyncPhoneNumbersClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as client:
        countries = [c.country_code async for c in client.list_available_countries()]
        assert "US" in countries
        offers = [o async for o in client.list_available_offerings("GB")]
        assert {o.phone_number_type for o in offers} == {"geographic", "mobile"}

        poller = await client.begin_search_available_phone_numbers(
            "US",
            PhoneNumberType.TOLL_FREE,
            APP,
            BOTH,
            area_code="800",
            quantity=1,
            polling_interval=0,
        )
        search = await poller.result()
        (number,) = search.phone_numbers
        await (
            await client.begin_purchase_phone_numbers(search.search_id, polling_interval=0)
        ).result()
        owned = [n.phone_number async for n in client.list_purchased_phone_numbers()]
        assert number in owned
        assert (await client.get_purchased_phone_number(number)).phone_number_type == "tollFree"
        update = await client.begin_update_phone_number_capabilities(
            number, sms="inbound", polling_interval=0
        )
        assert (await update.result()).capabilities.sms == "inbound"
        await (await client.begin_release_phone_number(number, polling_interval=0)).result()
        with pytest.raises(ResourceNotFoundError):
            await client.get_purchased_phone_number(number)

        browsed = (
            await client.browse_available_phone_numbers(
                country_code="GB", phone_number_type=PhoneNumberType.MOBILE
            )
        ).phone_numbers
        reservation_id = str(uuid.uuid4())
        made = await client.create_or_update_reservation(
            reservation_id=reservation_id, numbers_to_add=browsed[:1]
        )
        assert set(some(made.phone_numbers)) == {browsed[0].id}
        assert (await client.get_reservation(reservation_id)).status == "active"
        assert reservation_id in [r.id async for r in client.list_reservations()]
        purchase = await client.begin_purchase_reservation(reservation_id, polling_interval=0)
        await purchase.result()
        mobile = some(browsed[0].phone_number)
        assert (await client.get_purchased_phone_number(mobile)).country_code == "GB"
        await (await client.begin_release_phone_number(mobile, polling_interval=0)).result()

        with pytest.raises(HttpResponseError) as bad:
            await client.begin_search_available_phone_numbers("US", "landline", APP, BOTH)
        assert bad.value.status_code == 400
        with pytest.raises(ResourceNotFoundError):
            await client.get_reservation(str(uuid.uuid4()))
        info = await client.search_operator_information("+33199000101")
        assert some(info.values)[0].iso_country_code == "FR"
