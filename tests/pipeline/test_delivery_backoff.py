"""Randomized exponential backoff (pipeline/backoff.py): pure functions."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from pipeline.backoff import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_BASE_S,
    retry_delay,
    retry_delay_bounds,
)
from pipeline.models import JobState
from pipeline.services import delivery_verdict


def test_each_retry_waits_twice_as_long_as_the_one_before() -> None:
    assert retry_delay_bounds(retry=1, base_s=28) == (14, 28)
    assert retry_delay_bounds(retry=2, base_s=28) == (28, 56)
    assert retry_delay_bounds(retry=9, base_s=28) == (28 * 128, 28 * 256)


def test_delays_stay_within_their_bounds_and_vary() -> None:
    rng = random.Random(7)
    for retry in range(1, DEFAULT_MAX_RETRIES + 1):
        shortest, longest = retry_delay_bounds(retry=retry, base_s=DEFAULT_RETRY_BASE_S)
        delays = {retry_delay(retry=retry, base_s=DEFAULT_RETRY_BASE_S, rng=rng) for _ in range(50)}
        assert all(timedelta(seconds=shortest) <= d <= timedelta(seconds=longest) for d in delays)
        assert len(delays) > 40


def test_nine_retries_fit_in_about_four_hours() -> None:
    bounds = [
        retry_delay_bounds(retry=n, base_s=DEFAULT_RETRY_BASE_S)
        for n in range(1, DEFAULT_MAX_RETRIES + 1)
    ]
    assert DEFAULT_MAX_RETRIES == 9
    # Randomized, but never all in a rush: together at least about half of it.
    assert sum(low for low, _ in bounds) >= 1.9 * 3600
    assert sum(high for _, high in bounds) <= 4 * 3600


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        retry_delay_bounds(retry=0, base_s=28)


@pytest.mark.parametrize(
    ("outcome", "attempt", "state"),
    [
        ("success", 1, JobState.DELIVERED),
        ("retry", 1, JobState.RETRYING),
        ("timeout", 9, JobState.RETRYING),
        # The 10th attempt is the 9th retry: a failure then is final.
        ("timeout", 10, JobState.DISCARDED),
        ("retry", 10, JobState.DISCARDED),
        ("bad_request", 1, JobState.DISCARDED),
        ("invalid_settings", 1, JobState.DISCARDED),
        ("dropped", 1, JobState.DISCARDED),
        # The instance's destination filters dropped it: never retried, never discarded.
        ("filtered", 1, JobState.FILTERED),
    ],
)
def test_the_verdict_of_each_outcome(outcome: str, attempt: int, state: str) -> None:
    from django.utils import timezone

    now = timezone.now()
    verdict = delivery_verdict(outcome=outcome, error_message="e", attempt=attempt, now=now)
    assert verdict.state == state
    assert (verdict.next_attempt_at is not None) == (state == JobState.RETRYING)
    if state == JobState.RETRYING:
        shortest, longest = retry_delay_bounds(retry=attempt, base_s=DEFAULT_RETRY_BASE_S)
        assert now + timedelta(seconds=shortest) <= verdict.next_attempt_at
        assert verdict.next_attempt_at <= now + timedelta(seconds=longest)
