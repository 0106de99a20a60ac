"""SIP trunks' Prometheus series: each trunk's health (OPTIONS keep-alives, failed INVITEs)
and the calls it carries, read from what the carrier keeps when scraped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.gateways.sip.carrier import SipCarrier, TrunkHealth


class SipTrunkMetrics(Collector):
    """``carrier`` None (no trunks configured): the families, with no series."""

    def __init__(self, carrier: SipCarrier | None) -> None:
        self._carrier = carrier

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "switchboard_sip_trunk_up",
            "1 while a SIP trunk answers (OPTIONS or calls), 0 while it is marked down.",
            labels=("trunk",),
        )
        active = GaugeMetricFamily(
            "switchboard_sip_trunk_active_calls",
            "Calls a SIP trunk carries now, either way.",
            labels=("trunk",),
        )
        carrier = self._carrier
        trunks = sorted(carrier.routing.trunks) if carrier is not None else []
        health = carrier.health if carrier is not None else {}
        for name in trunks:
            state = health.get(name) or TrunkHealth()
            up.add_metric((name,), 1 if state.up else 0)
            active.add_metric((name,), state.active)
        yield up
        yield active
