"""Writes of the event pipeline: accepting Tracking API requests, storing each event once
with its delivery jobs, forgetting old messageIds; claiming delivery jobs, recording their
attempts and counting them per minute; replaying discarded jobs."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from audit.services import audit_record
from catalog.models import DestinationInstance, Source
from pipeline.backoff import max_retries, retry_delay
from pipeline.bulk_insert import rows_insert
from pipeline.models import (
    CLAIMABLE_STATES,
    DeliveryAttempt,
    DeliveryJob,
    DeliveryMinute,
    Event,
    JobState,
    SeenMessageId,
)
from pipeline.selectors import (
    ClaimedJob,
    IngestRoute,
    ingest_route_for_source,
    ingest_route_for_write_key,
)
from pipeline.tracking import (
    body_decode,
    events_from_body,
    json_strict_loads,
    unauthorized,
    write_key_from,
)
from runtime.services import RETRYABLE_OUTCOMES, SUCCESS

logger = logging.getLogger(__name__)

# A messageId seen again this soon is accepted and dropped. Rows are pruned some time after
# (see _prune_now_and_then), so a repeat is dropped for at least this long, as in Segment.
DEDUP_WINDOW = timedelta(hours=24)
PRUNE_EVERY_S = 600.0
PRUNE_CHUNK = 10_000
WRITE_KEY_MISSING = (
    "Send the source's write key: as the user name of HTTP Basic auth, or as "
    '"writeKey" in the body.'
)


@dataclass(frozen=True)
class EventsStored:
    accepted: int  # events in the request, all of them accepted
    stored: int  # new events stored (the others were duplicates)
    jobs: int  # delivery jobs created

    @property
    def duplicates(self) -> int:
        return self.accepted - self.stored


def _route_or_refuse(write_key: str) -> IngestRoute:
    route = ingest_route_for_write_key(write_key=write_key)
    if route is None:
        raise unauthorized("The write key is not valid.")
    return route


def tracking_request_accept(
    *,
    path_kind: str,
    body: bytes,
    content_encoding: str,
    authorization: str,
    received_at: datetime,
) -> EventsStored:
    """Accept a Tracking API request to ``/v1/<path_kind>`` (an event type, or ``batch``)
    whole, or refuse it whole with a ``TrackingRefused``. Once this returns, its events are
    committed: the 200 may be sent."""
    route = None
    header_key = write_key_from(authorization=authorization)
    if header_key is not None:
        # Basic auth is checked before the body is read: a wrong key costs no parsing.
        route = _route_or_refuse(header_key)
    document = json_strict_loads(body_decode(body, content_encoding=content_encoding))
    if route is None:
        body_key = document.get("writeKey") if isinstance(document, dict) else None
        if not isinstance(body_key, str):
            raise unauthorized(WRITE_KEY_MISSING)
        route = _route_or_refuse(body_key)
    events = events_from_body(path_kind=path_kind, body=document, received_at=received_at)
    return routed_events_store(route=route, events=events, received_at=received_at)


def _new_message_ids(
    *, source_id: int, message_ids: Sequence[str], received_at: datetime
) -> set[str]:
    """Record ``message_ids`` as seen and return those that were not seen before. Call in
    a transaction.

    Every id is inserted, skipping those that meet the unique constraint; the insert
    returns exactly the ids it stored. On PostgreSQL an insert that meets another
    transaction's uncommitted row waits for it, so of two requests carrying the same id
    exactly one stores it; the ids go in sorted, so that two requests never wait for each
    other crosswise (a deadlock). On SQLite writers take turns."""
    inserted = rows_insert(
        SeenMessageId,
        constant={"source_id": source_id, "seen_at": received_at, "accepted_by": uuid.uuid4()},
        varying=("message_id",),
        rows=[(mid,) for mid in sorted(message_ids)],
        ignore_conflicts=True,
        returning=("message_id",),
    )
    return {mid for (mid,) in inserted}


def events_store(
    *, source: Source, events: Sequence[dict[str, Any]], received_at: datetime
) -> EventsStored:
    """``routed_events_store`` for events the platform itself makes for ``source``."""
    route = ingest_route_for_source(source=source)
    return routed_events_store(route=route, events=events, received_at=received_at)


@transaction.atomic(durable=True)
def routed_events_store(
    *, route: IngestRoute, events: Sequence[dict[str, Any]], received_at: datetime
) -> EventsStored:
    """Store the events of one request that were not seen before (by messageId, over
    DEDUP_WINDOW), each with a pending delivery job per instance of the route, in
    one transaction of a few multi-row inserts. ``durable``: it must be the outermost
    transaction, so that returning means committed."""
    first_of: dict[str, dict[str, Any]] = {}
    for event in events:
        first_of.setdefault(event["messageId"], event)
    new_ids = _new_message_ids(
        source_id=route.source_id, message_ids=list(first_of), received_at=received_at
    )
    as_json = connection.ops.adapt_json_value
    fresh = rows_insert(
        Event,
        constant={"source_id": route.source_id, "received_at": received_at},
        varying=("type", "message_id", "payload"),
        rows=[
            (event["type"], mid, as_json(event, None))
            for mid, event in first_of.items()
            if mid in new_ids
        ],
        returning=("id",),
    )
    instance_ids = route.instance_ids
    rows_insert(
        DeliveryJob,
        constant={"next_attempt_at": received_at, "created_at": received_at},
        varying=("instance_id", "event_id"),
        rows=[(instance_id, event_id) for (event_id,) in fresh for instance_id in instance_ids],
    )
    transaction.on_commit(_prune_now_and_then, robust=True)
    return EventsStored(
        accepted=len(events), stored=len(fresh), jobs=len(fresh) * len(instance_ids)
    )


def seen_message_ids_prune(*, before: datetime, limit: int = PRUNE_CHUNK) -> int:
    """Forget up to ``limit`` messageIds seen before ``before``; returns how many. Bounded,
    so that one call never holds the database's write lock for long."""
    stale = list(
        SeenMessageId.objects.filter(seen_at__lt=before)
        .order_by("seen_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not stale:
        return 0
    SeenMessageId.objects.filter(pk__in=stale).delete()
    return len(stale)


_prune_lock = threading.Lock()
_prune_due_at = 0.0


def _prune_now_and_then() -> None:
    """Housekeeping riding on ingest: at most every PRUNE_EVERY_S per process, forget one
    chunk of messageIds older than DEDUP_WINDOW. There is no scheduler yet; a server that
    takes events is the one whose table grows."""
    global _prune_due_at
    with _prune_lock:
        if time.monotonic() < _prune_due_at:
            return
        _prune_due_at = time.monotonic() + PRUNE_EVERY_S
    pruned = seen_message_ids_prune(before=timezone.now() - DEDUP_WINDOW)
    if pruned:
        logger.info("Forgot %d messageIds older than %s.", pruned, DEDUP_WINDOW)


# --- Delivery: claims, attempts, results (the loop that drives them is pipeline/delivery.py)

# Jobs one claim takes from one instance: an instance with a large backlog, or one that
# hangs, gets this many per round while every other instance with work gets its turn.
CLAIM_PER_INSTANCE = 10


def _claimable(now: datetime) -> Q:
    # A leased job's next_attempt_at is the end of its lease: once passed, it is claimable.
    return Q(state__in=CLAIMABLE_STATES, next_attempt_at__lte=now)


def delivery_jobs_claim(
    *, worker_id: str, limit: int, lease_s: float, per_instance: int = CLAIM_PER_INSTANCE
) -> list[int]:
    """Lease up to ``limit`` claimable jobs to ``worker_id`` for ``lease_s`` seconds and
    return their ids; each claim counts one attempt. Instances take turns, the one whose
    oldest claimable job waited longest first, at most ``per_instance`` jobs each.

    One short transaction. On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED``,
    so concurrent workers claim different jobs; SQLite ignores the lock clause, its
    writers take turns (``BEGIN IMMEDIATE``). The update is conditional either way and the
    ids returned are the rows it stamped."""
    now = timezone.now()
    lease_end = now + timedelta(seconds=lease_s)
    with transaction.atomic():
        instance_ids = list(
            DeliveryJob.objects.filter(_claimable(now))
            .values("instance_id")
            .annotate(oldest=Min("next_attempt_at"))
            .order_by("oldest", "instance_id")
            .values_list("instance_id", flat=True)[: max(1, limit)]
        )
        candidates: list[int] = []
        for instance_id in instance_ids:
            take = min(per_instance, limit - len(candidates))
            if take <= 0:
                break
            candidates += list(
                DeliveryJob.objects.select_for_update(skip_locked=True)
                .filter(_claimable(now), instance_id=instance_id)
                .order_by("next_attempt_at", "pk")
                .values_list("pk", flat=True)[:take]
            )
        if not candidates:
            return []
        DeliveryJob.objects.filter(_claimable(now), pk__in=candidates).update(
            state=JobState.LEASED,
            leased_by=worker_id,
            lease_expires_at=lease_end,
            next_attempt_at=lease_end,
            attempts=F("attempts") + 1,
        )
        return list(
            DeliveryJob.objects.filter(
                pk__in=candidates,
                state=JobState.LEASED,
                leased_by=worker_id,
                lease_expires_at=lease_end,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def delivery_attempts_start(*, claims: Sequence[ClaimedJob], worker_id: str) -> None:
    """Write the attempt row of each claimed job before its code runs (healthchecks'
    rule: the log cannot miss an attempt). A row already there for this number (a claim
    that raced itself) is kept."""
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create(
        [
            DeliveryAttempt(job_id=c.job_id, number=c.attempt, worker=worker_id, started_at=now)
            for c in claims
        ],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one claimed attempt: a runtime outcome (or one of the delivery
    engine's own, such as ``instance_disabled``), with what the runtime reported."""

    job_id: int
    attempt: int
    outcome: str
    error_type: str = ""
    error_message: str = ""
    logs: list[dict[str, str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: int | None = None


@dataclass(frozen=True)
class JobVerdict:
    state: str
    next_attempt_at: datetime | None
    error: str


def delivery_verdict(
    *, outcome: str, error_message: str, attempt: int, now: datetime
) -> JobVerdict:
    """The job's next state after attempt number ``attempt`` ended ``outcome``: success is
    delivered; retry and timeout wait for another attempt until DELIVERY_MAX_RETRIES
    retries were spent, then the job is discarded; anything else is discarded at once."""
    if outcome == SUCCESS:
        return JobVerdict(JobState.DELIVERED, None, "")
    if outcome in RETRYABLE_OUTCOMES:
        if attempt <= max_retries():
            return JobVerdict(JobState.RETRYING, now + retry_delay(retry=attempt), error_message)
        return JobVerdict(
            JobState.DISCARDED,
            None,
            f"Out of retries after {attempt} attempts. {error_message}".strip(),
        )
    return JobVerdict(JobState.DISCARDED, None, error_message)


def delivery_results_record(*, results: Sequence[DeliveryResult], worker_id: str) -> int:
    """Complete the attempt rows with their results, then move each job on by its
    outcome (``delivery_verdict``), only while the job is still this worker's claim: a
    job whose lease expired and was claimed again is left to its new claim, though the
    attempt it had is still logged. Each result recorded is counted in Event Delivery's
    aggregates (``delivery_minutes_add``). Returns the number of jobs moved on. One
    transaction."""
    now = timezone.now()
    moved = 0
    with transaction.atomic():
        rows = {
            (a.job_id, a.number): a
            for a in DeliveryAttempt.objects.filter(
                job_id__in=[r.job_id for r in results], worker=worker_id
            )
        }
        done = []
        for result in results:
            row = rows.get((result.job_id, result.attempt))
            if row is None:
                continue
            row.finished_at = now
            row.outcome = result.outcome
            row.error_type = result.error_type
            row.error_message = result.error_message
            row.logs = result.logs
            row.requests = result.requests
            row.duration_ms = result.duration_ms
            done.append(row)
        DeliveryAttempt.objects.bulk_update(
            done,
            [
                "finished_at",
                "outcome",
                "error_type",
                "error_message",
                "logs",
                "requests",
                "duration_ms",
            ],
        )
        jobs = {
            pk: (instance_id, replayed_after)
            for pk, instance_id, replayed_after in DeliveryJob.objects.filter(
                pk__in=[r.job_id for r in results]
            ).values_list("pk", "instance_id", "replayed_after")
        }
        counted: list[MinuteCount] = []
        for result in results:
            if result.job_id not in jobs:
                continue
            instance_id, replayed_after = jobs[result.job_id]
            verdict = delivery_verdict(
                outcome=result.outcome,
                error_message=result.error_message,
                attempt=result.attempt - replayed_after,
                now=now,
            )
            if DeliveryJob.objects.filter(
                pk=result.job_id,
                state=JobState.LEASED,
                leased_by=worker_id,
                attempts=result.attempt,
            ).update(
                state=verdict.state,
                next_attempt_at=verdict.next_attempt_at or now,
                lease_expires_at=None,
                leased_by="",
                last_attempt_at=now,
                last_outcome=result.outcome,
                last_error=verdict.error,
            ):
                moved += 1
                counted.append(
                    MinuteCount(instance_id, verdict.state, result.outcome, result.duration_ms or 0)
                )
        delivery_minutes_add(counts=counted, at=now)
    return moved


@dataclass(frozen=True)
class MinuteCount:
    """One recorded attempt, as Event Delivery's aggregates count it."""

    instance_id: int
    state: str
    category: str
    duration_ms: int


def delivery_minutes_add(*, counts: Sequence[MinuteCount], at: datetime) -> None:
    """Add ``counts`` to the minute of ``at``, in one upsert statement (a row already
    there for the instance, state and category gets the counts added). Call in the
    transaction that records the results, so that each is counted once."""
    totals: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for c in counts:
        total = totals[(c.instance_id, c.state, c.category)]
        total[0] += 1
        total[1] += c.duration_ms
    if not totals:
        return
    rows_insert(
        DeliveryMinute,
        constant={"minute": at.replace(second=0, microsecond=0)},
        varying=("instance_id", "state", "category", "count", "duration_ms"),
        rows=[(*key, count, ms) for key, (count, ms) in sorted(totals.items())],
        add_on_conflict=(("instance_id", "minute", "state", "category"), ("count", "duration_ms")),
    )


# --- Replay: discarded jobs queued again after a fix


@dataclass(frozen=True)
class ReplayFilter:
    """Which discarded jobs of an instance to replay: one ``job``, or those whose last
    attempt ended ``category`` within [``since``, ``until``) (each part optional)."""

    job_id: int | None = None
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def audited(self) -> dict[str, Any]:
        if self.job_id is not None:
            return {"job": self.job_id}
        return {
            "category": self.category,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def _replayable(*, instance: DestinationInstance, match: ReplayFilter) -> Q:
    if match.job_id is not None and (match.category or match.since or match.until):
        raise ValidationError({"job": "Replay one job, or those matching a filter, not both."})
    if match.since and match.until and match.since >= match.until:
        raise ValidationError({"until": "Must be after since."})
    condition = Q(instance=instance, state=JobState.DISCARDED)
    if match.job_id is not None:
        job = DeliveryJob.objects.filter(instance=instance, pk=match.job_id).first()
        if job is None:
            raise ValidationError({"job": f"{instance.name} has no job {match.job_id}."})
        if job.state != JobState.DISCARDED:
            raise ValidationError(
                {"job": f"Job {job.pk} is {job.state}: only discarded jobs are replayed."}
            )
        condition &= Q(pk=job.pk)
    if match.category:
        condition &= Q(last_outcome=match.category)
    if match.since:
        condition &= Q(last_attempt_at__gte=match.since)
    if match.until:
        condition &= Q(last_attempt_at__lt=match.until)
    return condition


@transaction.atomic
def delivery_jobs_replay(*, instance: DestinationInstance, match: ReplayFilter, actor: User) -> int:
    """Queue the discarded jobs of ``instance`` that ``match`` names (exhausted ones are
    discarded too) for delivery now, as new attempts of the same jobs; returns how many.
    Attempt numbers go on from the job's last, so the log keeps every attempt; the retry
    budget starts again from the replay (``replayed_after``). One audit row, none when
    nothing matched."""
    queued = DeliveryJob.objects.filter(_replayable(instance=instance, match=match)).update(
        state=JobState.PENDING,
        next_attempt_at=timezone.now(),
        replayed_after=F("attempts"),
    )
    if queued:
        audit_record(
            action="instance.replayed",
            actor=actor,
            workspace=instance.workspace,
            target=instance,
            changes={"queued": queued, **match.audited()},
        )
    return queued
