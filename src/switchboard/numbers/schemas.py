"""Phone Numbers wire shapes (api-version 2022-12-01 … 2025-06-01): the only place with camelCase.

The SDK's models mark most response fields required (``PurchasedPhoneNumber`` has eight), so
every renderer writes all of them.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from switchboard.core.clock import iso8601
from switchboard.core.errors import BadRequestError
from switchboard.numbers.countries import country_name
from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    Capability,
    Cost,
    InventoryNumber,
    Locality,
    NumberFailure,
    NumberSearch,
    Offering,
    PhoneNumberType,
    PurchasedNumber,
    Reservation,
    ReservationStatus,
    SearchCriteria,
)
from switchboard.numbers.service import OperatorInfo


class CapabilitiesBody(msgspec.Struct):
    calling: str | None = None
    sms: str | None = None


class SearchRequest(msgspec.Struct, rename="camel"):
    phone_number_type: str
    assignment_type: str
    capabilities: CapabilitiesBody
    area_code: str | None = None
    quantity: int | None = None


class PurchaseRequest(msgspec.Struct, rename="camel"):
    search_id: str | None = None
    agree_to_not_resell: bool | None = None


class BrowseRequest(msgspec.Struct, rename="camel"):
    phone_number_type: str
    capabilities: CapabilitiesBody | None = None
    assignment_type: str | None = None
    phone_number_prefixes: list[str] | None = None


class ReservedNumberBody(msgspec.Struct, rename="camel"):
    capabilities: CapabilitiesBody | None = None
    assignment_type: str | None = None


class ReservationRequest(msgspec.Struct, rename="camel"):
    phone_numbers: dict[str, ReservedNumberBody | None] | None = None


class OperatorOptions(msgspec.Struct, rename="camel"):
    include_additional_operator_details: bool | None = None


class OperatorInformationRequest(msgspec.Struct, rename="camel"):
    phone_numbers: list[str]
    options: OperatorOptions | None = None


def phone_number_type(value: str) -> PhoneNumberType:
    for kind in PhoneNumberType:
        if kind.value.lower() == value.strip().lower():
            return kind
    raise BadRequestError(
        f"Invalid phoneNumberType '{value}'; expected geographic, tollFree or mobile.",
        target="phoneNumberType",
    )


def assignment_type(value: str) -> AssignmentType:
    for kind in AssignmentType:
        if kind.value == value.strip().lower():
            return kind
    raise BadRequestError(
        f"Invalid assignmentType '{value}'; expected person or application.",
        target="assignmentType",
    )


def capability(value: str, field: str) -> Capability:
    try:
        return Capability(value.strip().lower())
    except ValueError:
        raise BadRequestError(
            f"Invalid {field} capability '{value}'; expected none, inbound, outbound or "
            "inbound+outbound.",
            target=field,
        ) from None


def optional_capability(value: str | None, field: str) -> Capability | None:
    return None if value is None else capability(value, field)


def capabilities(body: CapabilitiesBody) -> Capabilities:
    if body.calling is None or body.sms is None:
        raise BadRequestError("capabilities needs both calling and sms.", target="capabilities")
    return Capabilities(capability(body.calling, "calling"), capability(body.sms, "sms"))


def search_criteria(country_code: str, body: SearchRequest) -> SearchCriteria:
    return SearchCriteria(
        country_code=country_code.upper(),
        phone_number_type=phone_number_type(body.phone_number_type),
        assignment_type=assignment_type(body.assignment_type),
        capabilities=capabilities(body.capabilities),
        area_code=body.area_code or None,
        quantity=1 if body.quantity is None else body.quantity,
    )


def reservation_changes(
    body: ReservationRequest,
) -> dict[str, tuple[Capabilities | None, AssignmentType | None] | None]:
    changes: dict[str, tuple[Capabilities | None, AssignmentType | None] | None] = {}
    for key, entry in (body.phone_numbers or {}).items():
        if entry is None:
            changes[key] = None
            continue
        caps = capabilities(entry.capabilities) if entry.capabilities else None
        assignment = assignment_type(entry.assignment_type) if entry.assignment_type else None
        changes[key] = (caps, assignment)
    return changes


def capabilities_json(caps: Capabilities) -> dict[str, str]:
    return {"calling": caps.calling.value, "sms": caps.sms.value}


def cost_json(cost: Cost) -> dict[str, Any]:
    return {"amount": cost.amount, "currencyCode": cost.currency, "billingFrequency": "monthly"}


def country_json(code: str) -> dict[str, str]:
    return {"localizedName": country_name(code), "countryCode": code}


def locality_json(locality: Locality) -> dict[str, Any]:
    body: dict[str, Any] = {"localizedName": locality.name}
    if locality.administrative_division is not None:
        body["administrativeDivision"] = {
            "localizedName": locality.administrative_division,
            "abbreviatedName": locality.administrative_division,
        }
    return body


def offering_json(offering: Offering) -> dict[str, Any]:
    return {
        "phoneNumberType": offering.phone_number_type.value,
        "assignmentType": offering.assignment_type.value,
        "availableCapabilities": capabilities_json(offering.capabilities),
        "cost": cost_json(offering.cost),
    }


# Versions from before the do-not-resell agreement: their search results lack its flag (the
# 2022-12-01 recording in tests/conformance has none).
_WITHOUT_RESELL_AGREEMENT = frozenset(
    {
        "2021-03-07",
        "2022-01-11-preview2",
        "2022-06-01-preview",
        "2022-12-01",
        "2023-05-01-preview",
        "2023-10-01-preview",
    }
)


# Search results name their error (here always "NoError": a failed search fails its
# operation instead) from 2023-10-01-preview on.
_WITHOUT_SEARCH_ERROR = frozenset(
    {"2021-03-07", "2022-01-11-preview2", "2022-06-01-preview", "2022-12-01", "2023-05-01-preview"}
)


def search_json(search: NumberSearch, api_version: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "searchId": search.id,
        "phoneNumbers": list(search.phone_numbers),
        "phoneNumberType": search.criteria.phone_number_type.value,
        "assignmentType": search.criteria.assignment_type.value,
        "capabilities": capabilities_json(search.criteria.capabilities),
        "cost": cost_json(search.cost),
        "searchExpiresBy": iso8601(search.expires_ms / 1000),
    }
    if api_version not in _WITHOUT_RESELL_AGREEMENT:
        body["isAgreementToNotResellRequired"] = False
    if api_version not in _WITHOUT_SEARCH_ERROR:
        body["error"] = "NoError"  # a found search's (2023-10-01-preview and 2025 answers)
    return body


# The previews between 2023-10-01 and the 2025 GA also named the number's operator (recorded
# at 2023-10-01-preview); neither the versions before nor the GA versions do.
_WITH_OPERATOR = frozenset({"2023-10-01-preview", "2024-01-31-preview", "2024-03-01-preview"})


def purchased_json(purchased: PurchasedNumber, api_version: str | None = None) -> dict[str, Any]:
    number = purchased.number
    body: dict[str, Any] = {
        "id": number.id,
        "phoneNumber": number.phone_number,
        "countryCode": number.country_code,
        "phoneNumberType": number.phone_number_type.value,
        "capabilities": capabilities_json(purchased.capabilities),
        "assignmentType": purchased.assignment_type.value,
        "purchaseDate": iso8601(purchased.purchased_ms / 1000),
        "cost": cost_json(number.cost),
    }
    if api_version in _WITH_OPERATOR:
        # A stable GUID per carrier: ACS's operatorId is one, and apps may key on it.
        body["operatorId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"switchboard:{number.carrier}"))
        body["operatorName"] = number.carrier
        body["phoneNumberSource"] = "cloud"
    return body


def available_json(
    number: InventoryNumber,
    status: str = "available",
    *,
    capabilities: Capabilities | None = None,
    assignment: AssignmentType | None = None,
    error: NumberFailure | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": number.id,
        "countryCode": number.country_code,
        "phoneNumber": number.phone_number,
        "capabilities": capabilities_json(capabilities or number.capabilities),
        "phoneNumberType": number.phone_number_type.value,
        "assignmentType": (assignment or number.assignment_type).value,
        "cost": cost_json(number.cost),
        "status": status,
        "isAgreementToNotResellRequired": False,
    }
    if error is not None:
        body["status"] = "error"
        body["error"] = {"code": error.code, "message": error.message}
    return body


_NUMBER_STATUS = {
    ReservationStatus.ACTIVE: "reserved",
    ReservationStatus.SUBMITTED: "reserved",
    ReservationStatus.COMPLETED: "purchased",
    ReservationStatus.EXPIRED: "expired",
}


def reservation_json(
    reservation: Reservation,
    now_ms: int,
    failures: list[NumberFailure] | None = None,
    *,
    with_numbers: bool = True,
) -> dict[str, Any]:
    status = reservation.status_at(now_ms)
    body: dict[str, Any] = {
        "id": reservation.id,
        "expiresAt": iso8601(reservation.expires_ms / 1000),
        "status": status.value,
    }
    if with_numbers:
        numbers = {
            r.number.id: available_json(
                r.number,
                _NUMBER_STATUS[status],
                capabilities=r.capabilities,
                assignment=r.assignment_type,
            )
            for r in reservation.numbers
        }
        for failure in failures or []:
            numbers[failure.phone_number_id] = {
                "id": failure.phone_number_id,
                "phoneNumber": f"+{failure.phone_number_id}",
                "status": "error",
                "error": {"code": failure.code, "message": failure.message},
            }
        body["phoneNumbers"] = numbers
    return body


def operator_json(info: OperatorInfo) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phoneNumber": info.phone_number,
        "nationalFormat": info.national_format,
        "internationalFormat": info.international_format,
        "numberType": info.number_type,
    }
    if info.iso_country_code is not None:
        body["isoCountryCode"] = info.iso_country_code
    if info.operator is not None:
        body["operatorDetails"] = {"name": info.operator}
    return body
