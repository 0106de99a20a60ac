"""Per-number send rates: over the rate a message waits in the queue instead of failing.

A generic cell-rate algorithm (a token bucket without a timer): each number has a
"theoretical arrival time"; a send may go when that time is at most ``burst`` intervals ahead
of now. The limit is per node (each node paces what it sends itself).
"""

from __future__ import annotations


class SendRateLimiter:
    def __init__(self, per_minute: float, *, burst: int = 1) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self._interval = 60.0 / per_minute
        self._tolerance = self._interval * max(burst - 1, 0)
        self._tat: dict[str, float] = {}

    def reserve(self, number: str, now: float) -> float:
        """0 when a message from ``number`` may go now (and counts it); otherwise how many
        seconds until it may (nothing is counted)."""
        tat = max(self._tat.get(number, now), now)
        wait = tat - self._tolerance - now
        if wait > 0:
            return wait
        self._tat[number] = tat + self._interval
        return 0.0
