"""Event-loop lag: how late a short sleep wakes up, sampled a few times a second.

    LoopLagMonitor.run(): loop { t0; sleep(interval); lag = now − t0 − interval } ─▶ the
        worst lag since the previous scrape, and a histogram of all (Prometheus collector)

A loop busy with a long callback (a full GC, a slow handler, a sync call) wakes the sampler
late by that much: the same delay every other request and packet on the loop suffered. One
task, one timer every ``interval``: nothing on any request's path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from time import perf_counter

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.core.histogram import Histogram

LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class LoopLagMonitor(Collector):
    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.last = 0.0
        self._worst = 0.0  # since the last scrape
        self._lags = Histogram(LAG_BUCKETS)

    async def run(self) -> None:
        while True:
            start = perf_counter()
            await asyncio.sleep(self.interval)
            self.record(max(perf_counter() - start - self.interval, 0.0))

    def record(self, lag: float) -> None:
        self.last = lag
        self._worst = max(self._worst, lag)
        self._lags.observe(lag)

    def collect(self) -> Iterator[Metric]:
        worst, self._worst = self._worst, self.last
        yield GaugeMetricFamily(
            "switchboard_event_loop_lag_max_seconds",
            "The worst event-loop lag sampled since the previous scrape.",
            value=worst,
        )
        yield HistogramMetricFamily(
            "switchboard_event_loop_lag_seconds",
            "Event-loop lag samples (one every 0.25 s).",
            buckets=self._lags.cumulative(),
            sum_value=self._lags.total,
        )
