"""NumbersService rules with a fake clock, on SQLite and PostgreSQL.

The PostgreSQL database is shared by the whole session (and the demo inventory lives in
it), so every test works on its own numbers: a fresh area code no other test uses.
"""

from __future__ import annotations

import random
import uuid

import pytest

from switchboard.core.clock import FakeClock
from switchboard.numbers.inventory import Inventory, parse_carrier, parse_number_block
from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    Capability,
    CarrierInUseError,
    InvalidCapabilitiesError,
    InventoryNumber,
    NumberState,
    PhoneNumberNotFoundError,
    PhoneNumberType,
    ReservationNotActiveError,
    SearchCriteria,
)
from switchboard.numbers.reservations import RESERVATION_MAX_MS
from switchboard.numbers.service import SEARCH_HOLD_SECONDS, NumbersService, sql_numbers_service
from switchboard.storage.database import Database
from switchboard.storage.operations import OperationStatus

pytestmark = pytest.mark.anyio

BOTH = Capabilities(Capability.INBOUND_OUTBOUND, Capability.INBOUND_OUTBOUND)


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def service(database: Database, clock: FakeClock) -> NumbersService:
    numbers = sql_numbers_service(database, clock)
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


async def test_the_demo_inventory_loads_once(database: Database, clock: FakeClock) -> None:
    first = sql_numbers_service(database, clock)
    await first.start()
    removed = await first.inventory.remove_numbers(["+14255550177"])
    again = sql_numbers_service(database, clock)
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
