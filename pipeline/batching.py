"""Batching for functions that define ``onBatch``, as Segment does it.

An instance whose deployed version takes batches has its jobs claimed as one batch once
``size`` of them wait, or once the oldest has waited ``wait_ms``, whichever comes first
(``InstanceBatching``, defaults 20 and 10 s). At low volume (fewer than about one event
per second over the last RATE_WINDOW_S) its jobs go to the single-event handlers at once,
instead of waiting for a batch that would not fill.

The waiting happens in the database, not in a worker: a job stays claimable until its
batch is planned, so a worker holds no unleased events and a dead one loses nothing.
Planning (``BatchPlanner``) runs inside the claim (``delivery_jobs_claim``'s ``planner``),
before its transaction; running the batch is ``pipeline.delivery``'s; mapping its result
to each job's outcome is ``batch_results`` here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pipeline.selectors import (
    BatchSettings,
    ClaimedJob,
    batch_targets,
    instances_recent_job_counts,
    version_codes,
)
from pipeline.services import Backlog, DeliveryResult
from runtime.services import (
    BAD_REQUEST,
    RETRY,
    SUCCESS,
    UNSUPPORTED_EVENT_TYPE,
    InvocationResult,
)

# Segment: "at under about one event per second, single-event handlers are used".
RATE_WINDOW_S = 10.0
LOW_VOLUME_PER_S = 1.0
# A handler is looked up by its name (runtime/js/host/loading.js): code that never says
# the word cannot define it.
_NAMES_ON_BATCH = re.compile(r"\bonBatch\b")
# Per-event statuses retried as Segment retries HTTP answers: server errors, 408, 429.
_RETRYABLE_STATUSES = frozenset({408, 429})
STATUS_ERROR = "EventStatus"


# The largest batch sent to an onBatch that has not answered one yet.
PROBE_SIZE = 10


class Batches(Enum):
    NO = "no"
    PROBE = "probe"  # the code names onBatch; it has not answered a batch yet
    YES = "yes"


class BatchSupport:
    """Which function versions take batches, as this worker learned (versions are
    immutable, so what is learned stays true). Code that never names ``onBatch`` does not.
    Code that names it is sent small batches first (at most PROBE_SIZE events, so that
    falling back to single events costs little) until ``onBatch`` has
    answered once; an ``onBatch`` that throws ``EventNotSupported`` (the default
    template's) sends its batch, and every later event, one by one. Keep one per worker
    process for its whole life."""

    def __init__(self) -> None:
        self._by_version: dict[int, Batches] = {}

    def get(self, version_id: int) -> Batches | None:
        return self._by_version.get(version_id)

    def learn_code(self, version_id: int, code: str) -> None:
        self._by_version[version_id] = Batches.PROBE if _NAMES_ON_BATCH.search(code) else Batches.NO

    def answered(self, version_id: int, result: InvocationResult) -> bool:
        """Record what ``onBatch`` answered; True when its events must go one by one."""
        refused = result.outcome == UNSUPPORTED_EVENT_TYPE
        self._by_version[version_id] = Batches.NO if refused else Batches.YES
        return refused


def batch_take(
    *, entry: Backlog, settings: BatchSettings, recent: int, now: datetime
) -> int | None:
    """How many of an instance's waiting jobs to claim as one batch now: ``size`` once
    that many wait, all of them once the oldest waited ``wait_ms``, 0 while the batch
    fills; None at low volume (claim them as single events)."""
    if entry.waiting >= settings.size:
        return settings.size
    if recent < RATE_WINDOW_S * LOW_VOLUME_PER_S:
        return None
    if now - entry.oldest >= timedelta(milliseconds=settings.wait_ms):
        return entry.waiting
    return 0


class BatchPlanner:
    """A claim's planner (``ClaimPlanner``) for one round. ``batched`` names the instances
    it planned batches for: their claimed jobs run as one ``onBatch`` call."""

    def __init__(self, support: BatchSupport, *, probe_size: int = PROBE_SIZE) -> None:
        self.support = support
        self.probe_size = probe_size
        self.batched: set[int] = set()

    def __call__(self, backlog: Sequence[Backlog], now: datetime) -> Mapping[int, int]:
        targets = batch_targets(instance_ids=[entry.instance_id for entry in backlog])
        unknown = {t.version_id for t in targets.values() if self.support.get(t.version_id) is None}
        if unknown:  # versions never change: each is read once in a worker's life
            for version_id, code in version_codes(version_ids=unknown).items():
                self.support.learn_code(version_id, code)
        kinds = {iid: self.support.get(t.version_id) for iid, t in targets.items()}
        candidates = [iid for iid, kind in kinds.items() if kind in (Batches.PROBE, Batches.YES)]
        if not candidates:
            return {}
        recent = instances_recent_job_counts(
            instance_ids=candidates, since=now - timedelta(seconds=RATE_WINDOW_S)
        )
        takes: dict[int, int] = {}
        for entry in backlog:
            if entry.instance_id not in candidates:
                continue
            take = batch_take(
                entry=entry,
                settings=targets[entry.instance_id].settings,
                recent=recent.get(entry.instance_id, 0),
                now=now,
            )
            if take is None:
                continue
            if kinds[entry.instance_id] is Batches.PROBE:
                take = min(take, self.probe_size)
            takes[entry.instance_id] = take
            if take:
                self.batched.add(entry.instance_id)
        return takes


def _status_outcome(entry: Any, index: int, count: int) -> tuple[str, str, str]:
    """(outcome, error type, error message) of one event's ``{status, errormessage}``."""
    status = entry.get("status") if isinstance(entry, dict) else None
    if not isinstance(status, int) or isinstance(status, bool):
        return (
            BAD_REQUEST,
            STATUS_ERROR,
            f"onBatch returned no status for this event (event {index + 1} of the batch, "
            f"{count} results).",
        )
    if 200 <= status < 300:
        return SUCCESS, "", ""
    message = entry.get("errormessage")
    text = message if isinstance(message, str) and message else f"status {status}"
    outcome = RETRY if status >= 500 or status in _RETRYABLE_STATUSES else BAD_REQUEST
    return outcome, STATUS_ERROR, f"onBatch reported status {status}: {text}"


def _has_statuses(value: Any) -> bool:
    return isinstance(value, list) and any(
        isinstance(entry, dict) and "status" in entry for entry in value
    )


def batch_results(claims: Sequence[ClaimedJob], result: InvocationResult) -> list[DeliveryResult]:
    """Each job's result from its batch's one invocation. A batch that failed gives every
    job its outcome (``retry`` and ``timeout`` are then retried whole); one that returned
    per-event statuses gives each job its own (paired by position, as Segment does);
    one that succeeded without them counts every job delivered.

    Every job keeps its own attempt row, and those of one batch share the invocation's
    logs, request traces and duration: one call served them all (usage counts it once)."""
    shared: dict[str, Any] = {
        "logs": result.logs,
        "requests": result.requests,
        "duration_ms": round(result.duration_ms),
        "batch_size": len(claims),
    }
    if result.outcome != SUCCESS or not _has_statuses(result.result):
        error = result.error
        return [
            DeliveryResult(
                job_id=claim.job_id,
                attempt=claim.attempt,
                outcome=result.outcome,
                error_type=error.type if error else "",
                error_message=error.message if error else "",
                **shared,
            )
            for claim in claims
        ]
    statuses: list[Any] = result.result
    results = []
    for index, claim in enumerate(claims):
        entry = statuses[index] if index < len(statuses) else None
        outcome, error_type, message = _status_outcome(entry, index, len(statuses))
        results.append(
            DeliveryResult(
                job_id=claim.job_id,
                attempt=claim.attempt,
                outcome=outcome,
                error_type=error_type,
                error_message=message,
                **shared,
            )
        )
    return results
