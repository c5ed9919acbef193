"""Accepted events, the messageIds seen lately, the delivery jobs of each event, and the
destination filters of each instance."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from catalog.models import DestinationInstance, Function, Source

# Longest messageId taken: a UUID is 36 characters, analytics.js's about 50.
MAX_MESSAGE_ID_CHARS = 255


class EventType(models.TextChoices):
    IDENTIFY = "identify", "Identify"
    TRACK = "track", "Track"
    PAGE = "page", "Page"
    SCREEN = "screen", "Screen"
    GROUP = "group", "Group"
    ALIAS = "alias", "Alias"
    # A user deletion (Segment's), sent from the Config API or a page, never by senders.
    DELETE = "delete", "Delete"


class Event(models.Model):
    """One event accepted by the Tracking API, stored once, as it was filled in on arrival
    (``messageId``, ``receivedAt``, ``timestamp``... are in ``payload``)."""

    # No index of its own: ``pipeline_event_recent`` leads with it.
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(max_length=10, choices=EventType.choices)
    message_id = models.CharField(max_length=MAX_MESSAGE_ID_CHARS)
    received_at = models.DateTimeField()
    payload = models.JSONField()

    class Meta:
        # A source's most recent events: the samples the IDE offers.
        indexes = [models.Index(fields=["source", "-id"], name="pipeline_event_recent")]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


class SeenMessageId(models.Model):
    """A messageId a source sent lately. The unique constraint is the deduplication: of
    concurrent requests carrying the same messageId, exactly one inserts this row, and only
    that one stores the event. Rows older than DEDUP_WINDOW are pruned."""

    # No index of its own: ``unique_seen_message_id`` leads with it.
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+", db_index=False)
    message_id = models.CharField(max_length=MAX_MESSAGE_ID_CHARS)
    seen_at = models.DateTimeField(db_index=True)
    # The request that inserted the row: tells it, after an insert that skipped the rows
    # already there, which of its messageIds were new.
    accepted_by = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id"], name="unique_seen_message_id")
        ]

    def __str__(self) -> str:
        return self.message_id


class JobState(models.TextChoices):
    PENDING = "pending", "Pending"
    LEASED = "leased", "Leased"  # a worker is delivering it until lease_expires_at
    RETRYING = "retrying", "Retrying"  # failed with a retryable outcome; next_attempt_at
    DELIVERED = "delivered", "Delivered"
    DISCARDED = "discarded", "Discarded"  # failed for good, or out of retries
    FILTERED = "filtered", "Filtered"  # the instance's filters dropped the event


# States a worker may claim a job in, once its next_attempt_at has come.
CLAIMABLE_STATES = (JobState.PENDING, JobState.RETRYING, JobState.LEASED)


class DeliveryJob(models.Model):
    """One event to deliver to one destination instance, created with the event.

    ``next_attempt_at`` is when the job may next be claimed: for a pending job its creation,
    for a retrying one the end of its backoff, and for a leased one the end of its lease
    (so a job whose worker died is claimable again). A claim reads each instance's range of
    ``pipeline_job_instance_claim`` per claimable state, ``next_attempt_at <= now``;
    retention reads finished jobs by the time they finished on ``pipeline_job_claim``."""

    # No index of their own: ``pipeline_job_recent`` and ``unique_delivery_job`` lead with
    # them. Each index costs every insert and every claim and result (an update of
    # ``state`` is never a heap-only one): on PostgreSQL, with seven indexes, updating 400
    # jobs wrote seven WAL records a job.
    instance = models.ForeignKey(
        DestinationInstance, on_delete=models.CASCADE, related_name="delivery_jobs", db_index=False
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The worker holding the lease. With ``attempts`` (counted at each claim) it names one
    # claim: a worker records a result only while both still match (see delivery.py).
    leased_by = models.CharField(max_length=100, blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # The runtime's outcome of the last attempt (runtime.services.OUTCOMES) and its error.
    last_outcome = models.CharField(max_length=40, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # ``attempts`` when the job was last replayed: attempt numbers go on counting (they are
    # unique per job), the retry budget counts from here (see delivery_results_record).
    replayed_after = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Event first: also the index of an event's jobs (cascades, retention).
            models.UniqueConstraint(fields=["event", "instance"], name="unique_delivery_job")
        ]
        indexes = [
            # (Its name is older than its use: retention's, see the docstring.)
            models.Index(fields=["state", "next_attempt_at"], name="pipeline_job_claim"),
            # The backlog per instance (one range per claimable state, never the finished
            # jobs), and a claim's jobs of one instance in the order it takes them.
            models.Index(
                fields=["state", "instance", "next_attempt_at", "id"],
                name="pipeline_job_instance_claim",
            ),
            # An instance's recent arrival rate: batches, or single events at low volume.
            models.Index(fields=["instance", "created_at"], name="pipeline_job_recent"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk}: event {self.event_id} to instance {self.instance_id}"


class DeliveryAttempt(models.Model):
    """One attempt at a job, written once, with the runtime's result. The delivery log
    cannot miss an attempt: one whose worker died is written when its job is claimed
    again, without ``finished_at``, started at its lease's end (replaced by its result if
    that worker still records one). Writing each attempt at its claim too was a second
    write of every row: about a sixth of a SQLite round's statement time. Logs and request
    traces are as the runtime gave them, values of encrypted settings already masked."""

    # No index of its own: ``unique_delivery_attempt`` leads with it.
    job = models.ForeignKey(
        DeliveryJob, on_delete=models.CASCADE, related_name="delivery_attempts", db_index=False
    )
    # The job's instance, copied: an instance's recent attempts (its Connection Health) are
    # then one index range, not a join through every job it ever had.
    instance = models.ForeignKey(
        DestinationInstance, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    number = models.PositiveIntegerField()  # 1 for the first attempt
    worker = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True, default="")
    error_type = models.CharField(max_length=200, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    logs = models.JSONField(default=list)
    requests = models.JSONField(default=list)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="unique_delivery_attempt")
        ]
        indexes = [
            # Connection Health: an instance's attempts finished lately, with their outcome
            # in the index so that counting them reads the index alone.
            models.Index(
                fields=["instance", "finished_at", "outcome"], name="pipeline_attempt_health"
            ),
            # Retention: attempts finished (or, NULL, never) before a cutoff; read backwards,
            # the latest finished attempts, what the Function Logs tab polls for.
            models.Index(fields=["finished_at"], name="pipeline_attempt_finished"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of job {self.job_id}"


class FunctionUsageDay(models.Model):
    """How often a function's code ran on one day (UTC) for deliveries, and for how long:
    the usage page's figures. Incremented with each round's results, in their transaction."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    invocations = models.PositiveBigIntegerField(default=0)
    execution_ms = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["function", "day"], name="unique_function_usage_day")
        ]

    def __str__(self) -> str:
        return f"function {self.function_id} on {self.day}"


class DeliveryMinute(models.Model):
    """How many attempts of an instance ended in ``state`` with outcome ``category`` in one
    minute, and their total duration: what Event Delivery's counts, chart and error
    breakdown read, so that they never scan jobs. Added to with each round's results."""

    # No index of its own: ``unique_delivery_minute`` leads with it.
    instance = models.ForeignKey(
        DestinationInstance, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    minute = models.DateTimeField()  # the minute's start
    state = models.CharField(max_length=10, choices=JobState.choices)
    category = models.CharField(max_length=40)  # the outcome (runtime.services.OUTCOMES...)
    count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(default=0)

    class Meta:
        # Also the index of every read: an instance's minutes over a range.
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "minute", "state", "category"], name="unique_delivery_minute"
            )
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.state}/{self.category}: {self.count}"

    @staticmethod
    def start_of(at: datetime) -> datetime:
        """The ``minute`` that counts what happened at ``at``."""
        return at.replace(second=0, microsecond=0)


class InstanceFilters(models.Model):
    """The destination filters of one instance (see pipeline/filters.py), stored as
    ``filters_clean`` returned them. No row means no filters. Owned here, not by the
    instance: catalog knows nothing of the pipeline."""

    instance = models.OneToOneField(
        DestinationInstance, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    rules = models.JSONField(default=list)
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"filters of instance {self.instance_id}"


# Segment's batch defaults and ceiling (GUIDE.md, delivery facts).
BATCH_SIZE_DEFAULT = 20
BATCH_SIZE_MIN = 1
BATCH_SIZE_MAX = 400
BATCH_WAIT_MS_DEFAULT = 10_000
BATCH_WAIT_MS_MIN = 100
BATCH_WAIT_MS_MAX = 60_000


class InstanceBatching(models.Model):
    """How an instance's events are batched when its function defines ``onBatch``: flushed
    at ``size`` events or after ``wait_ms``, whichever comes first. An instance without a
    row uses the defaults. Owned by the pipeline: the catalog knows nothing of it."""

    instance = models.OneToOneField(
        DestinationInstance, on_delete=models.CASCADE, related_name="batching"
    )
    size = models.PositiveIntegerField(default=BATCH_SIZE_DEFAULT)
    wait_ms = models.PositiveIntegerField(default=BATCH_WAIT_MS_DEFAULT)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"batching of instance {self.instance_id}: {self.size} / {self.wait_ms} ms"
