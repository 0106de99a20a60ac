from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from switchboard.core.errors import NotFoundError
from switchboard.http.context import RequestContextMiddleware
from switchboard.http.metrics import Metrics, MetricsMiddleware, metrics_endpoint

pytestmark = pytest.mark.anyio

REQUESTS = "switchboard_http_requests_total"
DURATION = "switchboard_http_request_duration_seconds"
DURATION_COUNT = "switchboard_http_request_duration_seconds_count"
DURATION_SUM = "switchboard_http_request_duration_seconds_sum"
IN_FLIGHT = "switchboard_http_requests_in_flight"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def get_thing(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"]})


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError("boom")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def client(metrics: Metrics) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(
        routes=[
            Route("/things/{id}", get_thing),
            Route("/boom", boom),
            Route("/metrics", metrics_endpoint(metrics)),
        ]
    )
    transport = httpx.ASGITransport(app=MetricsMiddleware(app, metrics), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def test_requests_are_counted_by_route_template_and_status(
    metrics: Metrics, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/things/abc")).status_code == 200
    assert (await client.get("/things/xyz")).status_code == 200

    labels = {"method": "GET", "route": "/things/{id}", "status": "200"}
    assert sample(metrics, REQUESTS, **labels) == 2
    series = [
        s for f in text_string_to_metric_families(metrics.render()[0].decode()) for s in f.samples
    ]
    assert not [s for s in series if "abc" in s.labels.get("route", "")]
    assert sample(metrics, IN_FLIGHT) == 0


async def test_unmatched_path_is_labelled_unmatched(
    metrics: Metrics, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/nowhere/123")).status_code == 404

    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert sample(metrics, REQUESTS, **labels) == 1


async def test_exception_is_counted_as_500(metrics: Metrics, client: httpx.AsyncClient) -> None:
    assert (await client.get("/boom")).status_code == 500

    labels = {"method": "GET", "route": "/boom", "status": "500"}
    assert sample(metrics, REQUESTS, **labels) == 1
    assert sample(metrics, IN_FLIGHT) == 0


async def test_exception_before_response_start_is_counted_as_500_and_reraised(
    metrics: Metrics,
) -> None:
    async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("no response")

    transport = httpx.ASGITransport(app=MetricsMiddleware(bare_app, metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as bare_client:
        with pytest.raises(RuntimeError, match="no response"):
            await bare_client.post("/anything")

    labels = {"method": "POST", "route": "unmatched", "status": "500"}
    assert sample(metrics, REQUESTS, **labels) == 1
    assert sample(metrics, DURATION_COUNT, method="POST", route="unmatched") == 1
    assert sample(metrics, IN_FLIGHT) == 0


async def test_latency_histogram_records_each_request(
    metrics: Metrics, client: httpx.AsyncClient
) -> None:
    for i in range(3):
        await client.get(f"/things/{i}")

    assert sample(metrics, DURATION_COUNT, method="GET", route="/things/{id}") == 3
    total = sample(metrics, DURATION_SUM, method="GET", route="/things/{id}")
    assert total is not None and total > 0


async def test_metrics_endpoint_serves_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/things/1")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert families["switchboard_http_requests"].type == "counter"
    assert families["switchboard_http_request_duration_seconds"].type == "histogram"
    assert families["switchboard_http_requests_in_flight"].type == "gauge"
    (thing,) = [
        s
        for s in families["switchboard_http_requests"].samples
        if s.name == REQUESTS and s.labels["route"] == "/things/{id}"
    ]
    assert thing.labels == {"method": "GET", "route": "/things/{id}", "status": "200"}
    assert thing.value == 1


def test_latency_is_counted_in_the_first_bucket_at_or_above_it(metrics: Metrics) -> None:
    metrics.observe("GET", "/x", 200, 0.0005)
    metrics.observe("GET", "/x", 200, 0.0006)
    metrics.observe("GET", "/x", 200, 60.0)

    def bucket(le: str) -> float | None:
        labels = {"method": "GET", "route": "/x", "le": le}
        return metrics.registry.get_sample_value(f"{DURATION}_bucket", labels)

    assert bucket("0.0005") == 1
    assert bucket("0.001") == 2
    assert bucket("5.0") == 2
    assert bucket("+Inf") == 3
    assert sample(metrics, DURATION_COUNT, method="GET", route="/x") == 3


async def test_request_context_middleware_counts_the_errors_it_renders(metrics: Metrics) -> None:
    async def missing(scope: Scope, receive: Receive, send: Send) -> None:
        raise NotFoundError("no such thing")

    app = RequestContextMiddleware(missing, metrics)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.delete("/gone")

    assert response.status_code == 404
    labels = {"method": "DELETE", "route": "unmatched", "status": "404"}
    assert sample(metrics, REQUESTS, **labels) == 1
    assert sample(metrics, IN_FLIGHT) == 0
