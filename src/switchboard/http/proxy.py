"""Behind a reverse proxy: the client's scheme, host and address from the proxy's headers.

A TLS-terminating proxy (nginx, a load balancer) connects to the node over plain HTTP from its
own address; what the client addressed (``https://sb.example.com``) and who the client is
arrive in headers the proxy sets. Only a peer in ``trusted_proxies`` may set them: anyone
else could claim any host, so their forwarded headers are ignored.

    peer (scope["client"]) in trusted_proxies?
      no  ─▶ the request as it came
      yes ─▶ Forwarded (RFC 7239), else X-Forwarded-Proto / -Host / -Port / -For
             ─▶ scope["scheme"] (http→https, ws→wss), the ``host`` header, scope["server"],
                scope["client"] (the first address, from the right, that is not a proxy)

Rewriting the scope once, outermost, is what makes every consumer agree: the HMAC check signs
the ``host`` header, and absolute links (``nextLink``, ``Location``, ``Operation-Location``)
start with ``request.base_url``, both read from the scope.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SECURE = {"http": "https", "ws": "wss"}
_PLAIN = {"https": "http", "wss": "ws"}
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs or single addresses (``10.0.0.0/8``, ``127.0.0.1``), as config_checks.py
    checked them."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def address_in(address: str | None, networks: Sequence[Network]) -> bool:
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


class ForwardedHeadersMiddleware:
    """Applies a trusted proxy's forwarded headers to the scope (HTTP and WebSocket)."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client and address_in(client[0], self.trusted):
                scope = self.forwarded_scope(scope)
        await self.app(scope, receive, send)

    def forwarded_scope(self, scope: Scope) -> Scope:
        view = forwarded_view(scope["headers"])
        if view is None:
            return scope
        scope = dict(scope)
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        if view.proto in ("http", "https"):
            secure = view.proto == "https"
            scheme: str = scope["scheme"]
            scope["scheme"] = _SECURE.get(scheme, scheme) if secure else _PLAIN.get(scheme, scheme)
        if view.host:
            host = view.host
            if view.port and ":" not in host.rsplit("]", 1)[-1]:
                default = _DEFAULT_PORTS.get(scope["scheme"])
                if str(default) != view.port:
                    host = f"{host}:{view.port}"
            headers = [(k, v) for k, v in headers if k != b"host"]
            headers.append((b"host", host.encode("latin-1")))
            scope["headers"] = headers
            scope["server"] = _server_of(host, scope["scheme"])
        if view.client is not None:
            client = self._client(view.client)
            if client is not None:
                scope["client"] = (client, 0)
        return scope

    def _client(self, chain: Sequence[str]) -> str | None:
        """The nearest address that is not one of our proxies (right to left)."""
        for address in reversed(chain):
            if not address_in(address, self.trusted):
                return address
        return chain[0] if chain else None


class ForwardedView:
    __slots__ = ("client", "host", "port", "proto")

    def __init__(
        self, proto: str | None, host: str | None, port: str | None, client: list[str] | None
    ) -> None:
        self.proto = proto
        self.host = host
        self.port = port
        self.client = client


def forwarded_view(headers: Iterable[tuple[bytes, bytes]]) -> ForwardedView | None:
    """What the proxy said: ``Forwarded`` if present, else the ``X-Forwarded-*`` headers."""
    found: dict[bytes, list[str]] = {}
    for name, value in headers:
        if name in _NAMES:
            found.setdefault(name, []).append(value.decode("latin-1"))
    if not found:
        return None
    if b"forwarded" in found:
        return _rfc7239(",".join(found[b"forwarded"]))

    def last(name: bytes) -> str | None:
        values = [v.strip() for v in ",".join(found.get(name, [])).split(",") if v.strip()]
        return values[-1] if values else None

    chain = [v.strip() for v in ",".join(found.get(b"x-forwarded-for", [])).split(",")]
    return ForwardedView(
        proto=(last(b"x-forwarded-proto") or "").lower() or None,
        host=last(b"x-forwarded-host"),
        port=last(b"x-forwarded-port"),
        client=[v for v in chain if v] or None,
    )


_NAMES = {
    b"forwarded",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"x-forwarded-port",
}


def _rfc7239(value: str) -> ForwardedView:
    """``for=192.0.2.1;proto=https;host=sb.example.com, for=…``: each element one hop; the
    last element is what the nearest proxy saw."""
    elements: list[dict[str, str]] = []
    for element in value.split(","):
        pairs: dict[str, str] = {}
        for pair in element.split(";"):
            key, sep, raw = pair.partition("=")
            if sep:
                pairs[key.strip().lower()] = raw.strip().strip('"')
        elements.append(pairs)
    nearest = elements[-1] if elements else {}
    chain = [_strip_port(e["for"]) for e in elements if "for" in e]
    return ForwardedView(
        proto=nearest.get("proto", "").lower() or None,
        host=nearest.get("host") or None,
        port=None,
        client=chain or None,
    )


def _strip_port(node: str) -> str:
    if node.startswith("["):
        return node[1:].split("]", 1)[0]
    return node.split(":", 1)[0] if node.count(":") == 1 else node


def _server_of(host: str, scheme: str) -> tuple[str, int]:
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and not name.endswith(":"):
        return (name.strip("[]"), int(port))
    return (host.strip("[]"), _DEFAULT_PORTS.get(scheme, 443))
