"""Domain collectors on their own: what they count from the facts they are given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.routing import Route

from switchboard.calling.lifecycle import Lifecycle, LifecycleKind
from switchboard.calling.metrics import CallMetrics
from switchboard.calling.models import BUSY, HUNG_UP, EndReason
from switchboard.calling.pstn.ports import InboundPhoneCall, PhoneCallListener
from switchboard.gateways.sip import SipCarrier
from switchboard.gateways.sip.metrics import SipTrunkMetrics
from switchboard.gateways.sip.trunks import routing_from_tables
from switchboard.http.loop_lag import LoopLagMonitor
from switchboard.http.metrics import Metrics, metrics_endpoint

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Person:
    id: str
    user_id: str
    display_name: str = ""


class Recorded:
    def __init__(self) -> None:
        self.facts: list[Lifecycle] = []

    def offer(self, events: Sequence[Lifecycle]) -> None:
        self.facts.extend(events)


def fact(
    kind: LifecycleKind,
    call: str,
    at: float,
    *,
    participant: Person | None = None,
    reason: EndReason | None = None,
    two_party: bool = True,
) -> Lifecycle:
    return Lifecycle(
        kind, call, at, "alice", participant=participant, reason=reason, two_party=two_party
    )


def registry_of(*collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    return registry


def test_call_metrics_time_the_setup_count_ends_by_reason_and_pass_every_fact_on() -> None:
    inner = Recorded()
    metrics = CallMetrics(inner)
    registry = registry_of(metrics)
    alice, bob = Person("p1", "alice"), Person("p2", "bob")
    facts = [
        fact(LifecycleKind.CALL_STARTED, "c1", 10.0),
        fact(LifecycleKind.PARTICIPANT_ADDED, "c1", 10.0, participant=alice),  # the caller
        fact(LifecycleKind.PARTICIPANT_ADDED, "c1", 11.5, participant=bob),  # answered
        fact(LifecycleKind.CALL_STARTED, "c2", 12.0),
        fact(LifecycleKind.CALL_STARTED, "g1", 12.0, two_party=False),
    ]
    metrics.offer(facts)
    get = registry.get_sample_value
    assert get("switchboard_calls_active", {"kind": "two_party"}) == 2
    assert get("switchboard_calls_active", {"kind": "group"}) == 1
    assert get("switchboard_call_setup_seconds_count") == 1
    assert get("switchboard_call_setup_seconds_sum") == 1.5
    assert get("switchboard_call_setup_seconds_bucket", {"le": "1.0"}) == 0
    assert get("switchboard_call_setup_seconds_bucket", {"le": "2.0"}) == 1

    metrics.offer([fact(LifecycleKind.CALL_ENDED, "c1", 20.0, reason=HUNG_UP)])
    metrics.offer([fact(LifecycleKind.CALL_ENDED, "c2", 20.0, reason=BUSY)])  # never set up
    assert get("switchboard_calls_active", {"kind": "two_party"}) == 0
    assert get("switchboard_calls_started_total", {"kind": "two_party"}) == 2
    ended = "switchboard_calls_ended_total"
    assert get(ended, {"kind": "two_party", "code": "0", "subcode": "0"}) == 1
    assert get(ended, {"kind": "two_party", "code": "486", "subcode": "0"}) == 1
    assert get("switchboard_call_setup_seconds_count") == 1  # the busy call had no setup
    assert len(inner.facts) == len(facts) + 2


class NoCalls:
    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        raise AssertionError("no call was expected")


def test_sip_trunks_report_up_down_and_their_active_calls() -> None:
    routing = routing_from_tables(
        [{"name": "east", "host": "127.0.0.1"}, {"name": "west", "host": "127.0.0.2"}], []
    )
    carrier = SipCarrier(routing, NoCalls())
    registry = registry_of(SipTrunkMetrics(carrier))
    east, west = routing.trunks["east"], routing.trunks["west"]
    assert carrier.acquire(east) and carrier.acquire(east)
    carrier.trunk_unresponsive(west)  # no answer to an INVITE: down until OPTIONS says so
    get = registry.get_sample_value
    assert get("switchboard_sip_trunk_up", {"trunk": "east"}) == 1
    assert get("switchboard_sip_trunk_up", {"trunk": "west"}) == 0
    assert get("switchboard_sip_trunk_active_calls", {"trunk": "east"}) == 2
    carrier.release(east)
    assert get("switchboard_sip_trunk_active_calls", {"trunk": "east"}) == 1
    assert get("switchboard_sip_trunk_active_calls", {"trunk": "west"}) == 0
    none = registry_of(SipTrunkMetrics(None))  # no trunks configured: no series
    assert none.get_sample_value("switchboard_sip_trunk_up", {"trunk": "east"}) is None


def test_loop_lag_keeps_the_worst_sample_until_it_is_scraped() -> None:
    monitor = LoopLagMonitor()
    registry = registry_of(monitor)
    for lag in (0.002, 0.3, 0.004):
        monitor.record(lag)
    assert registry.get_sample_value("switchboard_event_loop_lag_max_seconds") == 0.3
    # the scrape above reset it to the latest sample
    assert registry.get_sample_value("switchboard_event_loop_lag_max_seconds") == 0.004
    assert registry.get_sample_value("switchboard_event_loop_lag_seconds_count") == 3
    assert (
        registry.get_sample_value("switchboard_event_loop_lag_seconds_bucket", {"le": "0.25"}) == 2
    )


async def test_a_failing_sampler_leaves_the_rest_of_the_page_answering() -> None:
    metrics = Metrics()
    calls: list[str] = []

    async def broken() -> None:
        raise ConnectionError("database down")

    async def working() -> None:
        calls.append("sampled")

    metrics.add(LoopLagMonitor(), broken)
    metrics.add(CallMetrics(None), working)
    app = Starlette(routes=[Route("/metrics", metrics_endpoint(metrics))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "switchboard_calls_active" in response.text
    assert "switchboard_event_loop_lag_seconds_count" in response.text
    assert calls == ["sampled"]
