"""The HTTP foundation in process (ASGI): signing variants, routing, api-version, errors, ops."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from switchboard.app import Node as Switchboard
from switchboard.app import build_node
from switchboard.core.config import load_settings, node_config
from tests.acs_signing import sign, sign_headers

pytestmark = pytest.mark.anyio

HOST = "127.0.0.1:8443"
V = "api-version=2023-10-01"


class Node:
    def __init__(self, node: Switchboard, http: httpx.AsyncClient, key: str, secondary: str):
        self.node = node
        self.http = http
        self.key = key
        self.secondary = secondary

    async def signed(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        key: str | None = None,
        signed_target: str | None = None,
        host: str = HOST,
        date: str | None = None,
        signed_body: bytes | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = sign(
            method,
            signed_target or target,
            host,
            body,
            key or self.key,
            date=date,
            signed_body=signed_body,
        )
        headers.update(extra or {})
        return await self.http.request(method, target, content=body, headers=headers)

    async def new_user(self) -> str:
        response = await self.signed("POST", f"/identities?{V}")
        assert response.status_code == 201, response.text
        user_id: str = response.json()["identity"]["id"]
        return user_id


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Node]:
    settings = load_settings(
        {"data_dir": tmp_path, "database_url": database_url, "port": 8443}, environ={}
    )
    node = await build_node(node_config(settings))
    primary, secondary = await node.secrets.access_keys()
    transport = httpx.ASGITransport(app=node.asgi)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{HOST}") as http:
        yield Node(node, http, primary, secondary)
    await node.stop()


async def test_secondary_key_is_accepted(api: Node) -> None:
    response = await api.signed("POST", f"/identities?{V}", key=api.secondary)
    assert response.status_code == 201


async def test_tampered_body_is_refused(api: Node) -> None:
    body = b'{"scopes": ["chat"]}'
    user = quote(await api.new_user(), safe="")
    response = await api.signed(
        "POST",
        f"/identities/{user}/:issueAccessToken?{V}",
        body,
        signed_body=b'{"scopes": ["voip"]}',
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"


async def test_signature_over_other_body_hash_is_refused(api: Node) -> None:
    # The hash header matches the body, but the signature was computed for another hash.
    target = f"/identities?{V}"
    good = sign("POST", target, HOST, b"{}", api.key)
    forged = sign("POST", target, HOST, b"[]", api.key)
    good["Authorization"] = forged["Authorization"]
    response = await api.http.post(target, content=b"{}", headers=good)
    assert response.status_code == 401


async def test_stale_date_is_refused_with_a_clear_message(api: Node) -> None:
    stale = formatdate(timeval=time.time() - 16 * 60, usegmt=True)
    response = await api.signed("POST", f"/identities?{V}", date=stale)
    assert response.status_code == 401
    assert "clock skew" in response.json()["error"]["message"]


async def test_date_within_skew_is_accepted(api: Node) -> None:
    recent = formatdate(timeval=time.time() - 14 * 60, usegmt=True)
    response = await api.signed("POST", f"/identities?{V}", date=recent)
    assert response.status_code == 201


async def test_percent_decoded_signature_is_accepted(api: Node) -> None:
    user = await api.new_user()
    target = f"/identities/{quote(user, safe='')}/:revokeAccessTokens?{V}"
    decoded = f"/identities/{user}/:revokeAccessTokens?{V}"
    response = await api.signed("POST", target, signed_target=decoded)
    assert response.status_code == 204


async def test_colon_reencoded_signature_is_accepted(api: Node) -> None:
    user = await api.new_user()
    sent = f"/identities/{user}/:revokeAccessTokens?{V}"
    signed = sent.split("?")[0].replace(":", "%3A") + f"?{V}"
    response = await api.signed("POST", sent, signed_target=signed)
    assert response.status_code == 204


async def test_public_authority_is_a_valid_signed_host(api: Node) -> None:
    response = await api.signed(
        "POST", f"/identities?{V}", host="127.0.0.1:8443", extra={"Host": "proxy.internal"}
    )
    assert response.status_code == 201


async def test_x_ms_host_is_a_valid_signed_host(api: Node) -> None:
    response = await api.signed(
        "POST",
        f"/identities?{V}",
        host="elsewhere:9",
        extra={"Host": "other:1", "x-ms-host": "elsewhere:9"},
    )
    assert response.status_code == 201


async def test_unsigned_request_is_a_401_in_acs_shape(api: Node) -> None:
    response = await api.http.post(f"/identities?{V}")
    assert response.status_code == 401
    assert set(response.json()["error"]) >= {"code", "message"}


async def test_bearer_token_cannot_call_hmac_routes(api: Node) -> None:
    response = await api.http.post(f"/identities?{V}", headers={"Authorization": "Bearer a.b.c"})
    assert response.status_code == 401
    assert "HMAC-SHA256" in response.json()["error"]["message"]


async def test_paths_are_case_insensitive_and_ids_decoded(api: Node) -> None:
    user = await api.new_user()
    target = f"/IDENTITIES/{quote(user, safe='')}/:ISSUEACCESSTOKEN?{V}"
    response = await api.signed("POST", target, b'{"scopes": ["chat"]}')
    assert response.status_code == 200, response.text
    assert response.json()["token"].count(".") == 2


async def test_missing_api_version_is_a_400(api: Node) -> None:
    response = await api.signed("POST", "/identities")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


async def test_unknown_api_version_is_a_400_listing_supported_ones(api: Node) -> None:
    response = await api.signed("POST", "/identities?api-version=1999-01-01")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "UnsupportedApiVersion"
    assert "2023-10-01" in error["message"]


async def test_enum_repr_api_version_is_understood(api: Node) -> None:
    response = await api.signed("POST", "/identities?api-version=ApiVersion.V2023_10_01")
    assert response.status_code == 201


async def test_unknown_route_is_a_404_in_acs_shape(api: Node) -> None:
    response = await api.http.get("/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


async def test_wrong_method_is_a_405_in_acs_shape(api: Node) -> None:
    response = await api.signed("GET", f"/identities?{V}")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "MethodNotAllowed"


async def test_malformed_json_is_a_400(api: Node) -> None:
    user = quote(await api.new_user(), safe="")
    response = await api.signed("POST", f"/identities/{user}/:issueAccessToken?{V}", b"{nope")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


async def test_oversized_body_is_refused(api: Node) -> None:
    body = b'{"scopes": ["' + b"x" * (2 * 1024 * 1024) + b'"]}'
    response = await api.signed("POST", f"/identities?{V}", body)
    assert response.status_code == 413


async def test_client_request_id_is_echoed_and_a_request_id_added(api: Node) -> None:
    response = await api.signed(
        "POST", f"/identities?{V}", extra={"x-ms-client-request-id": "abc-123"}
    )
    assert response.headers["x-ms-client-request-id"] == "abc-123"
    assert len(response.headers["x-ms-request-id"]) == 32


async def test_health_and_readiness(api: Node) -> None:
    assert (await api.http.get("/health")).json() == {"status": "ok"}
    ready = await api.http.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": True, "bus": True}


async def test_metrics_count_requests_by_route_template(api: Node) -> None:
    user = quote(await api.new_user(), safe="")
    await api.signed("POST", f"/identities/{user}/:issueAccessToken?{V}", b'{"scopes":["chat"]}')
    text = (await api.http.get("/metrics")).text
    assert 'route="/identities/{id}/:issueAccessToken",status="200"' in text
    assert "switchboard_http_request_duration_seconds_bucket" in text


async def test_jwks_publishes_the_signing_key(api: Node) -> None:
    user = quote(await api.new_user(), safe="")
    response = await api.signed(
        "POST", f"/identities/{user}/:issueAccessToken?{V}", b'{"scopes":["chat"]}'
    )
    token = response.json()["token"]
    header = token.split(".")[0]
    kid = httpx.Response(200, content=base64.urlsafe_b64decode(header + "==")).json()["kid"]
    keys = (await api.http.get("/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in keys] == [kid]
    assert keys[0]["kty"] == "EC" and keys[0]["crv"] == "P-256"


async def test_me_needs_a_bearer_token(api: Node) -> None:
    assert (await api.http.get("/me")).status_code == 401
    bad = await api.http.get("/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "InvalidToken"


async def test_browser_modules_are_served_to_any_origin(api: Node) -> None:
    response = await api.http.get("/sdk/chat.js", headers={"Origin": "https://app.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "ChatRealtimeClient" in response.text


async def test_every_module_the_browser_sdks_import_is_served_to_any_origin(api: Node) -> None:
    """chat.js and calling.js import their siblings (./ws-session.js, …) by relative URL: each
    must be served, cross-origin too, or the SDK does not load."""
    relative_import = re.compile(r'^(?:import|export)\b[^;]*?from "\./([\w-]+\.js)";', re.M | re.S)
    served: set[str] = set()
    waiting = ["chat.js", "calling.js"]
    while waiting:
        name = waiting.pop()
        if name in served:
            continue
        response = await api.http.get(f"/sdk/{name}", headers={"Origin": "https://app.example"})
        assert response.status_code == 200, name
        assert response.headers["access-control-allow-origin"] == "*"
        served.add(name)
        waiting.extend(relative_import.findall(response.text))
    assert {"ws-session.js", "calling-signaling.js", "calling-events.js"} <= served


async def test_a_captured_request_replayed_with_look_alike_signed_headers_mints_nothing(
    api: Node,
) -> None:
    """Issue 13's attack on a node: the old date and body hash moved into made-up signed
    headers, a fresh x-ms-date and a new body's hash beside them, unsigned."""
    target = f"/identities?{V}"
    old_body = b"{}"
    captured = {
        "x-captured-date": formatdate(timeval=time.time() - 6 * 3600, usegmt=True),
        "host": HOST,
        "x-captured-hash": base64.b64encode(hashlib.sha256(old_body).digest()).decode(),
    }
    names = ["x-captured-date", "host", "x-captured-hash"]
    new_body = b'{"createTokenWithScopes": ["chat"]}'
    headers = captured | {
        "Authorization": sign_headers("POST", target, captured, names, api.key),
        "x-ms-date": formatdate(usegmt=True),
        "x-ms-content-sha256": base64.b64encode(hashlib.sha256(new_body).digest()).decode(),
        "Content-Type": "application/json",
    }
    response = await api.http.post(target, content=new_body, headers=headers)
    assert response.status_code == 401
    assert "SignedHeaders must include" in response.json()["error"]["message"]


async def test_json_nested_a_thousand_levels_deep_is_a_400_not_a_500(api: Node) -> None:
    body = b'{"a":' * 1000 + b"1" + b"}" * 1000  # 6 KB
    response = await api.signed("POST", "/rooms?api-version=2024-04-15", body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The request body is nested too deeply."


@pytest.mark.parametrize(
    "target",
    [
        "/phoneNumbers?api-version=2025-06-01&skip=99999999999999999999",
        "/availablePhoneNumbers/countries?api-version=2025-06-01&skip=2147483648",
    ],
)
async def test_a_skip_past_any_integer_column_is_a_400(api: Node, target: str) -> None:
    response = await api.signed("GET", target)
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "skip"


async def test_errors_outside_the_acs_routes_have_the_acs_shape_and_log_no_traceback(
    api: Node, caplog: pytest.LogCaptureFixture
) -> None:
    missing = await api.http.get("/sdk/no-such-module.js")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"
    posted = await api.http.post("/sdk/chat.js")
    assert posted.status_code == 405
    assert posted.json()["error"]["code"] == "MethodNotAllowed"
    health = await api.http.post("/health")
    assert health.status_code == 405
    assert health.headers["content-type"].startswith("application/json")
    assert health.json()["error"]["code"] == "MethodNotAllowed"
    assert set(health.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert "unhandled error" not in caplog.text
