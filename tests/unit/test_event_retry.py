"""Event Grid's retry schedule, attempt and time-to-live caps, and unretriable answers."""

from __future__ import annotations

import pytest

from switchboard.events.models import DeadLetterReason
from switchboard.events.retry import RetryPolicy

T0 = 1_800_000_000_000
DAY_MINUTES = 1440


def test_schedule_follows_event_grid_then_hourly() -> None:
    policy = RetryPolicy()
    delays = [policy.delay_seconds(n) for n in range(1, 11)]
    assert delays == [10, 30, 60, 300, 600, 1800, 3600, 3600, 3600, 3600]


def test_scale_shrinks_every_delay_alike() -> None:
    policy = RetryPolicy(scale=0.001)
    assert policy.delay_seconds(1) == pytest.approx(0.01)
    assert policy.delay_seconds(7) == pytest.approx(3.6)
    assert policy.delay_seconds(30) == pytest.approx(3.6)


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(scale=0)


def test_failed_attempt_is_retried_after_its_delay() -> None:
    decision = RetryPolicy().after_failure(
        attempts_made=2,
        status=503,
        now_ms=T0,
        enqueued_ms=T0,
        max_attempts=30,
        ttl_minutes=DAY_MINUTES,
    )
    assert decision.next_attempt_ms == T0 + 30_000
    assert decision.reason is None


def test_last_allowed_attempt_dead_letters() -> None:
    decision = RetryPolicy().after_failure(
        attempts_made=3,
        status=500,
        now_ms=T0,
        enqueued_ms=T0,
        max_attempts=3,
        ttl_minutes=DAY_MINUTES,
    )
    assert decision.next_attempt_ms is None
    assert decision.reason is DeadLetterReason.MAX_ATTEMPTS


def test_retry_that_would_fall_after_the_ttl_dead_letters_now() -> None:
    # 4th failure: the next try would be 5 min later, past a 5-minute TTL started 1 min ago.
    decision = RetryPolicy().after_failure(
        attempts_made=4,
        status=None,
        now_ms=T0 + 60_000,
        enqueued_ms=T0,
        max_attempts=30,
        ttl_minutes=5,
    )
    assert decision.reason is DeadLetterReason.TTL


@pytest.mark.parametrize("status", [400, 413])
def test_bad_request_and_too_large_are_not_retried(status: int) -> None:
    decision = RetryPolicy().after_failure(
        attempts_made=1,
        status=status,
        now_ms=T0,
        enqueued_ms=T0,
        max_attempts=30,
        ttl_minutes=DAY_MINUTES,
    )
    assert decision.reason is DeadLetterReason.REJECTED


@pytest.mark.parametrize("status", [401, 403, 404, 408, 429, 500, 502, 503, None])
def test_other_failures_are_retried(status: int | None) -> None:
    decision = RetryPolicy().after_failure(
        attempts_made=1,
        status=status,
        now_ms=T0,
        enqueued_ms=T0,
        max_attempts=30,
        ttl_minutes=DAY_MINUTES,
    )
    assert decision.next_attempt_ms == T0 + 10_000


def test_expiry_is_measured_from_enqueueing() -> None:
    assert not RetryPolicy.expired(T0 + 59_999, T0, 1)
    assert RetryPolicy.expired(T0 + 60_000, T0, 1)
