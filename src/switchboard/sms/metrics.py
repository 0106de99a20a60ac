"""SMS's Prometheus series: each carrier's outbound queue, sampled by a query when scraped.

The queue is in the database all nodes share, so every node reports the cluster's queues (a
dashboard takes their ``max``, not their sum)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.core.clock import Clock
from switchboard.sms.store import QueueDepth, SmsStore


class SmsQueueMetrics(Collector):
    """``sample()`` (awaited before each scrape) reads the queue; ``collect()`` reports it.

    A carrier whose queue emptied stays in the series at 0 rather than vanishing, so a graph
    shows the drop instead of a gap."""

    def __init__(
        self, store: SmsStore, clock: Clock, carriers: Callable[[], Iterable[str]]
    ) -> None:
        self._store = store
        self._clock = clock
        self._carriers = carriers  # the carriers this node sends through: shown at 0 too
        self._depths: dict[str, QueueDepth] = {}
        self._now_ms = 0

    async def sample(self) -> None:
        depths = await self._store.queue_depths()
        self._now_ms = int(self._clock.now() * 1000)
        for carrier in {*self._carriers(), *self._depths} - depths.keys():
            depths[carrier] = QueueDepth(0, self._now_ms)
        self._depths = depths

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "switchboard_sms_queue_depth",
            "Outbound SMS messages waiting for their carrier (queued, not yet submitted).",
            labels=("carrier",),
        )
        age = GaugeMetricFamily(
            "switchboard_sms_queue_oldest_age_seconds",
            "Age of the oldest outbound SMS message still waiting for its carrier (0: none).",
            labels=("carrier",),
        )
        for carrier, known in sorted(self._depths.items()):
            depth.add_metric((carrier,), known.messages)
            waited = (self._now_ms - known.oldest_created_ms) / 1000 if known.messages else 0.0
            age.add_metric((carrier,), max(waited, 0.0))
        yield depth
        yield age
