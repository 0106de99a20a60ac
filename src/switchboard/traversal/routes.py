"""Network Traversal HTTP route (section 8 of the wire reference), HMAC-authenticated.

The SDK posts to ``/networkTraversal/:issueRelayConfiguration`` and the spec spells it
``/networktraversal/...``: routing is case-insensitive, so one route serves both.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.principal import Principal
from switchboard.http.apiversion import NETWORK_TRAVERSAL_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, json_response, read_body
from switchboard.http.routing import Auth, route
from switchboard.traversal import schemas
from switchboard.traversal.service import RelayService, parse_route_type


def traversal_routes(service: RelayService, authenticator: Authenticator) -> list[BaseRoute]:
    async def issue_relay_configuration(request: Request, _: Principal) -> Response:
        body = decode_json(
            await read_body(request), schemas.RelayConfigurationRequest, allow_empty=True
        )
        config = service.issue(body.id, parse_route_type(body.route_type), body.ttl)
        return json_response(schemas.relay_configuration_json(config))

    return [
        route(
            "/networkTraversal/:issueRelayConfiguration",
            issue_relay_configuration,
            methods=["POST"],
            auth=Auth.HMAC,
            authenticator=authenticator,
            versions=NETWORK_TRAVERSAL_VERSIONS,
        )
    ]
