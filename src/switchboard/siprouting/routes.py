"""ACS's SIP Routing API: GET and PATCH ``/sip`` (HMAC, the resource's access key)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.principal import Principal
from switchboard.http.apiversion import SIP_ROUTING_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, json_response, read_body
from switchboard.http.routing import Auth, routes_for
from switchboard.siprouting import schemas
from switchboard.siprouting.service import SipRoutingService


def sip_routing_routes(service: SipRoutingService, authenticator: Authenticator) -> list[BaseRoute]:
    async def get(_: Request, __: Principal) -> Response:
        return json_response(schemas.configuration_json(await service.configuration()))

    async def patch(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), object, allow_empty=True)
        updated = await service.update(schemas.sip_patch(body))
        return json_response(schemas.configuration_json(updated))

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=SIP_ROUTING_VERSIONS)
    return [acs("/sip", get, "GET"), acs("/sip", patch, "PATCH")]
