"""NumbersService on the in-memory stores: holds, purchases, releases, reservations,
capabilities and operations, with a fake clock and predictable ids (no database)."""

from __future__ import annotations

import itertools

import pytest

from switchboard.core.clock import FakeClock
from switchboard.core.errors import BadRequestError, PermissionDeniedError
from switchboard.numbers.inventory import Inventory, parse_number_block
from switchboard.numbers.memory import MemoryNumbers
from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    Capability,
    InvalidCapabilitiesError,
    InventoryNumber,
    OperationNotFoundError,
    PhoneNumberNotFoundError,
    PhoneNumberType,
    SearchCriteria,
    SearchNotFoundError,
)
from switchboard.numbers.service import SEARCH_HOLD_SECONDS, NumbersService
from switchboard.storage.operations import OperationStatus

pytestmark = pytest.mark.anyio

SMS_BOTH = Capabilities(Capability.NONE, Capability.INBOUND_OUTBOUND)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def service(clock: FakeClock) -> NumbersService:
    stores = MemoryNumbers()
    ids = (f"id-{n}" for n in itertools.count())
    numbers = NumbersService(
        stores.inventory,
        stores.catalog,
        stores.holds,
        stores.reservations,
        stores.operations,
        clock,
        new_id=lambda: next(ids),
    )
    await numbers.apply(Inventory(numbers=tuple(NUMBERS)))  # no demo: only these exist
    return numbers


NUMBERS: list[InventoryNumber] = parse_number_block(
    {
        "country_code": "US",
        "phone_number_type": "tollFree",
        "range_start": "+18885550100",
        "range_end": "+18885550103",
        "capabilities": {"calling": "inbound", "sms": "inbound+outbound"},
    }
)


def wanted(quantity: int, capabilities: Capabilities = SMS_BOTH) -> SearchCriteria:
    return SearchCriteria(
        "US", PhoneNumberType.TOLL_FREE, AssignmentType.APPLICATION, capabilities, None, quantity
    )


async def buy(service: NumbersService, quantity: int = 1) -> list[str]:
    _, search_id = await service.search(wanted(quantity))
    assert (await service.purchase(search_id)).status is OperationStatus.SUCCEEDED
    return list((await service.get_search(search_id)).phone_numbers)


async def test_two_searches_never_share_a_number(service: NumbersService) -> None:
    held: list[str] = []
    for _ in range(4):
        op, search_id = await service.search(wanted(1))
        assert op.resource_location == f"/availablePhoneNumbers/searchResults/{search_id}"
        held += (await service.get_search(search_id)).phone_numbers
    assert sorted(held) == [n.phone_number for n in NUMBERS]
    out_of_stock, _ = await service.search(wanted(1))
    assert out_of_stock.error is not None and out_of_stock.error[0] == "OutOfStock"


async def test_a_lapsed_hold_frees_the_number_and_spoils_the_purchase(
    service: NumbersService, clock: FakeClock
) -> None:
    _, first = await service.search(wanted(4))
    clock.advance(SEARCH_HOLD_SECONDS)
    _, second = await service.search(wanted(4))
    assert len((await service.get_search(second)).phone_numbers) == 4
    lapsed = await service.purchase(first)
    assert lapsed.error is not None and lapsed.error[0] == "ReservationExpired"
    assert (await service.purchase(second)).status is OperationStatus.SUCCEEDED


async def test_quantity_is_between_1_and_100(service: NumbersService) -> None:
    for quantity in (0, 101):
        with pytest.raises(BadRequestError, match="quantity"):
            await service.search(wanted(quantity))


async def test_unknown_searches_and_operations_are_not_found(service: NumbersService) -> None:
    with pytest.raises(SearchNotFoundError):
        await service.get_search("nope")
    with pytest.raises(SearchNotFoundError):
        await service.purchase("nope")
    with pytest.raises(OperationNotFoundError):
        await service.operation("search_nope")


async def test_a_purchased_number_is_owned_with_what_was_asked_for(
    service: NumbersService,
) -> None:
    [number] = await buy(service)
    owned = await service.owned_number(number)
    assert owned is not None
    assert (owned.sms, owned.calling, owned.carrier) == (
        Capability.INBOUND_OUTBOUND,
        Capability.NONE,
        "simulator",
    )
    assert [p.number.phone_number for p in await service.list_purchased(0, 10)] == [number]


async def test_capabilities_change_within_the_offer_only(service: NumbersService) -> None:
    [number] = await buy(service)
    op = await service.update_capabilities(number, Capability.INBOUND, Capability.OUTBOUND)
    assert op.resource_location == f"/phoneNumbers/{number}"
    changed = (await service.purchased(number)).capabilities
    assert changed == Capabilities(Capability.INBOUND, Capability.OUTBOUND)
    with pytest.raises(InvalidCapabilitiesError):
        await service.update_capabilities(number, Capability.OUTBOUND, None)
    with pytest.raises(PermissionDeniedError) as not_ours:  # 403, as ACS answers a PATCH
        await service.update_capabilities(NUMBERS[3].phone_number, None, Capability.NONE)
    assert (not_ours.value.error_code, not_ours.value.target) == (
        "InsufficientPermissions",
        "phonenumber",
    )


async def test_a_released_number_can_be_found_and_bought_again(service: NumbersService) -> None:
    bought = await buy(service, 4)
    await service.release(bought[0])
    with pytest.raises(PhoneNumberNotFoundError):
        await service.purchased(bought[0])
    assert await buy(service) == [bought[0]]


async def test_cancelling_a_search_frees_its_numbers_and_forgets_it(
    service: NumbersService,
) -> None:
    op, search_id = await service.search(wanted(4))
    await service.cancel_operation(op.id)
    with pytest.raises(OperationNotFoundError):
        await service.operation(op.id)
    assert len(await buy(service, 4)) == 4
    lapsed = await service.purchase(search_id)
    assert lapsed.status is OperationStatus.FAILED


async def test_reserved_numbers_are_held_from_searches(service: NumbersService) -> None:
    reservation, created, failures = await service.change_reservation(
        "r-1", {NUMBERS[0].id: (SMS_BOTH, None), NUMBERS[1].phone_number: (None, None)}
    )
    assert created and failures == []
    assert [r.number.phone_number for r in reservation.numbers] == [
        NUMBERS[0].phone_number,
        NUMBERS[1].phone_number,
    ]
    _, search_id = await service.search(wanted(4))
    assert (await service.get_search(search_id)).phone_numbers == tuple(
        n.phone_number for n in NUMBERS[2:]
    )
    _, _, failures = await service.change_reservation("r-2", {NUMBERS[2].id: (None, None)})
    assert [f.code for f in failures] == ["PhoneNumberNotAvailable"]  # the search holds it
    listed = await service.list_reservations(0, 10)  # r-2 exists, empty: as on ACS
    assert [(r.id, r.numbers) for r in listed] == [("r-1", ()), ("r-2", ())]
    await service.purchase_reservation("r-1")
    assert await service.owned_number(NUMBERS[0].phone_number) is not None


async def test_operator_information_knows_our_numbers_and_guesses_others(
    service: NumbersService,
) -> None:
    ours, theirs = NUMBERS[0].phone_number, "+442079460123"
    answers = await service.operator_information([ours, theirs], include_details=True)
    assert [(a.iso_country_code, a.number_type, a.operator) for a in answers] == [
        ("US", "other", "simulator"),
        ("GB", "unknown", None),
    ]
    assert answers[0].national_format == "(888) 555-0100"
    with pytest.raises(BadRequestError):
        await service.operator_information(["12345"], include_details=False)
