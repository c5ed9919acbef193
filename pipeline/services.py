"""Writes of the event pipeline: storing the events of Tracking API requests, each once
with its delivery jobs, forgetting old messageIds; claiming delivery jobs, recording their
attempts and counting them per minute; replaying discarded jobs; setting and previewing an
instance's destination filters; retention, usage and Connection Health."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Mod
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.services import audit_record
from catalog.models import DestinationInstance, Source
from catalog.services import instances_health_set
from pipeline.backoff import max_retries, retry_delay
from pipeline.bulk_insert import rows_insert
from pipeline.filters import filters_apply, filters_clean
from pipeline.models import (
    BATCH_SIZE_MAX,
    BATCH_SIZE_MIN,
    BATCH_WAIT_MS_MAX,
    BATCH_WAIT_MS_MIN,
    CLAIMABLE_STATES,
    DeliveryAttempt,
    DeliveryJob,
    DeliveryMinute,
    Event,
    FunctionUsageDay,
    InstanceBatching,
    InstanceFilters,
    JobState,
    SeenMessageId,
)
from pipeline.retention import CLEAN_CHUNK, MINUTES_KEPT, Retention, retention
from pipeline.selectors import (
    GOOD_OUTCOMES,
    HEALTH_WINDOW,
    RECENT_EVENTS_MAX,
    BatchSettings,
    IngestRoute,
    ingest_route_for_source,
    ingest_routes_for_write_keys,
    instance_attempt_tallies,
    instance_batching_get,
    instance_filters_get,
    instance_flagged_ids,
)
from pipeline.tracking import (
    WRITE_KEY_INVALID,
    TrackingRefused,
    TrackingRequest,
    unauthorized,
    user_deletion_event,
)
from runtime.services import RETRYABLE_OUTCOMES, SUCCESS

logger = logging.getLogger(__name__)

# A messageId seen again this soon is accepted and dropped. Rows are pruned some time after
# (see _prune_now_and_then), so a repeat is dropped for at least this long, as in Segment.
DEDUP_WINDOW = timedelta(hours=24)
PRUNE_EVERY_S = 600.0
PRUNE_CHUNK = 10_000


@dataclass(frozen=True)
class EventsStored:
    accepted: int  # events in the request, all of them accepted
    stored: int  # new events stored (the others were duplicates)
    jobs: int  # delivery jobs created

    @property
    def duplicates(self) -> int:
        return self.accepted - self.stored


# What one request of a group commit came to: stored, refused (its write key), or failed
# with the database (the sender retries).
StoreOutcome = EventsStored | TrackingRefused | DatabaseError


def tracking_requests_store(*, requests: Sequence[TrackingRequest]) -> list[StoreOutcome]:
    """Store the events of Tracking API requests that arrived together, in one transaction
    (a group commit: one commit's cost shared by all), each request's outcome in its place.
    A request whose write key is not valid is refused without failing the others. When the
    database fails the group, each request is tried again alone, so that one the database
    cannot take fails by itself. Once this returns, what was stored is committed."""
    if not connection.in_atomic_block:
        # What a request's start does on Django's own path: let go of a connection that
        # broke or outlived CONN_MAX_AGE (this path serves many requests on one thread).
        close_old_connections()
    try:
        return _requests_store(requests)
    except DatabaseError:
        if len(requests) == 1:
            logger.exception("Tracking API: could not store events")
            return [DatabaseError("could not store events")]
        logger.warning("Tracking API: a group of %d requests failed; storing each alone",
                       len(requests))  # fmt: skip
    outcomes: list[StoreOutcome] = []
    for request in requests:
        try:
            outcomes.extend(_requests_store([request]))
        except DatabaseError as exc:
            logger.exception("Tracking API: could not store events")
            outcomes.append(exc)
    return outcomes


@transaction.atomic(durable=True)
def _requests_store(requests: Sequence[TrackingRequest]) -> list[StoreOutcome]:
    routes = ingest_routes_for_write_keys(write_keys=[r.write_key for r in requests])
    outcomes: list[StoreOutcome] = [unauthorized(WRITE_KEY_INVALID)] * len(requests)
    # The requests of one source go in together: a few inserts for all of them.
    by_source: dict[int, list[int]] = defaultdict(list)
    for index, request in enumerate(requests):
        route = routes.get(request.write_key)
        if route is not None:
            by_source[route.source_id].append(index)
    for indexes in by_source.values():
        route = routes[requests[indexes[0]].write_key]
        parts = [Arrived(requests[i].events, requests[i].received_at) for i in indexes]
        for index, stored in zip(indexes, _events_store(route=route, parts=parts), strict=True):
            outcomes[index] = stored
    return outcomes


@dataclass(frozen=True)
class Arrived:
    """The events of one request, and when it arrived."""

    events: Sequence[dict[str, Any]]
    received_at: datetime


def _new_message_ids(*, source_id: int, seen: Sequence[tuple[str, Any]]) -> set[str]:
    """Record the messageIds of ``seen`` (each with when it arrived, ready for the
    database) and return those that were not seen before. Call in a transaction.

    Every id is inserted, skipping those that meet the unique constraint; the insert
    returns exactly the ids it stored. On PostgreSQL an insert that meets another
    transaction's uncommitted row waits for it, so of two requests carrying the same id
    exactly one stores it; the ids go in sorted, so that two requests never wait for each
    other crosswise (a deadlock). On SQLite writers take turns."""
    inserted = rows_insert(
        SeenMessageId,
        constant={"source_id": source_id, "accepted_by": uuid.uuid4()},
        varying=("message_id", "seen_at"),
        rows=sorted(seen),
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
    (stored,) = _events_store(route=route, parts=[Arrived(events, received_at)])
    return stored


def _events_store(*, route: IngestRoute, parts: Sequence[Arrived]) -> list[EventsStored]:
    """Store the events of ``parts`` (requests to one source, in arrival order) that were
    not seen before, each with its jobs: three multi-row inserts for them all. A messageId
    repeated within or across the parts is stored with its first part."""
    adapt_time = connection.ops.adapt_datetimefield_value
    first_of: dict[str, tuple[dict[str, Any], Any, int]] = {}
    for index, part in enumerate(parts):
        at = adapt_time(part.received_at)
        for event in part.events:
            first_of.setdefault(event["messageId"], (event, at, index))
    new_ids = _new_message_ids(
        source_id=route.source_id, seen=[(mid, at) for mid, (_, at, _) in first_of.items()]
    )
    as_json = connection.ops.adapt_json_value
    fresh = rows_insert(
        Event,
        constant={"source_id": route.source_id},
        varying=("type", "message_id", "payload", "received_at"),
        rows=[
            (event["type"], mid, as_json(event, None), at)
            for mid, (event, at, _) in first_of.items()
            if mid in new_ids
        ],
        returning=("id", "message_id"),
    )
    instance_ids = route.instance_ids
    rows_insert(
        DeliveryJob,
        constant={},
        varying=("instance_id", "event_id", "next_attempt_at", "created_at"),
        rows=[
            (instance_id, event_id, first_of[mid][1], first_of[mid][1])
            for (event_id, mid) in fresh
            for instance_id in instance_ids
        ],
    )
    transaction.on_commit(_prune_now_and_then, robust=True)
    stored_per_part = Counter(index for mid, (_, _, index) in first_of.items() if mid in new_ids)
    return [
        EventsStored(
            accepted=len(part.events),
            stored=stored_per_part[index],
            jobs=stored_per_part[index] * len(instance_ids),
        )
        for index, part in enumerate(parts)
    ]


@transaction.atomic(durable=True)
def source_user_delete(*, source: Source, user_id: Any, actor: User) -> dict[str, Any]:
    """Send a ``delete`` event for ``user_id`` to the source's enabled destinations (their
    ``onDelete``), as Segment's user deletion does; returns the event. Stored as a tracked
    event is, with its delivery jobs and the audit row, in one transaction."""
    received_at = timezone.now()
    event = user_deletion_event(user_id=user_id, received_at=received_at)
    route = ingest_route_for_source(source=source)
    (stored,) = _events_store(route=route, parts=[Arrived([event], received_at)])
    audit_record(
        action="source.user_deleted",
        actor=actor,
        workspace=source.workspace,
        target=source,
        changes={
            "userId": event["userId"],
            "messageId": event["messageId"],
            "destinations": stored.jobs,
        },
    )
    return event


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

# The delivery engine's outcome for an event the instance's filters dropped (not the
# runtime's: no code ran).
FILTERED = "filtered"

# Jobs one claim takes from one instance at least, when it has them: an instance with a
# large backlog, or one that hangs, gets this many per round while every other instance
# with work gets its turn; more when fewer instances share the round.
CLAIM_PER_INSTANCE = 100


def _claimable(now: datetime) -> Q:
    # A leased job's next_attempt_at is the end of its lease: once passed, it is claimable.
    return Q(state__in=CLAIMABLE_STATES, next_attempt_at__lte=now)


@dataclass(frozen=True)
class Backlog:
    """An instance with claimable jobs, as a claim sees it."""

    instance_id: int
    oldest: datetime  # the next_attempt_at of its longest-waiting claimable job
    waiting: int  # its claimable jobs
    states: tuple[str, ...] = CLAIMABLE_STATES  # the claimable states it has jobs in


# Given the instances with work, how many jobs to take from each as one batch (0: none
# yet, the batch is still filling); an instance left out is claimed as single events.
ClaimPlanner = Callable[[Sequence[Backlog], datetime], Mapping[int, int]]


def _backlog(now: datetime, limit: int) -> list[Backlog]:
    """The instances with claimable jobs, longest waiting first, at most ``limit``. Each
    instance's backlog is read per claimable state at the head of its index range: the
    oldest job, and the jobs counted up to BATCH_SIZE_MAX (all a claim plans with), so
    that a long queue is never walked (counting a 20,000-job backlog took a fifth of a
    busy worker's time)."""
    quote = connection.ops.quote_name
    job, instance = quote(DeliveryJob._meta.db_table), quote(DestinationInstance._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    head = f"FROM {job} j WHERE j.state = %s AND j.instance_id = i.id AND j.next_attempt_at <= %s"
    columns, params = [], []
    for n, state in enumerate(CLAIMABLE_STATES):
        columns += [
            f"(SELECT j.next_attempt_at {head} ORDER BY j.next_attempt_at LIMIT 1) AS oldest{n}",
            f"(SELECT COUNT(*) FROM (SELECT 1 {head} LIMIT {BATCH_SIZE_MAX}) AS c) AS waiting{n}",
        ]
        params += [state, at, state, at]
    has_work = " OR ".join(f"oldest{n} IS NOT NULL" for n in range(len(CLAIMABLE_STATES)))
    sql = (
        f"SELECT * FROM (SELECT i.id, {', '.join(columns)} FROM {instance} i) AS backlog "
        f"WHERE {has_work}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    backlog = []
    for instance_id, *heads in rows:
        oldest = min(_as_datetime(value) for value in heads[0::2] if value is not None)
        waiting = min(BATCH_SIZE_MAX, sum(heads[1::2]))
        states = tuple(s for s, head in zip(CLAIMABLE_STATES, heads[0::2], strict=True) if head)
        backlog.append(Backlog(instance_id, oldest, waiting, states))
    backlog.sort(key=lambda entry: (entry.oldest, entry.instance_id))
    return backlog[: max(1, limit)]


def _as_datetime(value: datetime | str) -> datetime:
    """A datetime column read by raw SQL: SQLite gives it naive (UTC), or as its text
    where the column's type is not known (a subquery's)."""
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def _instance_claimable(entry: Backlog, *, now: datetime, take: int) -> list[tuple[int, str]]:
    """The ``take`` longest-waiting claimable jobs of one instance, locked (skipping those
    another claim holds), each with its state: one index range per state it has jobs in,
    each read in order and cut at ``take``, then merged by time (read only then: each
    value is parsed in Python); never a sort of the instance's whole backlog."""
    jobs = DeliveryJob.objects.select_for_update(skip_locked=True).filter(
        instance_id=entry.instance_id, next_attempt_at__lte=now
    )
    if len(entry.states) == 1:
        (state,) = entry.states
        ranged = jobs.filter(state=state).order_by("next_attempt_at", "pk")
        return [(pk, state) for pk in ranged.values_list("pk", flat=True)[:take]]
    found: list[tuple[datetime, int, str]] = []
    for state in entry.states:
        ranged = jobs.filter(state=state).order_by("next_attempt_at", "pk")
        found += ((at, pk, state) for at, pk in ranged.values_list("next_attempt_at", "pk")[:take])
    return [(pk, state) for _, pk, state in sorted(found)[:take]]


# A lost attempt's row, written when its job is claimed again (see _lost_attempts_log).
WORKER_LOST = "WorkerLost"
WORKER_LOST_MESSAGE = (
    "The worker stopped during this attempt: its lease ran out, and the job was claimed again."
)


# (job, instance, attempt number, worker, lease end) of an attempt whose worker was lost.
LostAttempt = tuple[int, int, int, str, datetime | None]


def _lost_attempts(job_ids: Collection[int]) -> list[LostAttempt]:
    """The attempts in progress of jobs whose lease ran out, read before a new claim
    overwrites them."""
    if not job_ids:
        return []
    return list(
        DeliveryJob.objects.filter(pk__any_of=sorted(job_ids)).values_list(
            "pk", "instance_id", "attempts", "leased_by", "lease_expires_at"
        )
    )


def _lost_attempts_log(
    lost: Sequence[LostAttempt], *, claimed: Collection[int], now: datetime
) -> None:
    """Log the lost attempts of the jobs claimed again, started at their lease's end (when
    they were known lost; their real start went with their worker). A result that comes
    in later from that worker replaces the row (``_attempts_complete``)."""
    rows_insert(
        DeliveryAttempt,
        constant={"error_type": WORKER_LOST, "error_message": WORKER_LOST_MESSAGE},
        varying=("job_id", "instance_id", "number", "worker", "started_at"),
        rows=[
            (*row[:4], connection.ops.adapt_datetimefield_value(row[4] or now))
            for row in lost
            if row[0] in claimed
        ],
        ignore_conflicts=True,
    )


def delivery_jobs_claim(
    *,
    worker_id: str,
    limit: int,
    lease_s: float,
    per_instance: int = CLAIM_PER_INSTANCE,
    planner: ClaimPlanner | None = None,
    skip_instances: Collection[int] = (),
) -> list[int]:
    """Lease claimable jobs to ``worker_id`` for ``lease_s`` seconds and return their ids;
    each claim counts one attempt. Instances take turns, the one whose oldest claimable
    job waited longest first, up to ``limit`` invocations: single jobs, or batches of the
    size ``planner`` asks for (one each). Each instance gets an equal share of what the
    round has left, and at least ``per_instance`` jobs, so that an instance alone with
    work fills the round and many share it by turns. ``skip_instances`` get none (the
    worker has enough of theirs in hand).

    The backlog is read and planned before the claim's transaction, which stays short. On
    PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED``, so concurrent workers claim
    different jobs; SQLite ignores the lock clause, its writers take turns (``BEGIN
    IMMEDIATE``). The update is conditional either way and the ids returned are the rows it
    stamped."""
    now = timezone.now()
    lease_end = now + timedelta(seconds=lease_s)
    # Twice ``limit`` instances: some may be holding their jobs back for a batch to fill.
    backlog = [b for b in _backlog(now, 2 * limit) if b.instance_id not in skip_instances]
    if not backlog:  # no transaction: on SQLite it would take the write lock for nothing
        return []
    batches = planner(backlog, now) if planner is not None else {}
    with transaction.atomic():
        candidates: list[int] = []
        reclaimed: list[int] = []  # their lease ran out: their attempt was lost
        invocations = 0
        for turn, entry in enumerate(backlog):
            batch = batches.get(entry.instance_id)
            if batch == 0:
                continue
            share = max(per_instance, (limit - invocations) // (len(backlog) - turn))
            take = batch or min(share, limit - invocations)
            if take <= 0 or invocations >= limit:
                break
            taken = _instance_claimable(entry, now=now, take=take)
            candidates += [pk for pk, _ in taken]
            reclaimed += [pk for pk, state in taken if state == JobState.LEASED]
            invocations += 1 if batch else len(taken)
        if not candidates:
            return []
        lost = _lost_attempts(reclaimed)
        stamped = DeliveryJob.objects.filter(_claimable(now), pk__any_of=candidates).update(
            state=JobState.LEASED,
            leased_by=worker_id,
            lease_expires_at=lease_end,
            next_attempt_at=lease_end,
            attempts=F("attempts") + 1,
        )
        if stamped == len(candidates):  # the rows read (and locked) above: all of them
            claimed = sorted(candidates)
        else:
            claimed = list(
                DeliveryJob.objects.filter(
                    pk__any_of=candidates,
                    state=JobState.LEASED,
                    leased_by=worker_id,
                    lease_expires_at=lease_end,
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        if lost:
            _lost_attempts_log(lost, claimed=set(claimed), now=now)
        return claimed


def delivery_leases_extend(*, job_ids: Collection[int], worker_id: str, lease_s: float) -> int:
    """Extend this worker's leases of ``job_ids`` (those still its own) to ``lease_s`` from
    now: a round in progress keeps its jobs while a dead worker's expire soon. Returns
    how many were extended."""
    lease_end = timezone.now() + timedelta(seconds=lease_s)
    return DeliveryJob.objects.filter(
        pk__any_of=sorted(job_ids), state=JobState.LEASED, leased_by=worker_id
    ).update(lease_expires_at=lease_end, next_attempt_at=lease_end)


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
    # The jobs one invocation served (an onBatch call's): its duration is theirs together.
    batch_size: int = 1


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
    retries were spent, then the job is discarded; filtered (the instance's filters dropped
    the event) is filtered, with the reason; anything else is discarded at once."""
    if outcome == SUCCESS:
        return JobVerdict(JobState.DELIVERED, None, "")
    if outcome == FILTERED:
        return JobVerdict(JobState.FILTERED, None, error_message)
    if outcome in RETRYABLE_OUTCOMES:
        if attempt <= max_retries():
            return JobVerdict(JobState.RETRYING, now + retry_delay(retry=attempt), error_message)
        return JobVerdict(
            JobState.DISCARDED,
            None,
            f"Out of retries after {attempt} attempts. {error_message}".strip(),
        )
    return JobVerdict(JobState.DISCARDED, None, error_message)


# What an attempt's row gets when its job's result comes in.
_ATTEMPT_RESULT = (
    "finished_at", "outcome", "error_type", "error_message", "logs", "requests", "duration_ms",
)  # fmt: skip


def _attempts_complete(
    *,
    results: Sequence[DeliveryResult],
    owners: Mapping[int, JobOwner],
    worker_id: str,
    started_at: datetime,
    now: datetime,
) -> None:
    """Write each result's attempt row, once, as it ends: a row already there for that
    attempt is replaced if it is this worker's (logged as lost when the job was claimed
    again), kept if another worker's (which raced this one). One statement."""
    at = connection.ops.adapt_datetimefield_value(now)
    began = connection.ops.adapt_datetimefield_value(started_at)

    def as_json(entries: list[Any]) -> str:
        # As JSON text, which both databases take for a JSON column (PostgreSQL casts
        # it): psycopg's jsonb adapter encodes each value again, a tenth of a record.
        # Most attempts log nothing and fetch nothing.
        return json.dumps(entries) if entries else "[]"

    rows_insert(
        DeliveryAttempt,
        constant={"worker": worker_id},
        varying=("job_id", "number", "instance_id", "started_at", *_ATTEMPT_RESULT),
        rows=[
            (
                r.job_id,
                r.attempt,
                owners[r.job_id].instance_id,
                began,
                at,
                r.outcome,
                r.error_type,
                r.error_message,
                as_json(r.logs),
                as_json(r.requests),
                r.duration_ms,
            )
            for r in results
            if r.job_id in owners
        ],
        replace_on_conflict=(("job_id", "number"), ("started_at", *_ATTEMPT_RESULT), ("worker",)),
    )


def _jobs_move_on(
    *,
    results: Sequence[DeliveryResult],
    owners: Mapping[int, JobOwner],
    now: datetime,
) -> list[tuple[DeliveryResult, str]]:
    """Move each job on by its verdict if it is still the worker's claim (leased to it,
    for that attempt: ``JobOwner.claimed_attempt``); the results that moved their job,
    each with the state it moved to. A replayed job's retries count from its replay. One
    UPDATE per distinct verdict: a round's successes all go in one."""
    by_verdict: dict[tuple[str, datetime, str, str], list[int]] = defaultdict(list)
    moved: list[tuple[DeliveryResult, str]] = []
    for result in results:
        owner = owners.get(result.job_id)
        if owner is None or owner.claimed_attempt != result.attempt:
            continue
        verdict = delivery_verdict(
            outcome=result.outcome,
            error_message=result.error_message,
            attempt=result.attempt - owner.replayed_after,
            now=now,
        )
        # For a finished job next_attempt_at becomes the time it finished: retention reads
        # it on the claim index.
        key = (verdict.state, verdict.next_attempt_at or now, result.outcome, verdict.error)
        by_verdict[key].append(result.job_id)
        moved.append((result, verdict.state))
    for (state, next_attempt_at, outcome, error), job_ids in by_verdict.items():
        DeliveryJob.objects.filter(pk__any_of=job_ids).update(
            state=state,
            next_attempt_at=next_attempt_at,
            lease_expires_at=None,
            leased_by="",
            last_attempt_at=now,
            last_outcome=outcome,
            last_error=error,
        )
    return moved


def delivery_results_record(
    *, results: Sequence[DeliveryResult], worker_id: str, started_at: datetime | None = None
) -> int:
    """Log the attempts with their results (begun at ``started_at``, their claim; now if
    not given), then move each job on by its outcome (``delivery_verdict``), only while
    the job is still this worker's claim: a job whose lease expired and was claimed again
    is left to its new claim, though the attempt it had is still logged. The results that
    moved their job are counted in the functions' usage and in Event Delivery's
    aggregates. Returns the number of jobs moved on. One transaction; the round's
    instances' health is judged after it commits."""
    now = timezone.now()
    with transaction.atomic():
        owners = _job_owners(job_ids=[r.job_id for r in results], worker_id=worker_id)
        _attempts_complete(
            results=results,
            owners=owners,
            worker_id=worker_id,
            started_at=started_at or now,
            now=now,
        )
        moved = _jobs_move_on(results=results, owners=owners, now=now)
        counted = [
            MinuteCount(owners[r.job_id].instance_id, state, r.outcome, r.duration_ms or 0)
            for r, state in moved
        ]
        function_usage_add(
            usage=_usage_of(results=[r for r, _ in moved], owners=owners), day=now.date()
        )
        delivery_minutes_add(counts=counted, at=now)
        transaction.on_commit(
            partial(_health_after_round, results=results, owners=owners), robust=True
        )
    return len(moved)


@dataclass(frozen=True)
class JobOwner:
    instance_id: int
    function_id: int
    replayed_after: int  # the job's attempts when it was last replayed (0: never)
    claimed_attempt: int | None  # the attempt the worker holds it for (None: not its own)


def _job_owners(*, job_ids: Collection[int], worker_id: str) -> dict[int, JobOwner]:
    """The jobs' instances and functions, and which of them ``worker_id`` still holds (for
    what attempt): one read, which locks the jobs' rows (not their instances') until the
    recording transaction ends."""
    rows = (
        DeliveryJob.objects.select_for_update(of=("self",))
        .filter(pk__any_of=sorted(job_ids))
        .values_list(
            "pk",
            "instance_id",
            "instance__function_id",
            "replayed_after",
            "state",
            "leased_by",
            "attempts",
        )
    )
    return {
        pk: JobOwner(
            instance_id,
            function_id,
            replayed_after,
            attempts if state == JobState.LEASED and leased_by == worker_id else None,
        )
        for pk, instance_id, function_id, replayed_after, state, leased_by, attempts in rows
    }


# --- Usage: invocations and execution time per function per day


def _usage_of(
    *, results: Iterable[DeliveryResult], owners: Mapping[int, JobOwner]
) -> dict[int, tuple[int, int]]:
    """Function id -> (invocations, execution ms) of the results that ran code. Only the
    runtime's results carry a duration: the engine's own (instance disabled, settings
    unreadable, filtered...) ran nothing and count nothing. The jobs of one onBatch call
    share it: together they count one invocation and its duration once."""
    invocations: defaultdict[int, float] = defaultdict(float)
    execution_ms: defaultdict[int, float] = defaultdict(float)
    for result in results:
        owner = owners.get(result.job_id)
        if owner is None or result.duration_ms is None:
            continue
        invocations[owner.function_id] += 1 / result.batch_size
        execution_ms[owner.function_id] += result.duration_ms / result.batch_size
    return {fid: (round(invocations[fid]), round(execution_ms[fid])) for fid in invocations}


def function_usage_add(*, usage: Mapping[int, tuple[int, int]], day: date) -> None:
    """Add ``usage`` (function id -> (invocations, execution ms)) to the functions' counters
    of ``day``, in one upsert: concurrent workers add to the same row without reading it
    (SQLite and PostgreSQL both speak ``ON CONFLICT ... DO UPDATE``). Rows go in function
    order, so that two workers never wait for each other crosswise."""
    if not usage:
        return
    table = connection.ops.quote_name(FunctionUsageDay._meta.db_table)
    day_value = connection.ops.adapt_datefield_value(day)
    params: list[Any] = []
    for function_id in sorted(usage):
        invocations, execution_ms = usage[function_id]
        params += [function_id, day_value, invocations, execution_ms]
    values = ", ".join(["(%s, %s, %s, %s)"] * len(usage))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (function_id, day, invocations, execution_ms) VALUES {values} "
            "ON CONFLICT (function_id, day) DO UPDATE SET "
            f"invocations = {table}.invocations + excluded.invocations, "
            f"execution_ms = {table}.execution_ms + excluded.execution_ms",
            params,
        )


# --- Connection Health

# A process judges an instance again after recording at most this often, not after every
# round of a busy instance (each judgement is a query and maybe an update).
HEALTH_RECHECK_S = 10.0
_health_lock = threading.Lock()
_health_due_at: dict[int, float] = {}


def instances_health_recompute(
    *, now: datetime, instance_ids: Collection[int] | None = None
) -> int:
    """Judge the instances' last HEALTH_WINDOW of recorded attempts (``AttemptTally``) and
    flag or clear them; returns how many changed. Without ``instance_ids``, the instances
    flagged now: one that stopped receiving events recovers."""
    ids = instance_flagged_ids() if instance_ids is None else set(instance_ids)
    if not ids:
        return 0
    tallies = instance_attempt_tallies(instance_ids=ids, since=now - HEALTH_WINDOW)
    failing = {pk for pk, tally in tallies.items() if tally.failing}
    return instances_health_set(failing=failing, healthy=ids - failing, now=now)


def _health_after_round(
    *, results: Sequence[DeliveryResult], owners: Mapping[int, JobOwner]
) -> None:
    """Judge the round's instances that may have changed: those with a failure in it (they
    may now be failing) and those flagged (they may have recovered); an unflagged instance
    whose results all succeeded cannot have started failing. Each at most every
    HEALTH_RECHECK_S per process."""
    failed = {
        owners[r.job_id].instance_id
        for r in results
        if r.job_id in owners and r.outcome not in GOOD_OUTCOMES
    }
    seen = {owners[r.job_id].instance_id for r in results if r.job_id in owners}
    candidates = failed | instance_flagged_ids(instance_ids=seen - failed)
    due = set()
    with _health_lock:
        clock = time.monotonic()
        for pk in candidates:
            if _health_due_at.get(pk, 0.0) <= clock:
                _health_due_at[pk] = clock + HEALTH_RECHECK_S
                due.add(pk)
    if due:
        instances_health_recompute(now=timezone.now(), instance_ids=due)


# --- Retention (the rules: pipeline/retention.py)

FINISHED_STATES = (JobState.DELIVERED, JobState.DISCARDED, JobState.FILTERED)


@dataclass(frozen=True)
class CleanCounts:
    attempts: int  # with those of the jobs deleted
    jobs: int
    events: int
    message_ids: int
    minutes: int  # Event Delivery's per-minute counts


def _delete_in_chunks(queryset: QuerySet[Any], *, chunk: int, deleted: Counter[str]) -> None:
    """Delete the rows of ``queryset`` ``chunk`` at a time, each chunk in a short transaction
    of its own that selects its rows (locked on PostgreSQL) and deletes them (with what
    cascades, counted per model in ``deleted``)."""
    while True:
        with transaction.atomic():
            pks = list(
                queryset.select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk]
            )
            if pks:
                _, per_model = queryset.model._base_manager.filter(pk__in=pks).delete()
                deleted.update(per_model)
        if len(pks) < chunk:
            return


def _sampled(queryset: QuerySet[Any], field_name: str, sample: int) -> tuple[QuerySet[Any], Q]:
    """``queryset`` annotated so that the returned Q is true of rows outside the sample
    (1 in ``sample`` by ``field_name``, none when 0)."""
    if sample == 0:
        return queryset, Q()
    annotated = queryset.annotate(sample_slot=Mod(F(field_name), Value(sample)))
    return annotated, ~Q(sample_slot=0)


def _stale_attempts(*, keep: Retention, now: datetime) -> QuerySet[DeliveryAttempt]:
    attempts, unsampled = _sampled(DeliveryAttempt.objects.all(), "job_id", keep.success_sample)
    fail_cut = keep.failures_cutoff(now)
    success_cut = keep.successes_cutoff(now)
    return attempts.filter(
        Q(finished_at__lt=fail_cut)
        | Q(finished_at__isnull=True, started_at__lt=fail_cut)
        | (Q(outcome__in=GOOD_OUTCOMES, finished_at__lt=success_cut) & unsampled)
    )


def _stale_jobs(*, keep: Retention, now: datetime) -> QuerySet[DeliveryJob]:
    """Finished jobs past their retention. A delivered job that had failed attempts first
    (``attempts`` over 1) is kept as long as failures: its failures are kept that long."""
    jobs, unsampled = _sampled(
        DeliveryJob.objects.filter(state__in=FINISHED_STATES), "pk", keep.success_sample
    )
    return jobs.filter(
        Q(next_attempt_at__lt=keep.failures_cutoff(now))
        | (
            Q(
                state__in=(JobState.DELIVERED, JobState.FILTERED),
                attempts__lte=1,
                next_attempt_at__lt=keep.successes_cutoff(now),
            )
            & unsampled
        )
    )


def _stale_events(*, source_id: int, before: datetime) -> QuerySet[Event] | None:
    """The source's events received before ``before`` that no job refers to any more
    (every unfinished job keeps its event), except its RECENT_EVENTS_MAX most recent: the
    IDE's samples. None when it has no more than those."""
    keep_from = list(
        Event.objects.filter(source_id=source_id)
        .order_by("-id")
        .values_list("id", flat=True)[RECENT_EVENTS_MAX - 1 : RECENT_EVENTS_MAX]
    )
    if not keep_from:
        return None
    return Event.objects.filter(
        ~Exists(DeliveryJob.objects.filter(event=OuterRef("pk"))),
        source_id=source_id,
        id__lt=keep_from[0],
        received_at__lt=before,
    )


def delivery_data_clean(
    *, now: datetime, keep: Retention | None = None, chunk: int = CLEAN_CHUNK
) -> CleanCounts:
    """Delete what retention no longer keeps (``pipeline.retention``): old attempts, then
    finished jobs, then events no job refers to, then messageIds older than DEDUP_WINDOW,
    ``chunk`` rows per transaction. Never an unfinished job or its event."""
    keep = keep or retention()
    deleted: Counter[str] = Counter()
    _delete_in_chunks(_stale_attempts(keep=keep, now=now), chunk=chunk, deleted=deleted)
    _delete_in_chunks(_stale_jobs(keep=keep, now=now), chunk=chunk, deleted=deleted)
    for source_id in Source.objects.order_by("pk").values_list("pk", flat=True):
        events = _stale_events(source_id=source_id, before=keep.successes_cutoff(now))
        if events is not None:
            _delete_in_chunks(events, chunk=chunk, deleted=deleted)
    message_ids = 0
    while True:
        pruned = seen_message_ids_prune(before=now - DEDUP_WINDOW, limit=chunk)
        message_ids += pruned
        if pruned < chunk:
            break
    stale_minutes = DeliveryMinute.objects.filter(minute__lt=now - MINUTES_KEPT)
    _delete_in_chunks(stale_minutes, chunk=chunk, deleted=deleted)
    return CleanCounts(
        attempts=deleted[DeliveryAttempt._meta.label],
        jobs=deleted[DeliveryJob._meta.label],
        events=deleted[Event._meta.label],
        message_ids=message_ids,
        minutes=deleted[DeliveryMinute._meta.label],
    )


@dataclass(frozen=True)
class HousekeepingDone:
    cleaned: CleanCounts
    health_changed: int

    def __str__(self) -> str:
        c = self.cleaned
        return (
            f"Deleted {c.attempts} attempts, {c.jobs} jobs, {c.events} events, "
            f"{c.message_ids} messageIds, {c.minutes} minutes of counts; "
            f"{self.health_changed} instances changed health."
        )


def delivery_housekeep(*, now: datetime) -> HousekeepingDone:
    """What every delivery worker does now and then, and ``manage.py clean_delivery`` at
    once: enforce retention, and judge again the instances flagged failing."""
    return HousekeepingDone(
        cleaned=delivery_data_clean(now=now),
        health_changed=instances_health_recompute(now=now),
    )


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
        constant={"minute": DeliveryMinute.start_of(at)},
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


REPLAY_CHUNK = 1000


def delivery_jobs_replay(*, instance: DestinationInstance, match: ReplayFilter, actor: User) -> int:
    """Queue the discarded jobs of ``instance`` that ``match`` names (exhausted ones are
    discarded too) for delivery now, as new attempts of the same jobs; returns how many.
    Attempt numbers go on from the job's last, so the log keeps every attempt; the retry
    budget starts again from the replay (``replayed_after``). In transactions of
    REPLAY_CHUNK jobs, so that replaying a week of failures never holds the database
    (SQLite's one writer: ingest) for long; one audit row, none when nothing matched."""
    replayable = DeliveryJob.objects.filter(_replayable(instance=instance, match=match))
    queued = 0
    while chunk := list(replayable.order_by("pk").values_list("pk", flat=True)[:REPLAY_CHUNK]):
        with transaction.atomic():
            # Still replayable: another replay or a worker may have moved some meanwhile.
            queued += replayable.filter(pk__in=chunk).update(
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


# --- Destination filters


def _rules_clean(rules: Any) -> list[dict[str, Any]]:
    """``filters_clean``, its error under ``rules``, the field the API and the page send."""
    try:
        return filters_clean(rules)
    except ValidationError as exc:
        raise ValidationError({"rules": exc.messages}) from None


def _as_json(rules: list[dict[str, Any]]) -> str:
    # Compared as text: Python's == would call a change from true to 1 no change.
    return json.dumps(rules, sort_keys=True)


@transaction.atomic
def instance_filters_set(
    *, instance: DestinationInstance, rules: Any, actor: User
) -> InstanceFilters:
    """Replace the instance's destination filters with ``rules`` (untrusted JSON), checked
    whole first: a bad rule list raises ``ValidationError({"rules": "Rule #2, ..."})`` and
    nothing is saved. One audit row, none when the rules are the ones already stored.
    Delivery reads them at each round: jobs claimed after the commit use them."""
    cleaned = _rules_clean(rules)
    # The instance's row is the lock: two first saves would both find no filters row.
    DestinationInstance.objects.select_for_update().filter(pk=instance.pk).first()
    row = InstanceFilters.objects.filter(instance=instance).first()
    before = row.rules if row is not None else []
    if _as_json(cleaned) == _as_json(before):
        return row or InstanceFilters(instance=instance, rules=[])
    row = row or InstanceFilters(instance=instance)
    row.rules = cleaned
    row.updated_by = actor
    row.save()
    audit_record(
        action="instance.filters_changed",
        actor=actor,
        workspace=instance.workspace,
        target=instance,
        changes={"rules": {"from": before, "to": cleaned}},
    )
    return row


@dataclass(frozen=True)
class FilterPreview:
    """What the filters decide for one event: sent or dropped (by rule number ``rule``,
    for ``reason``), and the event as the function would be given it."""

    send: bool
    rule: int | None
    reason: str | None
    event: Any


_RULE_NUMBER = re.compile(r"rule #(\d+) ")


def instance_filters_preview(
    *, instance: DestinationInstance, event: Any, rules: Any = None
) -> FilterPreview:
    """Run ``event`` through ``rules`` (untrusted, checked as ``instance_filters_set``
    checks them), or the instance's saved filters when None. Changes nothing."""
    cleaned = (
        instance_filters_get(instance=instance).rules if rules is None else _rules_clean(rules)
    )
    decision = filters_apply(cleaned, event)
    found = _RULE_NUMBER.match(decision.reason or "")
    return FilterPreview(
        send=decision.send,
        rule=int(found.group(1)) if found else None,
        reason=decision.reason,
        event=decision.event,
    )


# --- Batching settings of an instance (how its batches are flushed: pipeline/batching.py)


@transaction.atomic
def instance_batching_set(
    *, instance: DestinationInstance, actor: User, size: int, wait_ms: int
) -> BatchSettings:
    """Set how the instance's batches are flushed; one audit row when anything changed."""
    if not BATCH_SIZE_MIN <= size <= BATCH_SIZE_MAX:
        raise ValidationError({"size": f"Between {BATCH_SIZE_MIN} and {BATCH_SIZE_MAX} events."})
    if not BATCH_WAIT_MS_MIN <= wait_ms <= BATCH_WAIT_MS_MAX:
        raise ValidationError(
            {"wait_ms": f"Between {BATCH_WAIT_MS_MIN} and {BATCH_WAIT_MS_MAX} ms."}
        )
    before = instance_batching_get(instance=instance)
    after = BatchSettings(size=size, wait_ms=wait_ms)
    if after == before:
        return after
    InstanceBatching.objects.update_or_create(
        instance=instance, defaults={"size": size, "wait_ms": wait_ms}
    )
    changes = {
        name: {"from": getattr(before, name), "to": getattr(after, name)}
        for name in ("size", "wait_ms")
        if getattr(before, name) != getattr(after, name)
    }
    audit_record(
        action="instance.batching_changed",
        actor=actor,
        workspace=instance.workspace,
        target=instance,
        changes=changes,
    )
    return after
