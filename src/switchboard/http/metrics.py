"""Prometheus request metrics: a per-app registry, a pure ASGI middleware and a /metrics endpoint.

Other components register their own collectors on ``Metrics.registry``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["UNMATCHED_ROUTE", "Metrics", "MetricsMiddleware", "metrics_endpoint"]

UNMATCHED_ROUTE = "unmatched"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# Anything else (clients can send arbitrary tokens) is folded into one label value.
_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_OTHER_METHOD = "OTHER"


class Metrics:
    """Request metrics on a registry of their own (never the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "switchboard_http_requests_total",
            "HTTP requests handled, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "switchboard_http_request_duration_seconds",
            "Time from receiving an HTTP request to the end of its response.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "switchboard_http_requests_in_flight",
            "HTTP requests currently being handled.",
            registry=self.registry,
        )
        # labels() validates and locks on every call; cache the children instead.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request and record its latency."""
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(method, route, str(status))
        counter.inc()
        hkey = (method, route)
        histogram = self._histograms.get(hkey)
        if histogram is None:
            histogram = self._histograms[hkey] = self.duration.labels(method, route)
        histogram.observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware measuring ``http`` requests; other scopes pass straight through.

    The route label is the matched route's template (``scope["route"].path``, set by
    Starlette's Router), or ``"unmatched"``. An exception raised before the response
    started counts as status 500 and is re-raised.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        start = perf_counter()
        end: float | None = None
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status, end
            if message["type"] == "http.response.start":
                status = message["status"]
                await send(message)
                return
            await send(message)
            # The final body (or pathsend) ends the response; later trailers don't count.
            if end is None and not message.get("more_body", False):
                end = perf_counter()

        in_flight = self.metrics.in_flight
        in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            in_flight.dec()
            if end is None:
                end = perf_counter()
            method = scope["method"]
            if method not in _KNOWN_METHODS:
                method = _OTHER_METHOD
            route = scope.get("route")
            label = UNMATCHED_ROUTE if route is None else getattr(route, "path", UNMATCHED_ROUTE)
            self.metrics.observe(method, label, status, end - start)


def metrics_endpoint(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving ``metrics`` in the Prometheus text format."""

    async def endpoint(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, status_code=200, media_type=content_type)

    return endpoint
