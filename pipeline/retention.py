"""How long delivery data is kept (README, Delivery: Retention), read from settings.

Failures are what people come back to, days later, to fix and replay: every failed attempt
and every discarded job is kept ``failures`` (7 days). Successes are the bulk of the rows
and rarely looked at after a day: delivered and filtered jobs and successful attempts are
kept ``successes`` (24 hours), except a sample, 1 delivered job in ``success_sample`` (by
id), kept with its attempts as long as failures, so that old successes can still be seen.
Unfinished jobs and their events are never deleted, whatever their age. Event Delivery's
per-minute counts are kept ``MINUTES_KEPT``: its longest range (a week) and a day more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

DEFAULT_RETAIN_FAILURES_DAYS = 7
DEFAULT_RETAIN_SUCCESSES_HOURS = 24
DEFAULT_SUCCESS_SAMPLE = 100
# Rows per delete: each chunk is its own short transaction, so that cleaning a large
# backlog never holds SQLite's write lock (or PostgreSQL's row locks) for long.
CLEAN_CHUNK = 1000
MINUTES_KEPT = timedelta(days=8)


@dataclass(frozen=True)
class Retention:
    failures: timedelta
    successes: timedelta
    # 1 in this many delivered jobs (by id) is kept as long as failures; 0 keeps none.
    success_sample: int

    def failures_cutoff(self, now: datetime) -> datetime:
        return now - self.failures

    def successes_cutoff(self, now: datetime) -> datetime:
        return now - self.successes


def retention() -> Retention:
    return Retention(
        failures=timedelta(
            days=int(
                getattr(settings, "DELIVERY_RETAIN_FAILURES_DAYS", DEFAULT_RETAIN_FAILURES_DAYS)
            )
        ),
        successes=timedelta(
            hours=int(
                getattr(settings, "DELIVERY_RETAIN_SUCCESSES_HOURS", DEFAULT_RETAIN_SUCCESSES_HOURS)
            )
        ),
        success_sample=max(
            0, int(getattr(settings, "DELIVERY_SUCCESS_SAMPLE", DEFAULT_SUCCESS_SAMPLE))
        ),
    )
