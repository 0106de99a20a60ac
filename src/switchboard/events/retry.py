"""When to try a failed delivery again, and when to give up (Event Grid's retry policy).

After the n-th failed attempt the next one waits 10 s, 30 s, 1 min, 5 min, 10 min, 30 min,
1 h, and then every hour, times ``scale`` (1 in production; tests shrink it). A delivery is
dead-lettered when it has used its subscription's ``maxDeliveryAttempts``, when the next
attempt would fall after its time-to-live, or at once when the receiver answers 400 or 413
(it will not accept the event however often we try, as Event Grid also assumes).
Pure functions of their arguments: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.events.models import DeadLetterReason

EVENT_GRID_SCHEDULE_SECONDS = (10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0)
THEN_EVERY_SECONDS = 3600.0
UNRETRIABLE_STATUSES = frozenset({400, 413})


@dataclass(frozen=True, slots=True)
class RetryDecision:
    next_attempt_ms: int | None  # None: give up
    reason: DeadLetterReason | None = None  # why we give up


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError("the retry schedule scale must be positive")

    def delay_seconds(self, failed_attempts: int) -> float:
        """The wait after the ``failed_attempts``-th failure (1 = the first attempt failed)."""
        if failed_attempts < 1:
            raise ValueError("delay_seconds counts failed attempts from 1")
        schedule = EVENT_GRID_SCHEDULE_SECONDS
        base = schedule[failed_attempts - 1] if failed_attempts <= len(schedule) else None
        return (base if base is not None else THEN_EVERY_SECONDS) * self.scale

    @staticmethod
    def expired(now_ms: int, enqueued_ms: int, ttl_minutes: int) -> bool:
        return now_ms >= enqueued_ms + ttl_minutes * 60_000

    def after_failure(
        self,
        *,
        attempts_made: int,
        status: int | None,
        now_ms: int,
        enqueued_ms: int,
        max_attempts: int,
        ttl_minutes: int,
    ) -> RetryDecision:
        """What to do after attempt number ``attempts_made`` (counting it) failed."""
        if status in UNRETRIABLE_STATUSES:
            return RetryDecision(None, DeadLetterReason.REJECTED)
        if attempts_made >= max_attempts:
            return RetryDecision(None, DeadLetterReason.MAX_ATTEMPTS)
        next_ms = now_ms + round(self.delay_seconds(attempts_made) * 1000)
        if self.expired(next_ms, enqueued_ms, ttl_minutes):
            return RetryDecision(None, DeadLetterReason.TTL)
        return RetryDecision(next_ms)
