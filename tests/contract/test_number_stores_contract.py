"""The number stores' contract, through NumbersService with a fake clock: in memory
(MemoryNumbers), and the SQL stores on SQLite and PostgreSQL.

The PostgreSQL database is shared by the whole session (and the demo inventory lives in
it), so every test works on its own numbers: a fresh area code no other test uses.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from switchboard.core.clock import FakeClock
from switchboard.numbers.inventory import Inventory, parse_carrier, parse_number_block
from switchboard.numbers.memory import MemoryNumbers
from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    Capability,
    CarrierInUseError,
    Cost,
    InvalidCapabilitiesError,
    InvalidInventoryError,
    InventoryNumber,
    Locality,
    NumberState,
    PhoneNumberNotFoundError,
    PhoneNumberType,
    ReservationNotActiveError,
    ReservationNotFoundError,
    ReservationStatus,
    SearchCriteria,
)
from switchboard.numbers.reservations import RESERVATION_MAX_MS
from switchboard.numbers.service import SEARCH_HOLD_SECONDS, NumbersService
from switchboard.numbers.sql_stores import sql_numbers_service
from switchboard.storage.database import Database
from switchboard.storage.operations import OperationStatus

pytestmark = pytest.mark.anyio

BOTH = Capabilities(Capability.INBOUND_OUTBOUND, Capability.INBOUND_OUTBOUND)


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


ServiceFactory = Callable[[FakeClock], NumbersService]


@pytest.fixture
async def make_service(backend_url: str | None) -> AsyncIterator[ServiceFactory]:
    """A new service over the same stores each call (as a restarted node would get)."""
    if backend_url is None:
        numbers = MemoryNumbers()
        yield lambda clock: NumbersService(
            numbers.inventory,
            numbers.catalog,
            numbers.holds,
            numbers.reservations,
            numbers.operations,
            clock,
        )
        return
    database = Database(backend_url)
    await database.start()
    try:
        yield lambda clock: sql_numbers_service(database, clock)
    finally:
        await database.stop()


@pytest.fixture
async def service(make_service: ServiceFactory, clock: FakeClock) -> NumbersService:
    numbers = make_service(clock)
    await numbers.start()
    return numbers


def block(
    count: int, *, carrier: str = "simulator", sms: str = "inbound+outbound"
) -> list[InventoryNumber]:
    """``count`` numbers under an area code (and number prefix) no other test uses."""
    area = str(random.randrange(10**7, 10**8))
    start = f"+1{area}00"
    end = f"+1{area}{count - 1:02d}"
    entry = {
        "carrier": carrier,
        "country_code": "US",
        "phone_number_type": "geographic",
        "range_start": start,
        "range_end": end,
        "area_code": area,
        "capabilities": {"calling": "inbound", "sms": sms},
    }
    return parse_number_block(entry)


def criteria(numbers: list[InventoryNumber], quantity: int, **caps: Capability) -> SearchCriteria:
    wanted = Capabilities(caps.get("calling", Capability.INBOUND), caps.get("sms", Capability.NONE))
    return SearchCriteria(
        country_code="US",
        phone_number_type=PhoneNumberType.GEOGRAPHIC,
        assignment_type=AssignmentType.APPLICATION,
        capabilities=wanted,
        area_code=numbers[0].area_code,
        quantity=quantity,
    )


async def test_a_search_holds_numbers_until_it_expires(
    service: NumbersService, clock: FakeClock
) -> None:
    numbers = block(5)
    await service.apply(Inventory(numbers=tuple(numbers)))
    first_op, first_id = await service.search(criteria(numbers, 3))
    assert first_op.status is OperationStatus.SUCCEEDED
    first = await service.get_search(first_id)
    _, second_id = await service.search(criteria(numbers, 3))
    second = await service.get_search(second_id)
    assert len(first.phone_numbers) == 3 and len(second.phone_numbers) == 2
    assert not set(first.phone_numbers) & set(second.phone_numbers)
    failed, _ = await service.search(criteria(numbers, 1))
    assert failed.status is OperationStatus.FAILED
    assert failed.error is not None and failed.error[0] == "OutOfStock"

    clock.advance(SEARCH_HOLD_SECONDS + 1)
    _, third_id = await service.search(criteria(numbers, 5))
    assert len((await service.get_search(third_id)).phone_numbers) == 5
    # The first search lapsed and its numbers went to the third: buying it now fails.
    purchase = await service.purchase(first_id)
    assert purchase.status is OperationStatus.FAILED
    assert await service.owned_number(first.phone_numbers[0]) is None


async def test_purchase_is_all_or_nothing_and_only_once(service: NumbersService) -> None:
    numbers = block(2)
    await service.apply(Inventory(numbers=tuple(numbers)))
    _, search_id = await service.search(criteria(numbers, 2, sms=Capability.OUTBOUND))
    assert (await service.purchase(search_id)).status is OperationStatus.SUCCEEDED
    again = await service.purchase(search_id)
    assert again.status is OperationStatus.FAILED
    owned = await service.owned_number(numbers[0].phone_number)
    assert owned is not None
    assert (owned.carrier, owned.country_code, owned.phone_number_type) == (
        "simulator",
        "US",
        "geographic",
    )
    # The number carries what the search asked for, not all the inventory offers.
    assert (owned.calling, owned.sms) == (Capability.INBOUND, Capability.OUTBOUND)
    assert owned.sms.allows_outbound and not owned.sms.allows_inbound


async def test_capabilities_can_change_only_within_what_the_carrier_offers(
    service: NumbersService,
) -> None:
    numbers = block(1, sms="outbound")
    await service.apply(Inventory(numbers=tuple(numbers)))
    _, search_id = await service.search(criteria(numbers, 1))
    await service.purchase(search_id)
    number = numbers[0].phone_number
    await service.update_capabilities(number, None, Capability.OUTBOUND)
    assert (await service.purchased(number)).capabilities.sms is Capability.OUTBOUND
    with pytest.raises(InvalidCapabilitiesError):
        await service.update_capabilities(number, None, Capability.INBOUND)
    with pytest.raises(InvalidCapabilitiesError):
        await service.update_capabilities(number, Capability.OUTBOUND, None)


async def test_a_released_number_is_offered_again_with_its_original_capabilities(
    service: NumbersService,
) -> None:
    numbers = block(1)
    await service.apply(Inventory(numbers=tuple(numbers)))
    number = numbers[0].phone_number
    _, search_id = await service.search(criteria(numbers, 1, calling=Capability.NONE))
    await service.purchase(search_id)
    await service.release(number)
    assert await service.owned_number(number) is None
    with pytest.raises(PhoneNumberNotFoundError):
        await service.release(number)
    found = await service.browse(
        "US",
        PhoneNumberType.GEOGRAPHIC,
        calling=None,
        sms=None,
        assignment_type=None,
        prefixes=[number],
    )
    assert [n.capabilities for n in found] == [numbers[0].capabilities]


async def test_a_reservation_expires_and_lives_at_most_two_hours(
    service: NumbersService, clock: FakeClock
) -> None:
    numbers = block(3)
    await service.apply(Inventory(numbers=tuple(numbers)))
    rid = str(uuid.uuid4())
    a, b, c = (n.id for n in numbers)
    made, created, failures = await service.change_reservation(rid, {a: (None, None)})
    assert created and not failures
    for _ in range(8):  # each change extends by 15 minutes, capped at 2 hours after creation
        clock.advance(14 * 60)
        made, created, _ = await service.change_reservation(rid, {b: (None, None)})
        assert not created
    assert made.expires_ms == made.created_ms + RESERVATION_MAX_MS
    # A held number cannot go into another reservation; a missing one is reported per number.
    other = str(uuid.uuid4())
    _, _, failures = await service.change_reservation(other, {a: (None, None), "15550000000": None})
    assert [f.code for f in failures] == ["PhoneNumberNotAvailable"]
    _, _, failures = await service.change_reservation(other, {"+19999999999999": (None, None)})
    assert [f.code for f in failures] == ["PhoneNumberNotFound"]

    clock.advance(RESERVATION_MAX_MS / 1000)
    with pytest.raises(ReservationNotActiveError):
        await service.change_reservation(rid, {c: (None, None)})
    with pytest.raises(ReservationNotActiveError):
        await service.purchase_reservation(rid)
    # Its numbers are free again.
    _, _, failures = await service.change_reservation(str(uuid.uuid4()), {a: (None, None)})
    assert failures == []


async def test_reserving_asks_for_capabilities_within_the_offer(service: NumbersService) -> None:
    numbers = block(1, sms="none")
    await service.apply(Inventory(numbers=tuple(numbers)))
    _, _, failures = await service.change_reservation(
        str(uuid.uuid4()), {numbers[0].id: (BOTH, None)}
    )
    assert [f.code for f in failures] == ["InvalidCapabilities"]


async def test_the_demo_inventory_loads_once(
    make_service: ServiceFactory, clock: FakeClock
) -> None:
    first = make_service(clock)
    await first.start()
    removed = await first.inventory.remove_numbers(["+14255550177"])
    again = make_service(clock)
    await again.start()
    page = await again.inventory.list_numbers(None, again.now_ms(), "+14255550176", 1)
    if removed:  # PostgreSQL's shared database: another test may have bought it
        assert [n.phone_number for n, _ in page] != ["+14255550177"]
    assert any(c.name == "simulator" for c in await again.carriers())


async def test_applying_the_config_again_updates_descriptions_not_state(
    service: NumbersService,
) -> None:
    numbers = block(1)
    await service.apply(Inventory(numbers=tuple(numbers)))
    _, search_id = await service.search(criteria(numbers, 1))
    await service.purchase(search_id)
    relabelled = parse_number_block(
        {
            "country_code": "US",
            "phone_number_type": "geographic",
            "numbers": [numbers[0].phone_number],
            "area_code": numbers[0].area_code,
            "locality": "Elsewhere",
        }
    )
    assert await service.apply(Inventory(numbers=tuple(relabelled))) == 0
    bought = await service.purchased(numbers[0].phone_number)
    assert bought.number.locality == "Elsewhere"
    assert bought.capabilities.calling is Capability.INBOUND


async def test_a_carrier_with_purchased_numbers_cannot_be_removed(service: NumbersService) -> None:
    name = f"smsc-{uuid.uuid4().hex[:8]}"
    carrier = parse_carrier({"name": name, "kind": "smpp", "host": "smsc.example"})
    numbers = block(2, carrier=name)
    await service.apply(Inventory(carriers=(carrier,), numbers=tuple(numbers)))
    assert carrier in await service.carriers()
    _, search_id = await service.search(criteria(numbers, 1))
    await service.purchase(search_id)
    with pytest.raises(CarrierInUseError):
        await service.inventory.remove_carrier(name)
    await service.release((await service.get_search(search_id)).phone_numbers[0])
    assert await service.inventory.remove_carrier(name) == 2
    assert all(c.name != name for c in await service.carriers())
    states = await service.inventory.list_numbers(
        NumberState.AVAILABLE, service.now_ms(), numbers[0].phone_number[:-2], 5
    )
    assert all(n.carrier != name for n, _ in states)


def described(count: int, **extra: object) -> list[InventoryNumber]:
    """Like ``block``, with a locality, division and cost no other test uses."""
    area = str(random.randrange(10**7, 10**8))
    entry: dict[str, object] = {
        "country_code": "US",
        "phone_number_type": "geographic",
        "range_start": f"+1{area}00",
        "range_end": f"+1{area}{count - 1:02d}",
        "area_code": area,
        "locality": f"Town {uuid.uuid4().hex[:8]}",
        "administrative_division": "ZZ",
        "capabilities": {"calling": "inbound", "sms": "none"},
        "cost": {"amount": random.randrange(10**6) / 100 + 10, "currency": "USD"},
    }
    entry.update(extra)
    return parse_number_block(entry)


async def test_the_catalog_offers_only_what_is_available(service: NumbersService) -> None:
    numbers = described(2)
    await service.apply(Inventory(numbers=tuple(numbers)))
    town, area = numbers[0].locality, numbers[0].area_code
    assert town is not None and area is not None
    geographic = PhoneNumberType.GEOGRAPHIC
    offer = (numbers[0].cost, numbers[0].capabilities)

    async def offered() -> list[tuple[Cost, Capabilities]]:
        return [(o.cost, o.capabilities) for o in await service.offerings("US", None, None)]

    assert Locality(town, "ZZ") in await service.localities("us", None, "zz")
    assert await service.area_codes("US", geographic, None, town.upper(), None) == [area]
    assert offer in await offered()
    assert "US" in await service.countries()

    _, search_id = await service.search(criteria(numbers, 2))
    assert Locality(town, "ZZ") not in await service.localities("US", geographic, "ZZ")
    assert await service.area_codes("US", geographic, None, town, None) == []
    assert offer not in [
        (o.cost, o.capabilities) for o in await service.offerings("US", None, None)
    ]
    await service.cancel_operation(f"search_{search_id}")  # the hold ends at once
    assert await service.area_codes("US", geographic, None, town, None) == [area]


async def test_browsing_matches_capabilities_and_prefixes_and_holds_nothing(
    service: NumbersService,
) -> None:
    numbers = described(3, capabilities={"calling": "inbound+outbound", "sms": "outbound"})
    await service.apply(Inventory(numbers=tuple(numbers)))
    prefix = numbers[0].phone_number[:-2]

    async def browse(**caps: Capability | None) -> list[str]:
        found = await service.browse(
            "US",
            PhoneNumberType.GEOGRAPHIC,
            calling=caps.get("calling"),
            sms=caps.get("sms"),
            assignment_type=AssignmentType.APPLICATION,
            prefixes=[prefix],
        )
        return [n.phone_number for n in found]

    everything = [n.phone_number for n in numbers]
    assert await browse() == everything
    assert await browse(calling=Capability.OUTBOUND, sms=Capability.OUTBOUND) == everything
    assert await browse(sms=Capability.INBOUND) == []
    await service.search(criteria(numbers, 1))
    assert await browse() == everything[1:]  # the held one is not offered


async def test_a_search_holds_one_offer_only(service: NumbersService) -> None:
    numbers = described(4)
    dearer = [dataclasses.replace(n, cost=Cost(n.cost.amount + 1, "USD")) for n in numbers[:2]]
    await service.apply(Inventory(numbers=(*dearer, *numbers[2:])))
    _, search_id = await service.search(criteria(numbers, 4))
    search = await service.get_search(search_id)
    assert search.phone_numbers == tuple(n.phone_number for n in dearer)
    assert search.cost == dearer[0].cost
    # The other offer was let go again: a second search gets it.
    _, other_id = await service.search(criteria(numbers, 4))
    other = await service.get_search(other_id)
    assert other.phone_numbers == tuple(n.phone_number for n in numbers[2:])


async def test_listing_numbers_shows_their_state(service: NumbersService) -> None:
    numbers = block(3)
    await service.apply(Inventory(numbers=tuple(numbers)))
    _, held_id = await service.search(criteria(numbers, 1))
    _, bought_id = await service.search(criteria(numbers, 1))
    await service.purchase(bought_id)
    after = numbers[0].phone_number[:-2]
    listed = await service.inventory.list_numbers(None, service.now_ms(), after, 3)
    assert [(n.phone_number, s) for n, s in listed] == [
        (numbers[0].phone_number, NumberState.HELD),
        (numbers[1].phone_number, NumberState.PURCHASED),
        (numbers[2].phone_number, NumberState.AVAILABLE),
    ]
    held = await service.inventory.list_numbers(NumberState.HELD, service.now_ms(), after, 3)
    assert [n.phone_number for n, _ in held][:1] == [numbers[0].phone_number]
    assert (await service.get_search(held_id)).phone_numbers == (numbers[0].phone_number,)


async def test_removing_numbers_keeps_the_purchased_ones(service: NumbersService) -> None:
    numbers = block(2)
    await service.apply(Inventory(numbers=tuple(numbers)))
    _, search_id = await service.search(criteria(numbers, 1))
    await service.purchase(search_id)
    removed = await service.inventory.remove_numbers([n.phone_number for n in numbers])
    assert removed == 1
    assert await service.owned_number(numbers[0].phone_number) is not None


async def test_numbers_of_an_unknown_carrier_are_refused_whole(service: NumbersService) -> None:
    numbers = block(1) + block(1, carrier=f"nobody-{uuid.uuid4().hex[:6]}")
    with pytest.raises(InvalidInventoryError):
        await service.inventory.add_numbers(numbers, service.now_ms())
    found = await service.inventory.list_numbers(
        None, service.now_ms(), numbers[0].phone_number[:-1], 1
    )
    assert [n.phone_number for n, _ in found] != [numbers[0].phone_number]


async def test_a_purchased_reservation_owns_its_numbers_as_reserved(
    service: NumbersService,
) -> None:
    numbers = block(2)
    await service.apply(Inventory(numbers=tuple(numbers)))
    rid = str(uuid.uuid4())
    calling_only = Capabilities(Capability.INBOUND, Capability.NONE)
    await service.change_reservation(
        rid, {numbers[0].id: (calling_only, AssignmentType.PERSON), numbers[1].id: (None, None)}
    )
    await service.change_reservation(rid, {numbers[1].id: None})  # removed again
    bought = await service.purchase_reservation(rid)
    assert bought.status is OperationStatus.SUCCEEDED
    reservation = await service.reservation(rid)
    assert reservation.status is ReservationStatus.COMPLETED
    owned = await service.purchased(numbers[0].phone_number)
    assert (owned.capabilities, owned.assignment_type) == (calling_only, AssignmentType.PERSON)
    assert await service.owned_number(numbers[1].phone_number) is None
    with pytest.raises(ReservationNotActiveError):
        await service.delete_reservation(rid)
    with pytest.raises(ReservationNotActiveError, match="no phone numbers"):
        empty = str(uuid.uuid4())
        await service.change_reservation(empty, {})
        await service.purchase_reservation(empty)


async def test_deleting_a_reservation_frees_its_numbers(service: NumbersService) -> None:
    numbers = block(1)
    await service.apply(Inventory(numbers=tuple(numbers)))
    rid = str(uuid.uuid4())
    await service.change_reservation(rid, {numbers[0].id: (None, None)})
    failed, _ = await service.search(criteria(numbers, 1))
    assert failed.status is OperationStatus.FAILED  # held by the reservation
    await service.delete_reservation(rid)
    with pytest.raises(ReservationNotFoundError):
        await service.reservation(rid)
    found, _ = await service.search(criteria(numbers, 1))
    assert found.status is OperationStatus.SUCCEEDED


async def test_purchased_numbers_are_listed_in_purchase_order(
    service: NumbersService, clock: FakeClock
) -> None:
    numbers = block(2)
    await service.apply(Inventory(numbers=tuple(numbers)))
    for number in reversed(numbers):
        rid = str(uuid.uuid4())
        await service.change_reservation(rid, {number.id: (None, None)})
        await service.purchase_reservation(rid)
        clock.advance(1)
    ours = {n.phone_number for n in numbers}
    listed = [p.number.phone_number for p in await service.list_purchased(0, 10_000)]
    assert [n for n in listed if n in ours] == [numbers[1].phone_number, numbers[0].phone_number]
