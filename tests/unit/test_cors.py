"""http/cors.py: preflights and response headers on the routes browser SDKs call, in-process
(httpx over ASGI, a stand-in app behind the middleware)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from switchboard.core.config import load_config, load_settings
from switchboard.core.sections import ConfigError
from switchboard.http.cors import CorsMiddleware, CorsPolicy, normalize_origin

pytestmark = pytest.mark.anyio

APP = "https://app.example.com"
SDK_PREFLIGHT_HEADERS = (
    "authorization,content-type,x-ms-client-request-id,x-ms-useragent,"
    "repeatability-request-id,repeatability-first-sent,traceparent"
)


async def behind(scope: Scope, receive: Receive, send: Send) -> None:
    """What the middleware wraps: 401 on /me without a token, 201 with a Location otherwise."""
    request = Request(scope, receive)
    response: Response
    if request.url.path == "/me" and "authorization" not in request.headers:
        response = JSONResponse({"error": {"code": "Unauthorized", "message": "no"}}, 401)
    else:
        response = JSONResponse({"ok": True}, 201, headers={"Location": "https://sb/x"})
    await response(scope, receive, send)


def client(policy: CorsPolicy) -> httpx.AsyncClient:
    app = CorsMiddleware(behind, policy, ("/chat", "/me"))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://sb")


def preflight(
    origin: str, method: str = "POST", headers: str = SDK_PREFLIGHT_HEADERS
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


async def test_a_preflight_from_an_allowed_origin_allows_the_sdk_headers() -> None:
    async with client(CorsPolicy([APP])) as http:
        answer = await http.options("/chat/threads?api-version=2025-03-15", headers=preflight(APP))
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == APP
    assert "PATCH" in answer.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert allowed == set(SDK_PREFLIGHT_HEADERS.split(","))
    assert answer.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in answer.headers


async def test_a_preflight_from_another_origin_is_refused_with_an_acs_error() -> None:
    async with client(CorsPolicy([APP])) as http:
        answer = await http.options("/chat/threads", headers=preflight("https://evil.example"))
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers
    assert answer.json()["error"]["code"] == "CorsRequestNotAllowed"


async def test_a_preflight_asking_for_a_header_no_sdk_sends_is_refused() -> None:
    async with client(CorsPolicy([APP])) as http:
        answer = await http.options("/me", headers=preflight(APP, "GET", "authorization,x-evil"))
    assert answer.status_code == 403
    assert "x-evil" in answer.json()["error"]["message"]


async def test_responses_to_an_allowed_origin_expose_location_even_on_errors() -> None:
    async with client(CorsPolicy([APP])) as http:
        created = await http.post("/chat/threads", headers={"Origin": APP}, json={})
        refused = await http.get("/me", headers={"Origin": APP})
    assert created.headers["access-control-allow-origin"] == APP
    assert "Location" in created.headers["access-control-expose-headers"]
    assert refused.status_code == 401  # the SDK can read the ACS error body
    assert refused.headers["access-control-allow-origin"] == APP


async def test_other_origins_and_other_routes_get_no_cors_headers() -> None:
    async with client(CorsPolicy([APP])) as http:
        other_origin = await http.get("/chat/threads", headers={"Origin": "https://evil.example"})
        other_route = await http.get("/identities", headers={"Origin": APP})
        same_origin = await http.get("/chat/threads")  # no Origin: not a cross-origin call
        not_a_prefix = await http.get("/chatter", headers={"Origin": APP})
    for answer in (other_origin, other_route, same_origin, not_a_prefix):
        assert "access-control-allow-origin" not in answer.headers


async def test_paths_match_without_regard_to_case_as_the_routes_do() -> None:
    async with client(CorsPolicy([APP])) as http:
        answer = await http.options("/CHAT/Threads", headers=preflight(APP))
    assert answer.status_code == 204


async def test_development_mode_allows_any_origin_production_none() -> None:
    development = CorsPolicy.configured((), development=True)
    production = CorsPolicy.configured((), development=False)
    assert development.allows("http://localhost:5173") and development.allows(APP)
    assert not production.allows("http://localhost:5173")
    async with client(production) as http:
        answer = await http.options("/chat/threads", headers=preflight(APP))
    assert answer.status_code == 403


def test_origins_compare_normalized() -> None:
    policy = CorsPolicy(["HTTPS://App.Example.com:443/", "http://localhost:5173"])
    assert policy.allows(APP)
    assert policy.allows("http://localhost:5173")
    assert not policy.allows("http://localhost:5174")
    assert not policy.allows("null")  # sandboxed iframes and file:// pages
    assert normalize_origin("http://[::1]:8080") == "http://[::1]:8080"


def test_a_bad_origin_in_the_config_fails_at_start() -> None:
    with pytest.raises(ConfigError):
        CorsPolicy.configured(["app.example.com"], development=False)


def test_origins_come_from_the_config_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('cors_allowed_origins = ["https://a.example", "https://b.example"]\n')
    from_file = load_config(config_file=path, environ={}).server.cors_allowed_origins
    assert from_file == ("https://a.example", "https://b.example")
    env = {"SWITCHBOARD_CORS_ALLOWED_ORIGINS": "https://c.example, http://localhost:3000"}
    from_env = load_settings(config_file=path, environ=env).cors_allowed_origins
    assert from_env == ("https://c.example", "http://localhost:3000")
