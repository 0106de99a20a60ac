"""Identity HTTP routes (section 2 of the wire reference) and ``GET /me``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.errors import NotSupportedError
from switchboard.core.principal import Principal
from switchboard.http.apiversion import IDENTITY_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.routing import Auth, request_api_version, route, routes_for
from switchboard.identity import schemas
from switchboard.identity.service import IdentityService


def identity_routes(service: IdentityService, authenticator: Authenticator) -> list[BaseRoute]:
    async def create_identity(request: Request, _: Principal) -> Response:
        body = decode_json(
            await read_body(request), schemas.CreateIdentityRequest, allow_empty=True
        )
        identity, token = await service.create_identity(
            body.create_token_with_scopes, body.expires_in_minutes, body.custom_id
        )
        version = request_api_version(request)
        return json_response(schemas.created_identity_json(identity, token, version), 201)

    async def get_identity(request: Request, _: Principal) -> Response:
        identity = await service.get_identity(request.path_params["id"])
        return json_response(schemas.identity_json(identity, request_api_version(request)))

    async def delete_identity(request: Request, _: Principal) -> Response:
        await service.delete_identity(request.path_params["id"])
        return empty_response(204)

    async def issue_access_token(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.IssueTokenRequest)
        token = await service.issue_token(
            request.path_params["id"], body.scopes, body.expires_in_minutes
        )
        return json_response(schemas.token_json(token))

    async def revoke_access_tokens(request: Request, _: Principal) -> Response:
        await service.revoke_tokens(request.path_params["id"])
        return empty_response(204)

    async def exchange_teams_user_token(_request: Request, _: Principal) -> Response:
        raise NotSupportedError(
            "Switchboard has no Microsoft Entra ID: Teams user tokens cannot be exchanged here. "
            "Create an ACS identity with POST /identities instead.",
            code="TeamsInteropNotSupported",
        )

    async def me(_request: Request, principal: Principal) -> Response:
        return json_response(schemas.me_json(principal))

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=IDENTITY_VERSIONS)

    return [
        acs("/identities", create_identity, "POST"),
        acs("/identities/{id}", get_identity, "GET"),
        acs("/identities/{id}", delete_identity, "DELETE"),
        acs("/identities/{id}/:issueAccessToken", issue_access_token, "POST"),
        acs("/identities/{id}/:revokeAccessTokens", revoke_access_tokens, "POST"),
        acs("/teamsUser/:exchangeAccessToken", exchange_teams_user_token, "POST"),
        route("/me", me, methods=["GET"], auth=Auth.BEARER, authenticator=authenticator),
    ]
