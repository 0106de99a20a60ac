"""Callback delivery rules: which answers are retried or dropped, which URLs we call, and the
dispatcher's order per call (head of line) with calls in parallel, on the memory queue."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.automation.callbacks_dispatcher import CallbackDispatcher
from switchboard.automation.callbacks_sender import (
    CallbackRetryPolicy,
    CallbackUrls,
    PostResult,
    Verdict,
)
from switchboard.automation.callbacks_store import (
    CallbackBatch,
    ClaimedBatch,
    MemoryCallbackQueue,
)
from switchboard.core.clock import SystemClock
from switchboard.core.config import Mode
from switchboard.core.errors import EndpointRefusedError
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy, Resolver
from switchboard.events.retry import RetryPolicy

pytestmark = pytest.mark.anyio

WINDOW_MS = 300_000
POLICY = CallbackRetryPolicy(RetryPolicy(0.1), window_ms=WINDOW_MS)


def decide(result: PostResult, attempts: int = 1, now_ms: int = 0) -> Verdict:
    return POLICY.after(result, attempts_made=attempts, now_ms=now_ms, enqueued_ms=0).verdict


@pytest.mark.parametrize("status", [200, 202, 204])
def test_any_2xx_is_delivered(status: int) -> None:
    assert decide(PostResult(status)) is Verdict.DELIVERED


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413])
def test_a_4xx_other_than_408_or_429_drops_at_once(status: int) -> None:
    assert decide(PostResult(status, "no")) is Verdict.DROPPED


@pytest.mark.parametrize("status", [None, 302, 408, 429, 500, 502, 503])
def test_network_errors_5xx_408_and_429_are_retried(status: int | None) -> None:
    assert decide(PostResult(status, "later")) is Verdict.RETRIED


def test_a_refused_url_is_dropped_without_retrying() -> None:
    assert decide(PostResult(None, "loopback", refused=True)) is Verdict.DROPPED


def test_the_schedule_is_event_grids_scaled_down() -> None:
    delays = [
        POLICY.after(PostResult(503), attempts_made=n, now_ms=0, enqueued_ms=0).next_attempt_ms
        for n in (1, 2, 3)
    ]
    assert delays == [1000, 3000, 6000]


@given(
    attempts=st.integers(1, 50),
    now_ms=st.integers(0, 10 * WINDOW_MS),
    status=st.sampled_from([None, 408, 429, 500, 503]),
)
def test_no_retry_is_scheduled_past_the_window(
    attempts: int, now_ms: int, status: int | None
) -> None:
    decision = POLICY.after(
        PostResult(status), attempts_made=attempts, now_ms=now_ms, enqueued_ms=0
    )
    if decision.verdict is Verdict.RETRIED:
        assert decision.next_attempt_ms is not None
        assert now_ms < decision.next_attempt_ms <= WINDOW_MS
    else:
        assert decision.verdict is Verdict.DROPPED


async def _resolve_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def _resolve_public(host: str, port: int) -> list[str]:
    return ["203.0.113.10" if host == "ivr.example" else "8.8.8.8"]


def urls(mode: Mode, resolver: Resolver = _resolve_loopback) -> CallbackUrls:
    guard = EndpointGuard(EndpointPolicy.for_mode(mode), resolver)
    return CallbackUrls(guard, https_only=mode is Mode.PRODUCTION)


async def test_production_refuses_plain_http_with_the_field_named() -> None:
    with pytest.raises(EndpointRefusedError) as refused:
        await urls(Mode.PRODUCTION, _resolve_public).check("http://app.example/cb")
    assert refused.value.status == 400
    assert refused.value.target == "callbackUri"


async def test_production_refuses_an_https_url_resolving_to_loopback() -> None:
    with pytest.raises(EndpointRefusedError):
        await urls(Mode.PRODUCTION).check("https://app.example/cb", "operationCallbackUri")


async def test_production_accepts_a_public_https_url() -> None:
    await urls(Mode.PRODUCTION, _resolve_public).check("https://app.example/cb")


async def test_development_calls_anything_http_on_loopback_included() -> None:
    await urls(Mode.DEVELOPMENT).check("http://127.0.0.1:3000/cb")


@pytest.mark.parametrize("url", ["", "ftp://app.example/x", "/relative", "https://"])
async def test_malformed_urls_are_refused_in_every_mode(url: str) -> None:
    with pytest.raises(EndpointRefusedError):
        await urls(Mode.DEVELOPMENT).check(url)


class ScriptedPoster:
    """Answers 503 to the first ``failures`` attempts of chosen batches, 404 to others."""

    def __init__(self, failures: dict[bytes, int], rejected: set[bytes]) -> None:
        self.failures = failures
        self.rejected = rejected
        self.seen: dict[str, list[bytes]] = defaultdict(list)
        self.in_flight = 0
        self.most_in_flight = 0
        self.awaited: set[bytes] = set()  # set ``done`` once all of these were delivered
        self.done = asyncio.Event()

    async def post(self, batch: ClaimedBatch) -> PostResult:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.005)  # let other calls' POSTs overlap this one
        self.in_flight -= 1
        self.seen[batch.call_connection_id].append(batch.body)
        if self.failures.get(batch.body, 0) > 0:
            self.failures[batch.body] -= 1
            return PostResult(503, "busy")
        if batch.body in self.rejected:
            return PostResult(404, "gone")
        self.awaited.discard(batch.body)
        if not self.awaited:
            self.done.set()
        return PostResult(200)


async def test_each_call_is_delivered_in_order_despite_retries_and_drops() -> None:
    queue = MemoryCallbackQueue()
    poster = ScriptedPoster(failures={b"a1": 2, b"b0": 1}, rejected={b"a2"})
    poster.awaited = {b"a3", b"b2", b"c2"}  # each call's last batch
    clock = SystemClock()
    dispatcher = CallbackDispatcher(
        queue,
        poster,
        policy=CallbackRetryPolicy(RetryPolicy(0.0001), window_ms=60_000),
        clock=clock,
        concurrency=4,
        poll_seconds=0.05,
        lease_seconds=10,
    )
    await dispatcher.start()
    try:
        for call, count in (("a", 4), ("b", 3), ("c", 3)):
            for n in range(count):
                body = f"{call}{n}".encode()
                await queue.enqueue(
                    CallbackBatch(call, "http://x/", body, 1, int(clock.now() * 1000))
                )
        dispatcher.wake()
        async with asyncio.timeout(10):
            await poster.done.wait()
    finally:
        await dispatcher.stop(grace_seconds=1)
    assert poster.seen["a"] == [b"a0", b"a1", b"a1", b"a1", b"a2", b"a3"]
    assert poster.seen["b"] == [b"b0", b"b0", b"b1", b"b2"]
    assert poster.seen["c"] == [b"c0", b"c1", b"c2"]
    assert [await queue.backlog(call) for call in "abc"] == [0, 0, 0]
    assert poster.most_in_flight > 1  # calls do not wait for each other
