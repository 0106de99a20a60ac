"""A trusted proxy's forwarded headers set the request's scheme, host and client; anyone
else's are ignored (http/proxy.py)."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from switchboard.http.proxy import ForwardedHeadersMiddleware, parse_networks

pytestmark = pytest.mark.anyio


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """What a route would see: scheme, host header, server and client."""
    headers = dict(scope["headers"])
    body = json.dumps(
        {
            "scheme": scope["scheme"],
            "host": headers[b"host"].decode(),
            "server": list(scope["server"]),
            "client": scope["client"][0],
        }
    ).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def seen(
    peer: str, headers: dict[str, str], trusted: str = "10.0.0.0/8"
) -> dict[str, object]:
    app = ForwardedHeadersMiddleware(echo, parse_networks([trusted, "::1"]))
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://node:8080") as http:
        response = await http.get("/x", headers=headers)
    result: dict[str, object] = response.json()
    return result


X_FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "sb.example.com",
    "X-Forwarded-For": "198.51.100.7, 10.0.0.3",
}


async def test_a_trusted_proxy_sets_scheme_host_and_client() -> None:
    view = await seen("10.0.0.2", X_FORWARDED)
    assert view == {
        "scheme": "https",
        "host": "sb.example.com",
        "server": ["sb.example.com", 443],
        "client": "198.51.100.7",  # the first address from the right that is no proxy
    }


async def test_an_untrusted_peer_cannot_claim_a_host() -> None:
    view = await seen("192.0.2.9", X_FORWARDED)
    assert view == {
        "scheme": "http",
        "host": "node:8080",
        "server": ["node", 8080],
        "client": "192.0.2.9",
    }


async def test_a_forwarded_port_joins_the_host_unless_it_is_the_default() -> None:
    view = await seen("10.0.0.2", {**X_FORWARDED, "X-Forwarded-Port": "8443"})
    assert view["host"] == "sb.example.com:8443"
    assert view["server"] == ["sb.example.com", 8443]
    view = await seen("10.0.0.2", {**X_FORWARDED, "X-Forwarded-Port": "443"})
    assert view["host"] == "sb.example.com"


async def test_rfc_7239_forwarded_wins_over_x_forwarded() -> None:
    headers = {
        **X_FORWARDED,
        "Forwarded": 'for=203.0.113.5;proto=https;host="api.example.org:9443", for=10.0.0.3',
    }
    view = await seen("10.0.0.2", headers)
    # The last element is what the nearest proxy saw; its host came with no port here.
    assert view["scheme"] == "http"  # the nearest hop named no proto
    headers["Forwarded"] = 'for="[2001:db8::1]:4711";proto=https;host="api.example.org:9443"'
    view = await seen("10.0.0.2", headers)
    assert view == {
        "scheme": "https",
        "host": "api.example.org:9443",
        "server": ["api.example.org", 9443],
        "client": "2001:db8::1",
    }


async def test_a_request_without_forwarded_headers_is_untouched() -> None:
    view = await seen("10.0.0.2", {})
    assert view["host"] == "node:8080" and view["scheme"] == "http"


async def test_an_ipv6_peer_and_an_ipv4_mapped_one_are_matched() -> None:
    assert (await seen("::1", X_FORWARDED))["host"] == "sb.example.com"
    assert (await seen("::ffff:10.1.2.3", X_FORWARDED))["host"] == "sb.example.com"


async def test_websocket_scheme_becomes_wss() -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)

    middleware = ForwardedHeadersMiddleware(app, parse_networks(["127.0.0.1"]))
    scope: Scope = {
        "type": "websocket",
        "scheme": "ws",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080),
        "headers": [(b"host", b"127.0.0.1:8080"), (b"x-forwarded-proto", b"https")],
    }

    async def nothing() -> dict[str, object]:
        return {}

    async def ignore(_: object) -> None:
        return None

    await middleware(scope, nothing, ignore)
    assert scopes[0]["scheme"] == "wss"
