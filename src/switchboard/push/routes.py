"""Push registration routes (docs/push.md), with the user's access token (voip or chat).

GET    /push/config                      the kinds this server can push, the VAPID key
PUT    /push/registrations/{deviceId}    register or refresh this device
GET    /push/registrations               this user's devices
DELETE /push/registrations/{deviceId}    forget this device
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.principal import Principal
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.routing import Auth, routes_for
from switchboard.push import schemas
from switchboard.push.service import PushService

SCOPES = ("voip", "chat", "chat.join", "voip.join")


def push_routes(
    service: PushService, authenticator: Authenticator, *, vapid_public_key: str | None
) -> list[BaseRoute]:
    async def config(_: Request, principal: Principal) -> Response:
        principal.require_scope(*SCOPES)
        kinds = sorted(k.value for k in service.kinds)
        return json_response({"kinds": kinds, "vapidPublicKey": vapid_public_key})

    async def register(request: Request, principal: Principal) -> Response:
        principal.require_scope(*SCOPES)
        body = decode_json(await read_body(request), schemas.RegisterRequest)
        new = body.registration(request.path_params["device_id"])
        registration = await service.register(_user(principal), new)
        return json_response(schemas.registration_json(registration))

    async def list_registrations(_: Request, principal: Principal) -> Response:
        principal.require_scope(*SCOPES)
        found = await service.registrations(_user(principal))
        return json_response({"value": [schemas.registration_json(r) for r in found]})

    async def unregister(request: Request, principal: Principal) -> Response:
        principal.require_scope(*SCOPES)
        await service.unregister(_user(principal), request.path_params["device_id"])
        return empty_response(204)

    user = routes_for(auth=Auth.BEARER, authenticator=authenticator)
    return [
        user("/push/config", config, "GET"),
        user("/push/registrations", list_registrations, "GET"),
        user("/push/registrations/{device_id}", register, "PUT"),
        user("/push/registrations/{device_id}", unregister, "DELETE"),
    ]


def _user(principal: Principal) -> str:
    assert principal.user_id is not None  # a bearer route's principal is a user
    return principal.user_id
