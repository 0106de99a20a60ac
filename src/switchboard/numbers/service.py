"""NumbersService: the Phone Numbers API's rules over the operator's inventory.

Long-running operations finish before the 202 is sent: the work is a few SQL statements, so
the operation is stored already succeeded (or failed, with its error) and the SDK's first
poll ends its poller without waiting on ``Retry-After``.

    search ──▶ op search_<id> (held numbers, or failed: OutOfStock) ──▶ searchResults/<id>
    purchase(searchId) ──▶ op purchase_<id> ──▶ numbers owned ── release ──▶ available again
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from switchboard.core.clock import Clock
from switchboard.core.errors import BadRequestError, PermissionDeniedError
from switchboard.core.sections import ConfigError, NumbersConfig
from switchboard.numbers.countries import COUNTRIES, country_of, formats
from switchboard.numbers.inventory import E164, Inventory, demo_inventory, parse_document
from switchboard.numbers.models import (
    BROWSE_LIMIT,
    AssignmentType,
    Capabilities,
    Capability,
    CarrierDefinition,
    InvalidCapabilitiesError,
    InvalidInventoryError,
    InventoryNumber,
    Locality,
    NumberFailure,
    NumberSearch,
    Offering,
    OperationNotFoundError,
    OwnedNumber,
    PhoneNumberNotFoundError,
    PhoneNumberType,
    PurchasedNumber,
    Reservation,
    ReservationNotFoundError,
    SearchCriteria,
    SearchLapsedError,
    SearchNotFoundError,
    e164,
)
from switchboard.numbers.stores import (
    HoldStore,
    InventoryStore,
    NumberCatalog,
    OperationLog,
    ReservationStore,
)
from switchboard.storage.operations import Operation, OperationStatus

SEARCH_HOLD_SECONDS = 15 * 60  # ACS: a search holds its numbers for less than 15 minutes
MAX_SEARCH_QUANTITY = 100


class OperationKind:
    SEARCH = "search"
    PURCHASE = "purchase"
    RELEASE = "releasePhoneNumber"
    UPDATE_CAPABILITIES = "updatePhoneNumberCapabilities"
    RESERVATION_PURCHASE = "reservationPurchase"


@dataclass(frozen=True, slots=True)
class OperatorInfo:
    phone_number: str
    national_format: str
    international_format: str
    iso_country_code: str | None
    number_type: str  # unknown | other | geographic | mobile
    operator: str | None  # the carrier providing the number, when it is ours


class NumbersService:
    def __init__(
        self,
        inventory: InventoryStore,
        catalog: NumberCatalog,
        holds: HoldStore,
        reservations: ReservationStore,
        operations: OperationLog,
        clock: Clock,
        *,
        search_hold_seconds: float = SEARCH_HOLD_SECONDS,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.inventory = inventory
        self.catalog = catalog
        self._holds = holds
        self._reservations = reservations
        self._operations = operations
        self._clock = clock
        self._hold_ms = int(search_hold_seconds * 1000)
        self._new_id = new_id

    def now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    # --- set-up and what other domains ask ---------------------------------------------------

    async def start(self, configured: Inventory | None = None) -> None:
        """Load the demo inventory into a fresh database, then apply the configured one."""
        now = self.now_ms()
        await self.inventory.load_demo_once(demo_inventory(), now)
        if configured is not None:
            await self.apply(configured)

    async def apply(self, inventory: Inventory) -> int:
        """Create or update carriers, then numbers (idempotent); how many numbers are new."""
        now = self.now_ms()
        for carrier in inventory.carriers:
            await self.inventory.put_carrier(carrier, now)
        if not inventory.numbers:
            return 0
        return await self.inventory.add_numbers(inventory.numbers, now)

    async def owned_number(self, phone_number: str) -> OwnedNumber | None:
        purchased = await self._holds.purchased(phone_number)
        return None if purchased is None else purchased.owned()

    async def carriers(self) -> list[CarrierDefinition]:
        return await self.inventory.carriers()

    # --- what is on offer --------------------------------------------------------------------

    async def countries(self) -> list[str]:
        return await self.catalog.countries(self.now_ms())

    async def localities(
        self,
        country_code: str,
        phone_number_type: PhoneNumberType | None,
        administrative_division: str | None,
    ) -> list[Locality]:
        return await self.catalog.localities(
            country_code.upper(),
            self.now_ms(),
            phone_number_type=phone_number_type,
            administrative_division=administrative_division,
        )

    async def area_codes(
        self,
        country_code: str,
        phone_number_type: PhoneNumberType,
        assignment_type: AssignmentType | None,
        locality: str | None,
        administrative_division: str | None,
    ) -> list[str]:
        return await self.catalog.area_codes(
            country_code.upper(),
            phone_number_type,
            self.now_ms(),
            assignment_type=assignment_type,
            locality=locality,
            administrative_division=administrative_division,
        )

    async def offerings(
        self,
        country_code: str,
        phone_number_type: PhoneNumberType | None,
        assignment_type: AssignmentType | None,
    ) -> list[Offering]:
        return await self.catalog.offerings(
            country_code.upper(),
            self.now_ms(),
            phone_number_type=phone_number_type,
            assignment_type=assignment_type,
        )

    async def browse(
        self,
        country_code: str,
        phone_number_type: PhoneNumberType,
        *,
        calling: Capability | None,
        sms: Capability | None,
        assignment_type: AssignmentType | None,
        prefixes: Sequence[str],
    ) -> list[InventoryNumber]:
        return await self.catalog.browse(
            country_code.upper(),
            phone_number_type,
            self.now_ms(),
            calling=calling,
            sms=sms,
            assignment_type=assignment_type,
            prefixes=[e164(p) for p in prefixes if p.strip()],
            limit=BROWSE_LIMIT,
        )

    # --- search and purchase -----------------------------------------------------------------

    async def search(self, criteria: SearchCriteria) -> tuple[Operation, str]:
        """Hold matching numbers; the operation fails (OutOfStock) if none match."""
        if not 1 <= criteria.quantity <= MAX_SEARCH_QUANTITY:
            raise BadRequestError(f"quantity must be between 1 and {MAX_SEARCH_QUANTITY}.")
        if criteria.country_code not in COUNTRIES and criteria.country_code not in set(
            await self.countries()
        ):
            # ACS refuses a country it does not know at once, not with a failed operation.
            raise BadRequestError(
                "Unable to parse country code.", code="InvalidInput", target="countrycode"
            )
        search_id = self._new_id()
        now = self.now_ms()
        found = await self._holds.search(search_id, criteria, now, now + self._hold_ms)
        if found is None:
            error = ("OutOfStock", _no_match(criteria))
            return await self._record(f"search_{search_id}", OperationKind.SEARCH, error), search_id
        location = f"/availablePhoneNumbers/searchResults/{search_id}"
        op = await self._record(f"search_{search_id}", OperationKind.SEARCH, location=location)
        return op, search_id

    async def get_search(self, search_id: str) -> NumberSearch:
        search = await self._holds.get_search(search_id)
        if search is None:
            raise SearchNotFoundError(f"Search {search_id} was not found.")
        return search

    async def purchase(self, search_id: str) -> Operation:
        await self.get_search(search_id)  # unknown: 404 now rather than a failed operation
        op_id = f"purchase_{self._new_id()}"
        try:
            await self._holds.purchase_search(search_id, self.now_ms())
        except SearchLapsedError:
            message = f"Search {search_id} has expired or was already purchased; search again."
            return await self._record(
                op_id, OperationKind.PURCHASE, ("ReservationExpired", message)
            )
        return await self._record(op_id, OperationKind.PURCHASE)

    # --- purchased numbers -------------------------------------------------------------------

    async def purchased(self, phone_number: str) -> PurchasedNumber:
        found = await self._holds.purchased(phone_number)
        if found is None:
            raise _number_not_found(phone_number)
        return found

    async def list_purchased(self, skip: int, limit: int) -> list[PurchasedNumber]:
        return await self._holds.list_purchased(skip, limit)

    async def update_capabilities(
        self, phone_number: str, calling: Capability | None, sms: Capability | None
    ) -> Operation:
        current = await self._holds.purchased(phone_number)
        if current is None:
            # ACS answers 403 here (404 only for GET): changing a number is a permission.
            raise PermissionDeniedError(
                "Phone number not owned by this resource.",
                code="InsufficientPermissions",
                target="phonenumber",
            )
        wanted = Capabilities(
            calling=calling or current.capabilities.calling, sms=sms or current.capabilities.sms
        )
        offered = current.number.capabilities
        if not wanted.within(offered):
            raise InvalidCapabilitiesError(
                f"{phone_number} offers calling {offered.calling.value} and sms "
                f"{offered.sms.value}; it cannot have calling {wanted.calling.value} and sms "
                f"{wanted.sms.value}."
            )
        await self._holds.set_capabilities(phone_number, wanted)
        return await self._record(
            f"capabilities_{self._new_id()}",
            OperationKind.UPDATE_CAPABILITIES,
            location=f"/phoneNumbers/{phone_number}",
        )

    async def release(self, phone_number: str) -> Operation:
        if not await self._holds.release(phone_number):
            raise _number_not_found(phone_number)
        return await self._record(f"release_{self._new_id()}", OperationKind.RELEASE)

    # --- reservations ------------------------------------------------------------------------

    async def reservation(self, reservation_id: str) -> Reservation:
        found = await self._reservations.get(reservation_id)
        if found is None:
            raise ReservationNotFoundError(f"Reservation {reservation_id} was not found.")
        return found

    async def list_reservations(self, skip: int, limit: int) -> list[Reservation]:
        return await self._reservations.page(skip, limit)

    async def change_reservation(
        self,
        reservation_id: str,
        changes: Mapping[str, tuple[Capabilities | None, AssignmentType | None] | None],
    ) -> tuple[Reservation, bool, list[NumberFailure]]:
        """``changes``: number id or E.164 → what to reserve it with, or None to remove it."""
        additions = {e164(k): v for k, v in changes.items() if v is not None}
        removals = [e164(k) for k, v in changes.items() if v is None]
        return await self._reservations.change(reservation_id, additions, removals, self.now_ms())

    async def delete_reservation(self, reservation_id: str) -> None:
        await self._reservations.delete(reservation_id, self.now_ms())

    async def purchase_reservation(self, reservation_id: str) -> Operation:
        await self._reservations.purchase(reservation_id, self.now_ms())
        return await self._record(
            f"reservationPurchase_{self._new_id()}", OperationKind.RESERVATION_PURCHASE
        )

    # --- operations and operator information -------------------------------------------------

    async def operation(self, operation_id: str) -> Operation:
        found = await self._operations.get(operation_id)
        if found is None:
            raise OperationNotFoundError(f"Operation {operation_id} was not found.")
        return found

    async def cancel_operation(self, operation_id: str) -> None:
        """Forget an operation; cancelling a search also lets its numbers go at once."""
        op = await self.operation(operation_id)
        if op.kind == OperationKind.SEARCH:
            search_id = operation_id.removeprefix("search_")
            search = await self._holds.get_search(search_id)
            if search is not None and not search.purchased:
                await self._holds.release_hold(search_id)
        await self._operations.delete(operation_id)

    async def operator_information(
        self, phone_numbers: Sequence[str], include_details: bool
    ) -> list[OperatorInfo]:
        for number in phone_numbers:
            if not E164.fullmatch(number):
                raise BadRequestError(f"'{number}' is not an E.164 phone number.")
        ours = await self._holds.find_many(phone_numbers)
        answers = []
        for number in phone_numbers:
            known = ours.get(number)
            country = known.country_code if known else country_of(number)
            national, international = formats(number, country)
            kind = "unknown"
            if known is not None:
                kind = {"geographic": "geographic", "mobile": "mobile"}.get(
                    known.phone_number_type.value, "other"
                )
            operator = known.carrier if known is not None and include_details else None
            answers.append(OperatorInfo(number, national, international, country, kind, operator))
        return answers

    async def _record(
        self,
        op_id: str,
        kind: str,
        error: tuple[str, str] | None = None,
        *,
        location: str | None = None,
    ) -> Operation:
        now = self.now_ms()
        op = Operation(
            id=op_id,
            kind=kind,
            status=OperationStatus.FAILED if error else OperationStatus.SUCCEEDED,
            resource_location=location,
            error=error,
            created_ms=now,
            updated_ms=now,
        )
        await self._operations.create(op)
        return op


def configured_inventory(config: NumbersConfig) -> Inventory:
    """The ``[[carriers]]``/``[[numbers]]`` of the config; ConfigError if one is unusable."""
    try:
        return parse_document(
            {"carriers": list(config.carriers), "numbers": list(config.numbers)}, "config"
        )
    except InvalidInventoryError as exc:
        raise ConfigError(exc.message) from exc


def _no_match(criteria: SearchCriteria) -> str:
    where = f" in area code {criteria.area_code}" if criteria.area_code else ""
    return (
        f"No {criteria.phone_number_type.value} numbers for {criteria.assignment_type.value} use "
        f"with calling {criteria.capabilities.calling.value} and sms "
        f"{criteria.capabilities.sms.value} are available in {criteria.country_code}{where}."
    )


def _number_not_found(phone_number: str) -> PhoneNumberNotFoundError:
    return PhoneNumberNotFoundError(
        f"Input phoneNumber {phone_number} cannot be found.", target="phonenumber"
    )
