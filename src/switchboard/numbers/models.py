"""Phone numbers: carriers, the inventory they provide, and what this resource owns.

A number's life (one ACS resource per server, so "owned" means owned by this server):

    available ──search / reservation──▶ held (until the hold expires) ──purchase──▶ owned
        ▲                                      │ expiry, cancel, removal               │
        └──────────────────────────────────────┴──────────────── release ◀────────────┘
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from switchboard.core.errors import BadRequestError, ConflictError, NotFoundError

SIMULATOR_CARRIER = "simulator"


class CarrierKind(StrEnum):
    SIMULATOR = "simulator"
    SMPP = "smpp"


@dataclass(frozen=True, slots=True)
class CarrierDefinition:
    """A carrier the operator defined; ``settings`` are the kind's own (SMPP: host, port, …)."""

    name: str
    kind: CarrierKind
    settings: Mapping[str, Any]


class Capability(StrEnum):
    NONE = "none"
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INBOUND_OUTBOUND = "inbound+outbound"

    @property
    def allows_inbound(self) -> bool:
        return self in (Capability.INBOUND, Capability.INBOUND_OUTBOUND)

    @property
    def allows_outbound(self) -> bool:
        return self in (Capability.OUTBOUND, Capability.INBOUND_OUTBOUND)

    def within(self, offered: Capability) -> bool:
        """True if every direction this asks for is one ``offered`` provides."""
        return (not self.allows_inbound or offered.allows_inbound) and (
            not self.allows_outbound or offered.allows_outbound
        )


class PhoneNumberType(StrEnum):
    GEOGRAPHIC = "geographic"
    TOLL_FREE = "tollFree"
    MOBILE = "mobile"


class AssignmentType(StrEnum):
    PERSON = "person"
    APPLICATION = "application"


@dataclass(frozen=True, slots=True)
class Capabilities:
    calling: Capability
    sms: Capability

    def within(self, offered: Capabilities) -> bool:
        return self.calling.within(offered.calling) and self.sms.within(offered.sms)


@dataclass(frozen=True, slots=True)
class Cost:
    amount: float
    currency: str  # ISO 4217, e.g. "USD"; billed monthly


BROWSE_LIMIT = 20  # ACS answers a browse with a small random sample


@dataclass(frozen=True, slots=True)
class Locality:
    name: str
    administrative_division: str | None


@dataclass(frozen=True, slots=True)
class Offering:
    phone_number_type: PhoneNumberType
    assignment_type: AssignmentType
    capabilities: Capabilities
    cost: Cost


@dataclass(frozen=True, slots=True)
class InventoryNumber:
    """One number a carrier provides, as the operator described it."""

    phone_number: str  # E.164 with "+"
    carrier: str
    country_code: str  # ISO 3166-1 alpha-2, upper case
    phone_number_type: PhoneNumberType
    assignment_type: AssignmentType
    capabilities: Capabilities  # what the number can do; a purchase may ask for less
    cost: Cost
    locality: str | None = None
    administrative_division: str | None = None  # abbreviated, e.g. "WA"
    area_code: str | None = None

    @property
    def id(self) -> str:
        """ACS's number id: the E.164 digits without "+"."""
        return number_id(self.phone_number)


class NumberState(StrEnum):
    AVAILABLE = "available"
    HELD = "held"  # by an unexpired search or reservation
    PURCHASED = "purchased"


@dataclass(frozen=True, slots=True)
class OwnedNumber:
    """A number this resource purchased (what the SMS service checks before sending)."""

    phone_number: str
    carrier: str
    country_code: str
    phone_number_type: str
    sms: Capability
    calling: Capability


@dataclass(frozen=True, slots=True)
class PurchasedNumber:
    """An owned number with everything the Phone Numbers API reports about it."""

    number: InventoryNumber
    capabilities: Capabilities  # as purchased or last updated
    assignment_type: AssignmentType
    purchased_ms: int

    def owned(self) -> OwnedNumber:
        return OwnedNumber(
            phone_number=self.number.phone_number,
            carrier=self.number.carrier,
            country_code=self.number.country_code,
            phone_number_type=self.number.phone_number_type.value,
            sms=self.capabilities.sms,
            calling=self.capabilities.calling,
        )


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    country_code: str
    phone_number_type: PhoneNumberType
    assignment_type: AssignmentType
    capabilities: Capabilities
    area_code: str | None = None
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class NumberSearch:
    """A search result: the numbers it found stay held for it until ``expires_ms``."""

    id: str
    criteria: SearchCriteria
    phone_numbers: tuple[str, ...]
    cost: Cost
    created_ms: int
    expires_ms: int
    purchased: bool


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class ReservedNumber:
    number: InventoryNumber
    capabilities: Capabilities  # what the purchase will ask for
    assignment_type: AssignmentType


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    created_ms: int
    expires_ms: int
    status: ReservationStatus  # as stored; ``status_at`` applies expiry
    numbers: tuple[ReservedNumber, ...]

    def status_at(self, now_ms: int) -> ReservationStatus:
        if self.status is ReservationStatus.ACTIVE and now_ms >= self.expires_ms:
            return ReservationStatus.EXPIRED
        return self.status


@dataclass(frozen=True, slots=True)
class NumberFailure:
    """Why one number of a reservation change was not applied (a 207 entry)."""

    phone_number_id: str
    code: str
    message: str


def number_id(phone_number: str) -> str:
    return phone_number.removeprefix("+")


def e164(value: str) -> str:
    """``+14255550100`` from an id (``14255550100``) or an E.164 string."""
    value = value.strip()
    return value if value.startswith("+") else f"+{value}"


class SearchLapsedError(Exception):
    """The search's hold ended (expired, cancelled) before the purchase took its numbers."""


class PhoneNumberNotFoundError(NotFoundError):
    code = "NotFound"  # as ACS answers GET /phoneNumbers/{number} for a number not ours


class SearchNotFoundError(NotFoundError):
    code = "SearchNotFound"


class ReservationNotFoundError(NotFoundError):
    code = "ReservationNotFound"


class OperationNotFoundError(NotFoundError):
    code = "OperationNotFound"


class ReservationNotActiveError(ConflictError):
    """Only an active (unexpired, not purchased) reservation can change, go or be bought."""

    code = "ReservationNotActive"


class CarrierInUseError(ConflictError):
    """A carrier still provides numbers this resource owns."""

    code = "CarrierInUse"


class InvalidCapabilitiesError(BadRequestError):
    """Asked for a direction (inbound/outbound) the number's carrier does not provide."""

    code = "InvalidCapabilities"


class InvalidInventoryError(BadRequestError):
    """An inventory entry (config, CSV, CLI) that cannot be used."""

    code = "InvalidInventory"
