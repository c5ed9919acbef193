from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Sum, TextField
from django.db.models.functions import Cast, Coalesce

from catalog.models import DestinationInstance, FunctionVersion, Source
from catalog.selectors import function_list, instance_secret_values
from pipeline.models import (
    BATCH_SIZE_DEFAULT,
    BATCH_WAIT_MS_DEFAULT,
    DeliveryAttempt,
    DeliveryJob,
    DeliveryMinute,
    Event,
    FunctionUsageDay,
    InstanceBatching,
    InstanceFilters,
    JobState,
)
from runtime.services import SUCCESS
from workspaces.permissions import WorkspaceAccess

# The events a source keeps at hand for the IDE's sample picker.
RECENT_EVENTS_MAX = 100
# Attempt outcomes in which the event went where it should (or, filtered, nowhere by
# design): the rest are failures, for Connection Health and for retention.
GOOD_OUTCOMES = (SUCCESS, JobState.FILTERED)
# Connection Health: an instance is failing when more than half of its attempts finished
# in the last HEALTH_WINDOW failed, counting at least HEALTH_MIN_ATTEMPTS of them (so
# that one failure of a quiet instance does not flag it).
HEALTH_WINDOW = timedelta(minutes=15)
HEALTH_MIN_ATTEMPTS = 5
USAGE_DAYS_DEFAULT = 30
USAGE_DAYS_MAX = 90


@dataclass(frozen=True)
class IngestRoute:
    """Where a source's new events go: the source, and its enabled destination instances."""

    source_id: int
    instance_ids: tuple[int, ...]


def ingest_route_for_write_key(*, write_key: str) -> IngestRoute | None:
    """The route of the source whose write key this is, or None."""
    return ingest_routes_for_write_keys(write_keys=[write_key]).get(write_key)


def ingest_routes_for_write_keys(*, write_keys: Collection[str]) -> dict[str, IngestRoute]:
    """The routes of the sources whose write keys these are (unknown keys are left out):
    one indexed query, in SQL rather than through the ORM, whose query building costs
    more than the query on the Tracking API's path (about 0.6 ms a query, against
    0.03 ms)."""
    keys = sorted({key for key in write_keys if key})
    if not keys:
        return {}
    source, instance = Source._meta, DestinationInstance._meta
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.{quote('write_key')}, s.{quote('id')}, i.{quote('id')} "
            f"FROM {quote(source.db_table)} s LEFT JOIN {quote(instance.db_table)} i "
            f"ON i.{quote('source_id')} = s.{quote('id')} AND i.{quote('enabled')} "
            f"WHERE s.{quote('write_key')} IN ({', '.join(['%s'] * len(keys))}) "
            f"ORDER BY i.{quote('id')}",
            keys,
        )
        rows = cursor.fetchall()
    instances: dict[str, list[int]] = {}
    sources: dict[str, int] = {}
    for key, source_id, instance_id in rows:
        sources[key] = source_id
        found = instances.setdefault(key, [])
        if instance_id is not None:
            found.append(instance_id)
    return {
        key: IngestRoute(source_id=source_id, instance_ids=tuple(instances[key]))
        for key, source_id in sources.items()
    }


def ingest_route_for_source(*, source: Source) -> IngestRoute:
    """The route of events the platform makes itself for ``source`` (user deletion)."""
    return IngestRoute(
        source_id=source.pk, instance_ids=tuple(source_enabled_instance_ids(source=source))
    )


def source_enabled_instance_ids(*, source: Source) -> list[int]:
    """The destinations each new event of ``source`` goes to."""
    return list(
        DestinationInstance.objects.filter(source=source, enabled=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def source_recent_events(*, source: Source, limit: int = RECENT_EVENTS_MAX) -> QuerySet[Event]:
    """The source's most recent events, newest first (at most ``RECENT_EVENTS_MAX``)."""
    limit = max(0, min(limit, RECENT_EVENTS_MAX))
    return Event.objects.filter(source=source).order_by("-id")[:limit]


def instance_attempts_recent(
    *, instance_id: int, limit: int = RECENT_EVENTS_MAX
) -> list[DeliveryAttempt]:
    """The instance's most recently finished attempts, newest first, with their jobs'
    events: the Function Logs tab."""
    limit = max(0, min(limit, RECENT_EVENTS_MAX))
    return list(
        DeliveryAttempt.objects.filter(instance_id=instance_id, finished_at__isnull=False)
        .select_related("job__event")
        .order_by("-finished_at", "-id")[:limit]
    )


def instance_filters_get(*, instance: DestinationInstance) -> InstanceFilters:
    """The instance's destination filters: an unsaved row without rules when it has none."""
    found = InstanceFilters.objects.filter(instance=instance).select_related("updated_by").first()
    return found or InstanceFilters(instance=instance, rules=[])


@dataclass(frozen=True)
class InstanceRun:
    """What running one instance's deliveries takes, loaded once per batch. ``settings``
    holds the values of encrypted settings too: for the runtime only."""

    instance_id: int
    workspace_id: int
    enabled: bool
    version: FunctionVersion
    settings: dict[str, Any]
    # Why its stored row cannot be run (then its jobs are discarded, not the round).
    problem: str | None = None
    # Its destination filters, as stored (pipeline/filters.py); empty: every event passes.
    filters: Sequence[dict[str, Any]] = ()


@dataclass(frozen=True)
class ClaimedJob:
    job_id: int
    attempt: int  # the attempt this claim is (the job's ``attempts`` after the claim)
    instance_id: int
    event_type: str
    # The event as stored, JSON text: an instance without filters sends it to the runtime
    # as it is; ``payload`` is it decoded, for filters and batches.
    payload_json: str

    @cached_property
    def payload(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.payload_json)
        return decoded


def _instance_run(instance: DestinationInstance, filters: Sequence[dict[str, Any]]) -> InstanceRun:
    problem = None
    settings: dict[str, Any] = {}
    try:
        if not isinstance(instance.settings, dict):
            raise ValueError("they are not a JSON object")
        settings = {**instance.settings, **instance_secret_values(instance=instance)}
    except Exception as exc:  # one broken row must not stall the other instances' jobs
        problem = f"The instance's stored settings could not be read ({exc})."
    return InstanceRun(
        instance_id=instance.pk,
        workspace_id=instance.workspace_id,
        enabled=instance.enabled,
        version=instance.deployed_version,
        settings=settings,
        problem=problem,
        filters=filters,
    )


def delivery_batch_load(*, job_ids: list[int]) -> tuple[list[ClaimedJob], dict[int, InstanceRun]]:
    """The claimed jobs with their events, and each of their instances once, with its
    deployed version, full setting values and filters."""
    # Values, not model instances: a round loads hundreds of jobs and their events. Two
    # lookups by primary key, not a join: PostgreSQL would join by reading every event.
    jobs = list(
        DeliveryJob.objects.filter(pk__any_of=job_ids)
        .order_by("pk")
        .values_list("pk", "attempts", "instance_id", "event_id")
    )
    # The payloads as their JSON text: most are sent to the runtime as they are.
    events = {
        pk: (event_type, text)
        for pk, event_type, text in Event.objects.filter(
            pk__any_of=sorted({event_id for *_, event_id in jobs})
        ).values_list("pk", "type", Cast("payload", TextField()))
    }
    claims = [
        ClaimedJob(pk, attempts, instance_id, *events[event_id])
        for pk, attempts, instance_id, event_id in jobs
        if event_id in events  # else deleted since, its job with it (cascade)
    ]
    instance_ids = {claim.instance_id for claim in claims}
    instances = DestinationInstance.objects.filter(pk__in=instance_ids).select_related(
        "deployed_version"
    )
    filters = dict(
        InstanceFilters.objects.filter(instance_id__in=instance_ids).values_list(
            "instance_id", "rules"
        )
    )
    runs = {
        instance.pk: _instance_run(instance, filters.get(instance.pk, ())) for instance in instances
    }
    return claims, runs


@dataclass(frozen=True)
class AttemptTally:
    finished: int
    failed: int

    @property
    def failing(self) -> bool:
        return self.finished >= HEALTH_MIN_ATTEMPTS and 2 * self.failed > self.finished


def instance_attempt_tallies(
    *, instance_ids: Collection[int], since: datetime
) -> dict[int, AttemptTally]:
    """Attempts of each instance recorded in the minute of ``since`` or later, and how many
    failed: a sum over Event Delivery's per-minute counts (a handful of rows per minute),
    never a count of the attempts (a busy failing instance has a million in 15 minutes)."""
    rows = (
        DeliveryMinute.objects.filter(
            instance_id__in=sorted(instance_ids), minute__gte=DeliveryMinute.start_of(since)
        )
        .values("instance_id")
        .annotate(
            finished=Sum("count"),
            failed=Coalesce(Sum("count", filter=~Q(category__in=GOOD_OUTCOMES)), 0),
        )
        .order_by()
    )
    return {
        row["instance_id"]: AttemptTally(finished=row["finished"], failed=row["failed"])
        for row in rows
    }


def instance_flagged_ids(*, instance_ids: Collection[int] | None = None) -> set[int]:
    """Instances flagged failing now (of ``instance_ids``, or all)."""
    flagged = DestinationInstance.objects.filter(failing_since__isnull=False)
    if instance_ids is not None:
        flagged = flagged.filter(pk__in=sorted(instance_ids))
    return set(flagged.values_list("pk", flat=True))


@dataclass(frozen=True)
class UsageDay:
    day: date
    invocations: int
    execution_ms: int
    bar: int  # height of the day's bar, in percent of the function's busiest day


@dataclass(frozen=True)
class FunctionUsage:
    function_id: int
    name: str
    days: list[UsageDay]  # oldest first, every day of the period (zero when idle)

    @property
    def invocations(self) -> int:
        return sum(d.invocations for d in self.days)

    @property
    def execution_ms(self) -> int:
        return sum(d.execution_ms for d in self.days)


def function_usage_list(*, access: WorkspaceAccess, days: int, today: date) -> list[FunctionUsage]:
    """Invocations and execution time per day of the last ``days`` days up to ``today``,
    for each function the member may see, by name."""
    period = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    functions = list(function_list(access=access).order_by("name").values_list("pk", "name"))
    counted = {
        (row.function_id, row.day): row
        for row in FunctionUsageDay.objects.filter(
            function_id__in=[pk for pk, _ in functions], day__gte=period[0], day__lte=today
        )
    }
    result = []
    for function_id, name in functions:
        rows = [counted.get((function_id, day)) for day in period]
        busiest = max((r.invocations for r in rows if r is not None), default=0)
        result.append(
            FunctionUsage(
                function_id=function_id,
                name=name,
                days=[
                    UsageDay(
                        day=day,
                        invocations=row.invocations if row else 0,
                        execution_ms=row.execution_ms if row else 0,
                        bar=round(100 * row.invocations / busiest) if row and busiest else 0,
                    )
                    for day, row in zip(period, rows, strict=True)
                ],
            )
        )
    return result


# --- Event Delivery: counts from the per-minute aggregates, recent failures

# Each range Event Delivery shows: its length and the width of one bucket of its chart.
DELIVERY_RANGES: dict[str, tuple[timedelta, timedelta]] = {
    "hour": (timedelta(hours=1), timedelta(minutes=1)),
    "day": (timedelta(days=1), timedelta(minutes=30)),
    "week": (timedelta(weeks=1), timedelta(hours=4)),
}
# The states Event Delivery counts, in the order it shows them.
DELIVERY_STATES: tuple[str, ...] = tuple(
    s.value for s in (JobState.DELIVERED, JobState.RETRYING, JobState.DISCARDED, JobState.FILTERED)
)
FAILED_STATES: tuple[str, ...] = (JobState.RETRYING.value, JobState.DISCARDED.value)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DeliveryBucket:
    start: datetime
    counts: dict[str, int]  # per state of DELIVERY_STATES

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DeliveryError:
    category: str
    state: str  # retrying or discarded
    count: int


@dataclass(frozen=True)
class DeliverySummary:
    range: str
    start: datetime
    end: datetime
    bucket: timedelta
    totals: dict[str, int]
    series: list[DeliveryBucket]
    errors: list[DeliveryError]  # most frequent first
    duration_ms: int  # the attempts' total run time


def delivery_range_parse(*, value: str | None) -> str:
    """The range a request asks for (``?range=``), hour when it names none."""
    if value is None or value == "":
        return "hour"
    if value not in DELIVERY_RANGES:
        raise ValidationError({"range": f"Unknown range {value!r}: choose hour, day or week."})
    return value


def _bucket_start(moment: datetime, bucket: timedelta) -> datetime:
    # Buckets are aligned on a fixed origin, so that a page seen twice shows the same ones.
    return moment - (moment - _EPOCH) % bucket


def instance_delivery_summary(
    *, instance: DestinationInstance, range_name: str, now: datetime
) -> DeliverySummary:
    """Attempts of ``instance`` over the range ending ``now`` (a key of DELIVERY_RANGES),
    counted per state, per bucket of the range and per failure category, read from the
    per-minute aggregates only."""
    length, bucket = DELIVERY_RANGES[range_name]
    end = _bucket_start(now, bucket) + bucket
    start = end - length
    minutes = DeliveryMinute.objects.filter(instance=instance, minute__gte=start, minute__lt=end)
    per_bucket: dict[datetime, dict[str, int]] = {}
    for minute, state, count in (
        minutes.values("minute", "state")
        .annotate(n=Sum("count"))
        .values_list("minute", "state", "n")
    ):
        counts = per_bucket.setdefault(
            _bucket_start(minute, bucket), dict.fromkeys(DELIVERY_STATES, 0)
        )
        if state in counts:
            counts[state] += count
    series = []
    moment = start
    while moment < end:
        series.append(
            DeliveryBucket(moment, per_bucket.get(moment, dict.fromkeys(DELIVERY_STATES, 0)))
        )
        moment += bucket
    totals = dict.fromkeys(DELIVERY_STATES, 0)
    errors = []
    duration_ms = 0
    for state, category, count, duration in (
        minutes.values("state", "category")
        .annotate(n=Sum("count"), ms=Sum("duration_ms"))
        .order_by("-n", "category")
        .values_list("state", "category", "n", "ms")
    ):
        totals[state] = totals.get(state, 0) + count
        duration_ms += duration
        if state in FAILED_STATES:
            errors.append(DeliveryError(category=category, state=state, count=count))
    return DeliverySummary(
        range=range_name,
        start=start,
        end=end,
        bucket=bucket,
        totals=totals,
        series=series,
        errors=errors,
        duration_ms=duration_ms,
    )


def instance_delivery_failures(*, instance: DestinationInstance) -> QuerySet[DeliveryJob]:
    """The instance's jobs that failed (retrying or discarded), the latest failure first,
    with their events and attempts (in order)."""
    return (
        DeliveryJob.objects.filter(instance=instance, state__in=FAILED_STATES)
        .select_related("event")
        .prefetch_related(
            Prefetch("delivery_attempts", queryset=DeliveryAttempt.objects.order_by("number"))
        )
        .order_by("-last_attempt_at", "-pk")
    )


# --- Batching (see pipeline/batching.py)


@dataclass(frozen=True)
class BatchSettings:
    size: int
    wait_ms: int


@dataclass(frozen=True)
class BatchTarget:
    """What planning an instance's batches reads: its deployed version and settings."""

    instance_id: int
    version_id: int
    settings: BatchSettings


def instance_batching_get(*, instance: DestinationInstance) -> BatchSettings:
    row = InstanceBatching.objects.filter(instance=instance).first()
    if row is None:
        return BatchSettings(size=BATCH_SIZE_DEFAULT, wait_ms=BATCH_WAIT_MS_DEFAULT)
    return BatchSettings(size=row.size, wait_ms=row.wait_ms)


def batch_targets(*, instance_ids: Collection[int]) -> dict[int, BatchTarget]:
    """Each enabled instance's deployed version and batch settings, in one query."""
    rows = DestinationInstance.objects.filter(pk__in=instance_ids, enabled=True).values_list(
        "pk", "deployed_version_id", "batching__size", "batching__wait_ms"
    )
    return {
        pk: BatchTarget(
            instance_id=pk,
            version_id=version_id,
            settings=BatchSettings(
                size=size if size is not None else BATCH_SIZE_DEFAULT,
                wait_ms=wait_ms if wait_ms is not None else BATCH_WAIT_MS_DEFAULT,
            ),
        )
        for pk, version_id, size, wait_ms in rows
    }


def version_codes(*, version_ids: Collection[int]) -> dict[int, str]:
    return dict(FunctionVersion.objects.filter(pk__in=version_ids).values_list("pk", "code"))


def instances_recent_job_counts(
    *, instance_ids: Collection[int], since: datetime
) -> dict[int, int]:
    """Jobs created since ``since`` per instance: its recent arrival rate."""
    return dict(
        DeliveryJob.objects.filter(instance_id__in=instance_ids, created_at__gte=since)
        .values("instance_id")
        .annotate(n=Count("pk"))
        .values_list("instance_id", "n")
    )
