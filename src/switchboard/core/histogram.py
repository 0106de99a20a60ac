"""A histogram as plain counts: ``observe`` costs a bisect and two additions, no lock.

The metric collectors (http/metrics.py, calling/metrics.py, http/loop_lag.py) keep their
distributions in these, on the event loop's thread, and turn them into Prometheus histogram
families only when scraped (``cumulative()`` gives the ``le`` buckets in that format).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


class Histogram:
    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)  # upper bounds, ascending; +Inf is implied
        self.counts = [0] * (len(self.bounds) + 1)  # per bucket, not cumulative
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # a value on a bound is ``le`` it
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        """``(le, count)`` pairs as Prometheus writes them, the last one ``+Inf``."""
        labels = [*(repr(float(bound)) for bound in self.bounds), "+Inf"]
        running, buckets = 0, []
        for label, count in zip(labels, self.counts, strict=True):
            running += count
            buckets.append((label, float(running)))
        return buckets
