"""The OpenID metadata and keys apps use to verify callback tokens (no authentication):

GET /calling/.well-known/acsopenidconfiguration ─▶ {issuer, jwks_uri, …}
GET /calling/keys ─▶ {"keys": [RSA public JWK]}       (ACS's paths)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from switchboard.automation.callbacks_signing import JWKS_PATH, OPENID_PATH, CallbackSigner
from switchboard.http.json import json_response

_CACHE = {"Cache-Control": "public, max-age=3600"}


def openid_routes(signer: CallbackSigner) -> list[BaseRoute]:
    async def configuration(_: Request) -> Response:
        return json_response(signer.openid_configuration(), headers=_CACHE)

    async def keys(_: Request) -> Response:
        return json_response(signer.jwks(), headers=_CACHE)

    return [
        Route(OPENID_PATH, configuration, methods=["GET"]),
        Route(JWKS_PATH, keys, methods=["GET"]),
    ]
