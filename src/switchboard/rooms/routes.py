"""Rooms HTTP routes (section 6 of the wire reference), HMAC-authenticated.

Listings take an optional ``maxPageSize`` (a Switchboard extension with Chat's name; the SDK
sends none and carries it along in ``nextLink``) and resume from a signed
``continuationToken``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.errors import BadRequestError
from switchboard.core.principal import Principal
from switchboard.http.apiversion import ROOMS_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.paging import ContinuationCodec, next_link, page_size
from switchboard.http.repeatability import Repeatability
from switchboard.http.routing import Auth, request_api_version, request_origin, routes_for
from switchboard.rooms import schemas
from switchboard.rooms.service import RoomsService
from switchboard.rooms.store import RoomCursor

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100


def rooms_routes(
    service: RoomsService,
    authenticator: Authenticator,
    repeatability: Repeatability,
    paging: ContinuationCodec,
) -> list[BaseRoute]:
    async def create_room(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.CreateRoomRequest, allow_empty=True)
        version = request_api_version(request)

        async def create() -> Response:
            room = await service.create_room(
                valid_from_ms=schemas.epoch_ms(body.valid_from),
                valid_until_ms=schemas.epoch_ms(body.valid_until),
                pstn_dial_out_enabled=bool(body.pstn_dial_out_enabled),
                participants=schemas.roles(body.participants),
            )
            # ACS puts the bare room id in Location; a full URL is what HTTP means by it
            # (docs/conformance.md), and the SDK ignores the header either way.
            location = f"{request_origin(request)}/rooms/{room.id}"
            return json_response(schemas.room_json(room, version), 201, {"Location": location})

        return await repeatability.run(request, "rooms.create", create)

    async def get_room(request: Request, _: Principal) -> Response:
        room = await service.get(request.path_params["roomId"])
        return json_response(schemas.room_json(room, request_api_version(request)))

    async def update_room(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.UpdateRoomRequest, allow_empty=True)
        room = await service.update_room(
            request.path_params["roomId"],
            valid_from_ms=schemas.epoch_ms(body.valid_from),
            valid_until_ms=schemas.epoch_ms(body.valid_until),
            pstn_dial_out_enabled=body.pstn_dial_out_enabled,
        )
        return json_response(schemas.room_json(room, request_api_version(request)))

    async def delete_room(request: Request, _: Principal) -> Response:
        await service.delete_room(request.path_params["roomId"])
        return empty_response(204)

    async def list_rooms(request: Request, _: Principal) -> Response:
        limit = _page_size(request)
        state = _resume(request, paging)
        after: RoomCursor | None = None
        if state is not None:
            created, room_id = state.get("c"), state.get("i")
            if not isinstance(created, int) or not isinstance(room_id, str):
                raise _bad_token()
            after = (created, room_id)
        page = await service.list_rooms(after, limit)
        version = request_api_version(request)
        body: dict[str, object] = {"value": [schemas.room_json(r, version) for r in page.items]}
        if page.next_cursor is not None:
            token = paging.encode({"c": page.next_cursor[0], "i": page.next_cursor[1]})
            body["nextLink"] = _link(request, "/rooms", token)
        return json_response(body)

    async def list_participants(request: Request, _: Principal) -> Response:
        room_id = request.path_params["roomId"]
        limit = _page_size(request)
        state = _resume(request, paging)
        after: str | None = None
        if state is not None:
            # The token names its room, so one room's token cannot page through another.
            after_id = state.get("r")
            if state.get("room") != room_id or not isinstance(after_id, str):
                raise _bad_token()
            after = after_id
        page = await service.list_participants(room_id, after, limit)
        body: dict[str, object] = {"value": [schemas.participant_json(p) for p in page.items]}
        if page.next_cursor is not None:
            token = paging.encode({"room": room_id, "r": page.next_cursor})
            body["nextLink"] = _link(request, f"/rooms/{room_id}/participants", token)
        return json_response(body)

    async def update_participants(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.UpdateParticipantsRequest)
        await service.change_participants(
            request.path_params["roomId"], schemas.roles(body.participants)
        )
        return json_response({})

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=ROOMS_VERSIONS)

    return [
        acs("/rooms", create_room, "POST"),
        acs("/rooms", list_rooms, "GET"),
        acs("/rooms/{roomId}", get_room, "GET"),
        acs("/rooms/{roomId}", update_room, "PATCH"),
        acs("/rooms/{roomId}", delete_room, "DELETE"),
        acs("/rooms/{roomId}/participants", list_participants, "GET"),
        acs("/rooms/{roomId}/participants", update_participants, "PATCH"),
    ]


def _page_size(request: Request) -> int:
    return page_size(
        request.query_params.get("maxPageSize"), default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
    )


def _resume(request: Request, paging: ContinuationCodec) -> dict[str, str | int] | None:
    token = request.query_params.get("continuationToken")
    return None if token is None else paging.decode(token)


def _link(request: Request, path: str, token: str) -> str:
    params = {"continuationToken": token}
    size = request.query_params.get("maxPageSize")
    if size is not None:
        params["maxPageSize"] = size
    return next_link(
        path, params, api_version=request_api_version(request), origin=request_origin(request)
    )


def _bad_token() -> BadRequestError:
    return BadRequestError("The continuation token is not valid.", code="InvalidContinuationToken")
