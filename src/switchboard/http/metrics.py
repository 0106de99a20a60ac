"""Prometheus request metrics: a per-app registry, a pure ASGI middleware and a /metrics endpoint.

Other components register their own collectors on ``Metrics.registry`` (app/observability.py
does, one per domain): most read counters their component keeps anyway, when scraped. What
needs I/O to know (an SMS queue's depth is a query) is an async sampler, awaited by the
endpoint before it renders:

    GET /metrics ─▶ Metrics.sample(): every sampler (a failing one is logged; its series keep
        their last values) ─▶ generate_latest(registry): every collector's collect()

The request metrics are plain counters in dicts, turned into Prometheus families only when
``/metrics`` is scraped (a custom collector). prometheus_client's own Counter/Histogram take
a lock on every ``inc``/``observe`` (five per request here, ≈ 10 µs), which mattered on a
path that serves thousands of requests a second; the requests are all counted on the event
loop's thread, so no lock is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from time import perf_counter

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.core.histogram import Histogram

__all__ = ["UNMATCHED_ROUTE", "Metrics", "MetricsMiddleware", "Sampler", "metrics_endpoint"]

log = logging.getLogger(__name__)

# Refreshes what a collector will report; awaited on each scrape, before rendering.
Sampler = Callable[[], Awaitable[None]]

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
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latency: dict[tuple[str, str], Histogram] = {}
        self.in_flight = 0
        self.registry.register(_RequestCollector(self))
        self._samplers: list[Sampler] = []

    def add(self, collector: Collector, sampler: Sampler | None = None) -> None:
        """Register a component's collector, and what to await before each scrape."""
        self.registry.register(collector)
        if sampler is not None:
            self._samplers.append(sampler)

    async def sample(self) -> None:
        """Run every sampler; one that fails (the database is down) is logged, not raised:
        the rest of the page still answers."""
        results = await asyncio.gather(*(s() for s in self._samplers), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.warning("a metrics sampler failed: %s", result, exc_info=result)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request and record its latency."""
        key = (method, route, status)
        requests = self._requests
        requests[key] = requests.get(key, 0) + 1
        series = self._latency.get((method, route))
        if series is None:
            series = self._latency[(method, route)] = Histogram(LATENCY_BUCKETS)
        series.observe(seconds)

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        """observe() labelled from an ASGI scope: its method and matched route template."""
        method = scope["method"]
        if method not in _KNOWN_METHODS:
            method = _OTHER_METHOD
        route = scope.get("route")
        label = UNMATCHED_ROUTE if route is None else getattr(route, "path", UNMATCHED_ROUTE)
        self.observe(method, label, status, seconds)

    def render(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def families(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "switchboard_http_requests",
            "HTTP requests handled, by method, route template and status.",
            labels=("method", "route", "status"),
        )
        for (method, route, status), count in list(self._requests.items()):
            requests.add_metric((method, route, str(status)), count)
        yield requests
        duration = HistogramMetricFamily(
            "switchboard_http_request_duration_seconds",
            "Time from receiving an HTTP request to the end of its response.",
            labels=("method", "route"),
        )
        for (method, route), series in list(self._latency.items()):
            duration.add_metric((method, route), series.cumulative(), series.total)
        yield duration
        yield GaugeMetricFamily(
            "switchboard_http_requests_in_flight",
            "HTTP requests currently being handled.",
            value=self.in_flight,
        )


class _RequestCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.families()


class MetricsMiddleware:
    """Pure ASGI middleware measuring ``http`` requests; other scopes pass straight through.

    The route label is the matched route's template (``scope["route"].path``, set by the
    router), or ``"unmatched"``. An exception raised before the response started counts as
    status 500 and is re-raised.
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

        metrics = self.metrics
        metrics.in_flight += 1
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            metrics.in_flight -= 1
            if end is None:
                end = perf_counter()
            metrics.observe_request(scope, status, end - start)


def metrics_endpoint(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving ``metrics`` in the Prometheus text format."""

    async def endpoint(request: Request) -> Response:
        await metrics.sample()
        body, content_type = metrics.render()
        return Response(body, status_code=200, media_type=content_type)

    return endpoint
