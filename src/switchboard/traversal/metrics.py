"""TURN's Prometheus series. Allocations live inside coturn (another process, which Debian
builds without its Prometheus exporter), so what this node can see is what it hands out: the
credentials, and whether the TURN server is believed to answer."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.traversal.service import RelayService


class TurnMetrics(Collector):
    def __init__(self, relay: RelayService) -> None:
        self._relay = relay

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "switchboard_turn_credentials_issued",
            "TURN credentials handed out (Network Traversal API and calling's ICE servers).",
            value=self._relay.issued,
        )
        yield GaugeMetricFamily(
            "switchboard_turn_available",
            "1 while the TURN server is believed to answer, 0 when it is known not to.",
            value=1 if self._relay.available else 0,
        )
