"""When a failed delivery is tried again: randomized exponential backoff, as Segment does
(only ``retry`` and ``timeout`` outcomes are retried, 9 times within about 4 hours)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings

# Retries after the first attempt, so a job gets at most DEFAULT_MAX_RETRIES + 1 attempts.
DEFAULT_MAX_RETRIES = 9
# The n-th retry waits between half and all of base * 2**(n - 1): with 28 s, the nine
# retries together wait at most 28 s * 511, just under 4 hours (at least about 2 hours).
DEFAULT_RETRY_BASE_S = 28.0


def max_retries() -> int:
    return int(getattr(settings, "DELIVERY_MAX_RETRIES", DEFAULT_MAX_RETRIES))


def retry_base_s() -> float:
    return float(getattr(settings, "DELIVERY_RETRY_BASE_S", DEFAULT_RETRY_BASE_S))


def retry_delay_bounds(*, retry: int, base_s: float) -> tuple[float, float]:
    """The shortest and longest wait before retry number ``retry`` (1 for the first)."""
    if retry < 1:
        raise ValueError("retry numbers start at 1")
    longest = base_s * 2 ** (retry - 1)
    return longest / 2, longest


def retry_delay(
    *, retry: int, base_s: float | None = None, rng: random.Random | None = None
) -> timedelta:
    """A random wait before retry number ``retry``, within ``retry_delay_bounds``: random,
    so that jobs which failed together (a destination down) do not come back together."""
    shortest, longest = retry_delay_bounds(
        retry=retry, base_s=retry_base_s() if base_s is None else base_s
    )
    return timedelta(seconds=(rng or random).uniform(shortest, longest))
