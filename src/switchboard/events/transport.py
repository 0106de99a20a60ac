"""The HTTP client deliveries go through: every connection is checked by the EndpointGuard.

    httpx.AsyncClient ─▶ _GuardedTransport ─▶ httpcore pool ─▶ GuardedNetworkBackend.connect_tcp
                                                               ├─ guard.addresses(host) (resolve
                                                               │  once, refuse per policy)
                                                               └─ connect to those addresses

The pool is keyed by the URL's host, TLS uses that host for SNI and certificate checks, and
the TCP connection goes only to addresses the guard approved. No environment proxies
(``trust_env=False``): a proxy would make the connection for us, unchecked. No redirects: a
3xx is a failed delivery, as with Event Grid.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from switchboard.events.endpoints import EndpointGuard

_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self, guard: EndpointGuard, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._guard.addresses(host, port)
        except OSError as exc:  # name resolution: a connect failure like any other
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not delivered to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx offers no public hook for the network backend, so we replace the connection pool
    it built with one that has ours. Trap: ``_pool`` is private to httpx; the unit test
    ``test_delivery_client_refuses_loopback_in_production`` fails if an upgrade renames it."""

    def __init__(self, guard: EndpointGuard, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(guard),
        )


def delivery_client(guard: EndpointGuard, *, timeout: float, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        transport=_GuardedTransport(guard, limits),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "Switchboard-Events/1.0"},
    )
