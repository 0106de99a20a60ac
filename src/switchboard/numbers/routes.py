"""Phone Numbers HTTP routes (section 5 of the wire reference), HMAC-authenticated.

Listings page with ``skip`` + ``maxPageSize`` (purchased numbers: ``skip`` + ``top``), as the
SDK sends them; ``nextLink`` repeats the request's filters with the next ``skip``. Every LRO
answers 202 with an already finished operation (see service.py), whose Operation-Location
and Location carry the request's api-version: the poller GETs them exactly as given.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.errors import BadRequestError
from switchboard.core.principal import Principal
from switchboard.http.apiversion import PHONE_NUMBERS_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.lro import accepted_response, operation_body
from switchboard.http.paging import next_link, page_size, parse_skip
from switchboard.http.routing import Auth, request_api_version, request_origin, routes_for
from switchboard.numbers import schemas
from switchboard.numbers.models import e164
from switchboard.numbers.service import NumbersService
from switchboard.storage.operations import Operation

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
OPERATIONS = "/phoneNumbers/operations"


def numbers_routes(service: NumbersService, authenticator: Authenticator) -> list[BaseRoute]:
    async def countries(request: Request, _: Principal) -> Response:
        found = await service.countries()
        return _page(request, "countries", [schemas.country_json(c) for c in found])

    async def localities(request: Request, _: Principal) -> Response:
        q = request.query_params
        kind = q.get("phoneNumberType")
        found = await service.localities(
            request.path_params["countryCode"],
            schemas.phone_number_type(kind) if kind else None,
            q.get("administrativeDivision") or None,
        )
        return _page(request, "phoneNumberLocalities", [schemas.locality_json(x) for x in found])

    async def area_codes(request: Request, _: Principal) -> Response:
        q = request.query_params
        kind = q.get("phoneNumberType")
        if not kind:
            raise BadRequestError("phoneNumberType is required.", target="phoneNumberType")
        assignment = q.get("assignmentType")
        found = await service.area_codes(
            request.path_params["countryCode"],
            schemas.phone_number_type(kind),
            schemas.assignment_type(assignment) if assignment else None,
            q.get("locality") or None,
            q.get("administrativeDivision") or None,
        )
        return _page(request, "areaCodes", [{"areaCode": code} for code in found])

    async def offerings(request: Request, _: Principal) -> Response:
        q = request.query_params
        kind, assignment = q.get("phoneNumberType"), q.get("assignmentType")
        found = await service.offerings(
            request.path_params["countryCode"],
            schemas.phone_number_type(kind) if kind else None,
            schemas.assignment_type(assignment) if assignment else None,
        )
        return _page(request, "phoneNumberOfferings", [schemas.offering_json(o) for o in found])

    async def search(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.SearchRequest)
        criteria = schemas.search_criteria(request.path_params["countryCode"], body)
        op, search_id = await service.search(criteria)
        return _accepted(
            request,
            op,
            location=f"/availablePhoneNumbers/searchResults/{search_id}",
            extra={"search-id": search_id},
        )

    async def search_result(request: Request, _: Principal) -> Response:
        found = await service.get_search(request.path_params["searchId"])
        return json_response(schemas.search_json(found, request_api_version(request)))

    async def purchase(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.PurchaseRequest)
        if not body.search_id:
            raise BadRequestError("searchId is required.", target="searchId")
        op = await service.purchase(body.search_id)
        return _accepted(request, op, extra={"purchase-id": op.id.removeprefix("purchase_")})

    async def browse(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.BrowseRequest)
        caps = body.capabilities or schemas.CapabilitiesBody()
        found = await service.browse(
            request.path_params["countryCode"],
            schemas.phone_number_type(body.phone_number_type),
            calling=schemas.optional_capability(caps.calling, "calling"),
            sms=schemas.optional_capability(caps.sms, "sms"),
            assignment_type=(
                schemas.assignment_type(body.assignment_type) if body.assignment_type else None
            ),
            prefixes=body.phone_number_prefixes or [],
        )
        return json_response({"phoneNumbers": [schemas.available_json(n) for n in found]})

    async def list_reservations(request: Request, _: Principal) -> Response:
        skip, size = _skip(request), _size(request, "maxPageSize")
        found = await service.list_reservations(skip, size + 1)
        now = service.now_ms()
        items = [schemas.reservation_json(r, now, with_numbers=False) for r in found[:size]]
        return _listing(request, "reservations", items, skip, size, len(found) > size)

    async def get_reservation(request: Request, _: Principal) -> Response:
        found = await service.reservation(_reservation_id(request))
        return json_response(schemas.reservation_json(found, service.now_ms()))

    async def change_reservation(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.ReservationRequest, allow_empty=True)
        reservation, created, failures = await service.change_reservation(
            _reservation_id(request), schemas.reservation_changes(body)
        )
        status = 207 if failures else 201 if created else 200
        content = schemas.reservation_json(reservation, service.now_ms(), failures)
        return json_response(content, status)

    async def delete_reservation(request: Request, _: Principal) -> Response:
        await service.delete_reservation(_reservation_id(request))
        return empty_response(204)

    async def purchase_reservation(request: Request, _: Principal) -> Response:
        decode_json(await read_body(request), schemas.PurchaseRequest, allow_empty=True)
        op = await service.purchase_reservation(_reservation_id(request))
        purchase_id = op.id.removeprefix("reservationPurchase_")
        return _accepted(request, op, extra={"reservation-purchase-id": purchase_id})

    async def get_operation(request: Request, _: Principal) -> Response:
        op = await service.operation(request.path_params["operationId"])
        body = operation_body(op)
        # ACS echoes where the poll came from; pollers that keep the last header find it.
        headers = {"Operation-Location": _versioned(request, f"{OPERATIONS}/{op.id}")}
        if op.resource_location is not None:
            body["resourceLocation"] = headers["Location"] = _versioned(
                request, op.resource_location
            )
        return json_response(body, 200, headers)

    async def cancel_operation(request: Request, _: Principal) -> Response:
        await service.cancel_operation(request.path_params["operationId"])
        return empty_response(204)

    async def list_purchased(request: Request, _: Principal) -> Response:
        skip, size = _skip(request), _size(request, "top")
        found = await service.list_purchased(skip, size + 1)
        version = request_api_version(request)
        items = [schemas.purchased_json(p, version) for p in found[:size]]
        return _listing(request, "phoneNumbers", items, skip, size, len(found) > size, "top")

    async def get_purchased(request: Request, _: Principal) -> Response:
        found = await service.purchased(e164(request.path_params["phoneNumber"]))
        return json_response(schemas.purchased_json(found, request_api_version(request)))

    async def update_capabilities(request: Request, _: Principal) -> Response:
        number = e164(request.path_params["phoneNumber"])
        body = decode_json(await read_body(request), schemas.CapabilitiesBody, allow_empty=True)
        op = await service.update_capabilities(
            number,
            schemas.optional_capability(body.calling, "calling"),
            schemas.optional_capability(body.sms, "sms"),
        )
        update_id = op.id.removeprefix("capabilities_")
        return _accepted(
            request,
            op,
            location=f"/phoneNumbers/{quote(number, safe='')}",
            extra={"capabilities-id": update_id},
            body={"capabilitiesUpdateId": update_id},
        )

    async def release(request: Request, _: Principal) -> Response:
        op = await service.release(e164(request.path_params["phoneNumber"]))
        return _accepted(request, op, extra={"release-id": op.id.removeprefix("release_")})

    async def operator_information(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.OperatorInformationRequest)
        details = bool(body.options and body.options.include_additional_operator_details)
        found = await service.operator_information(body.phone_numbers, details)
        return json_response({"values": [schemas.operator_json(i) for i in found]})

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=PHONE_NUMBERS_VERSIONS)
    available = "/availablePhoneNumbers"
    country = f"{available}/countries/{{countryCode}}"
    reservation = f"{available}/reservations/{{reservationId}}"
    return [
        acs(f"{available}/countries", countries, "GET"),
        acs(f"{country}/localities", localities, "GET"),
        acs(f"{country}/areaCodes", area_codes, "GET"),
        acs(f"{country}/offerings", offerings, "GET"),
        acs(f"{country}/:search", search, "POST"),
        acs(f"{country}/:browse", browse, "POST"),
        acs(f"{available}/searchResults/{{searchId}}", search_result, "GET"),
        acs(f"{available}/:purchase", purchase, "POST"),
        acs(f"{available}/reservations", list_reservations, "GET"),
        acs(reservation, get_reservation, "GET"),
        acs(reservation, change_reservation, "PATCH"),
        acs(reservation, delete_reservation, "DELETE"),
        acs(f"{reservation}/:purchase", purchase_reservation, "POST"),
        acs(f"{OPERATIONS}/{{operationId}}", get_operation, "GET"),
        acs(f"{OPERATIONS}/{{operationId}}", cancel_operation, "DELETE"),
        acs("/phoneNumbers", list_purchased, "GET"),
        acs("/phoneNumbers/{phoneNumber}", get_purchased, "GET"),
        acs("/phoneNumbers/{phoneNumber}", release, "DELETE"),
        acs("/phoneNumbers/{phoneNumber}/capabilities", update_capabilities, "PATCH"),
        acs("/operatorInformation/:search", operator_information, "POST"),
    ]


def _versioned(request: Request, path: str) -> str:
    version = request.query_params.get("api-version", "")
    return f"{path}?api-version={quote(version, safe='')}"


def _accepted(
    request: Request,
    op: Operation,
    *,
    location: str | None = None,
    extra: dict[str, str] | None = None,
    body: dict[str, str] | None = None,
) -> Response:
    return accepted_response(
        _versioned(request, f"{OPERATIONS}/{op.id}"),
        location=None if location is None else _versioned(request, location),
        retry_after=0,  # finished already: the first poll reports it
        headers={"operation-id": op.id, **(extra or {})},
        body=body,
    )


def _skip(request: Request) -> int:
    return parse_skip(request.query_params.get("skip"))


def _size(request: Request, name: str) -> int:
    return page_size(
        request.query_params.get(name), default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
    )


def _page(request: Request, key: str, items: Sequence[Any]) -> Response:
    skip, size = _skip(request), _size(request, "maxPageSize")
    window = list(items[skip : skip + size])
    return _listing(request, key, window, skip, size, skip + size < len(items))


def _listing(
    request: Request,
    key: str,
    items: list[Any],
    skip: int,
    size: int,
    more: bool,
    size_name: str = "maxPageSize",
) -> Response:
    body: dict[str, Any] = {key: items, "nextLink": None}  # ACS writes null on the last page
    if more:
        params = {k: v for k, v in request.query_params.items() if k != "api-version"}
        params["skip"] = str(skip + size)
        params[size_name] = str(size)
        body["nextLink"] = next_link(
            request.url.path,
            params,
            api_version=request_api_version(request),
            origin=request_origin(request),
        )
    return json_response(body)


def _reservation_id(request: Request) -> str:
    raw = request.path_params["reservationId"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise BadRequestError(
            f"Reservation id '{raw}' is not a UUID.", target="reservationId"
        ) from None
