"""Retention: what delivery_data_clean deletes, on each rule's boundary, and what it never
deletes (pipeline.retention, pipeline.services)."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import DestinationInstance
from pipeline import services
from pipeline.models import DeliveryAttempt, DeliveryJob, Event, JobState, SeenMessageId
from pipeline.retention import Retention, retention
from pipeline.services import DEDUP_WINDOW, delivery_data_clean, events_store
from tests.conftest import World

KEEP = Retention(failures=timedelta(days=7), successes=timedelta(hours=24), success_sample=0)
SECOND = timedelta(seconds=1)
_serial = iter(range(1_000_000))


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    # Only the source's most recent event is kept as a sample here, so that the rules on
    # events show; test_a_source_keeps_its_recent_events checks the real number.
    monkeypatch.setattr(services, "RECENT_EVENTS_MAX", 1)
    return timezone.now()


def event(world: World, *, received_at: datetime) -> Event:
    mid = f"m-{next(_serial)}"
    return Event.objects.create(
        source=world.source,
        type="track",
        message_id=mid,
        received_at=received_at,
        payload={"type": "track", "messageId": mid},
    )


def job(
    world: World,
    state: str,
    *,
    at: datetime,
    attempts: int = 1,
    outcomes: tuple[str, ...] = (),
    instance: DestinationInstance | None = None,
    on: Event | None = None,
) -> DeliveryJob:
    """A job in ``state`` whose last attempt finished (or, unfinished, was due) at ``at``,
    with an attempt row per outcome, all finished at ``at``."""
    instance = instance or world.instance
    created = DeliveryJob.objects.create(
        instance=instance,
        event=on or event(world, received_at=at),
        state=state,
        attempts=attempts,
        next_attempt_at=at,
        created_at=at,
    )
    for number, outcome in enumerate(outcomes, start=1):
        DeliveryAttempt.objects.create(
            job=created,
            instance=instance,
            number=number,
            worker="w",
            started_at=at,
            finished_at=at,
            outcome=outcome,
        )
    return created


def exists(row: DeliveryJob | Event | DeliveryAttempt) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


def test_retention_reads_the_delivery_settings(settings: object) -> None:
    settings.DELIVERY_RETAIN_FAILURES_DAYS = 3  # type: ignore[attr-defined]
    settings.DELIVERY_RETAIN_SUCCESSES_HOURS = 2  # type: ignore[attr-defined]
    settings.DELIVERY_SUCCESS_SAMPLE = 10  # type: ignore[attr-defined]
    assert retention() == Retention(
        failures=timedelta(days=3), successes=timedelta(hours=2), success_sample=10
    )


def test_a_discarded_job_and_its_failures_are_kept_seven_days(world: World, now: datetime) -> None:
    cut = now - KEEP.failures
    kept = job(world, JobState.DISCARDED, at=cut + SECOND, outcomes=("bad_request",))
    gone = job(world, JobState.DISCARDED, at=cut - SECOND, outcomes=("bad_request",))
    event(world, received_at=now)  # the source's recent sample

    counts = delivery_data_clean(now=now, keep=KEEP)

    assert exists(kept) and exists(kept.event) and kept.delivery_attempts.count() == 1
    assert not exists(gone) and not exists(gone.event)
    assert (counts.jobs, counts.attempts, counts.events) == (1, 1, 1)


def test_a_failed_attempt_of_an_unfinished_job_goes_after_seven_days(
    world: World, now: datetime
) -> None:
    cut = now - KEEP.failures
    retrying = job(world, JobState.RETRYING, at=now, attempts=2, outcomes=("retry", "retry"))
    old, recent = retrying.delivery_attempts.order_by("number")
    DeliveryAttempt.objects.filter(pk=old.pk).update(finished_at=cut - SECOND)
    DeliveryAttempt.objects.filter(pk=recent.pk).update(finished_at=cut + SECOND)

    delivery_data_clean(now=now, keep=KEEP)

    assert not exists(old) and exists(recent) and exists(retrying)


def test_an_attempt_that_never_finished_goes_after_seven_days(world: World, now: datetime) -> None:
    retrying = job(world, JobState.RETRYING, at=now)
    DeliveryAttempt.objects.create(
        job=retrying, instance=world.instance, number=1, worker="dead",
        started_at=now - KEEP.failures - SECOND,
    )  # fmt: skip
    DeliveryAttempt.objects.create(
        job=retrying, instance=world.instance, number=2, worker="dead",
        started_at=now - KEEP.failures + SECOND,
    )  # fmt: skip

    assert delivery_data_clean(now=now, keep=KEEP).attempts == 1
    assert list(retrying.delivery_attempts.values_list("number", flat=True)) == [2]


def test_a_delivered_job_goes_after_a_day(world: World, now: datetime) -> None:
    cut = now - KEEP.successes
    kept = job(world, JobState.DELIVERED, at=cut + SECOND, outcomes=("success",))
    gone = job(world, JobState.DELIVERED, at=cut - SECOND, outcomes=("success",))
    filtered = job(world, JobState.FILTERED, at=cut - SECOND, attempts=0)
    event(world, received_at=now)

    counts = delivery_data_clean(now=now, keep=KEEP)

    assert exists(kept) and not exists(gone) and not exists(filtered)
    # The events of the jobs deleted go with them: nothing else refers to them.
    assert not exists(gone.event) and not exists(filtered.event) and exists(kept.event)
    assert (counts.jobs, counts.attempts, counts.events) == (2, 1, 2)


def test_a_delivered_job_that_failed_first_is_kept_with_its_failures(
    world: World, now: datetime
) -> None:
    at = now - KEEP.successes - SECOND
    retried = job(world, JobState.DELIVERED, at=at, attempts=2, outcomes=("retry", "success"))

    delivery_data_clean(now=now, keep=KEEP)

    # The job stays while its failure does; its success is no longer kept.
    assert exists(retried)
    assert list(retried.delivery_attempts.values_list("outcome", flat=True)) == ["retry"]


def test_one_delivered_job_in_the_sample_is_kept_as_long_as_failures(
    world: World, now: datetime
) -> None:
    sampled = Retention(failures=KEEP.failures, successes=KEEP.successes, success_sample=2)
    at = now - KEEP.successes - SECOND
    jobs = [job(world, JobState.DELIVERED, at=at, outcomes=("success",)) for _ in range(4)]
    too_old = job(world, JobState.DELIVERED, at=now - KEEP.failures - SECOND)

    delivery_data_clean(now=now, keep=sampled)

    assert [exists(j) for j in jobs] == [j.pk % 2 == 0 for j in jobs]
    assert all(j.delivery_attempts.exists() for j in jobs if exists(j))
    assert not exists(too_old)


def test_unfinished_jobs_and_their_events_are_never_deleted(world: World, now: datetime) -> None:
    ages_ago = now - timedelta(days=365)
    unfinished = [
        job(world, state, at=ages_ago, outcomes=("retry",))
        for state in (JobState.PENDING, JobState.LEASED, JobState.RETRYING)
    ]
    shared = event(world, received_at=ages_ago)
    second = DestinationInstance.objects.create(
        workspace=world.acme, function=world.function, source=world.source, name="Second",
        deployed_version=world.instance.deployed_version,
    )  # fmt: skip
    done = job(world, JobState.DELIVERED, at=ages_ago, on=shared)
    waiting = job(world, JobState.PENDING, at=ages_ago, on=shared, instance=second)

    delivery_data_clean(now=now, keep=KEEP)

    assert all(exists(j) and exists(j.event) for j in [*unfinished, waiting])
    assert not exists(done) and exists(shared)
    # Their attempts follow the attempts' rule: a year-old failure is gone.
    assert not DeliveryAttempt.objects.filter(job__in=unfinished).exists()


def test_a_source_keeps_its_recent_events(world: World) -> None:
    now = timezone.now()
    old = [event(world, received_at=now - timedelta(days=30)) for _ in range(101)]

    assert delivery_data_clean(now=now, keep=KEEP).events == 1
    assert not exists(old[0]) and all(exists(e) for e in old[1:])


def test_message_ids_older_than_the_dedup_window_are_forgotten(world: World, now: datetime) -> None:
    events_store(
        source=world.source,
        events=[{"type": "track", "messageId": "old"}],
        received_at=now - DEDUP_WINDOW - SECOND,
    )
    events_store(
        source=world.source,
        events=[{"type": "track", "messageId": "new"}],
        received_at=now - DEDUP_WINDOW + SECOND,
    )

    assert delivery_data_clean(now=now, keep=KEEP).message_ids == 1
    assert list(SeenMessageId.objects.values_list("message_id", flat=True)) == ["new"]


def test_small_chunks_still_delete_everything(world: World, now: datetime) -> None:
    old = now - KEEP.failures - SECOND
    for _ in range(7):
        job(world, JobState.DISCARDED, at=old, outcomes=("bad_request",))
    for n in range(5):
        SeenMessageId.objects.create(
            source=world.source, message_id=f"s-{n}", seen_at=old, accepted_by=uuid.uuid4()
        )
    event(world, received_at=now)

    counts = delivery_data_clean(now=now, keep=KEEP, chunk=2)

    assert (counts.jobs, counts.attempts, counts.events, counts.message_ids) == (7, 7, 7, 5)
    assert not DeliveryJob.objects.exists() and Event.objects.count() == 1


def test_clean_delivery_prints_what_it_deleted(world: World, now: datetime) -> None:
    job(world, JobState.DISCARDED, at=now - timedelta(days=8), outcomes=("bad_request",))
    event(world, received_at=now)
    out = io.StringIO()

    call_command("clean_delivery", stdout=out)

    assert out.getvalue().strip() == (
        "Deleted 1 attempts, 1 jobs, 1 events, 0 messageIds, 0 minutes of counts; "
        "0 instances changed health."
    )


def test_event_deliverys_minutes_are_kept_a_week_and_a_day(world: World, now: datetime) -> None:
    from pipeline.models import DeliveryMinute
    from pipeline.retention import MINUTES_KEPT
    from pipeline.services import delivery_data_clean

    for age in (MINUTES_KEPT + timedelta(minutes=1), MINUTES_KEPT - timedelta(minutes=1)):
        DeliveryMinute.objects.create(
            instance=world.instance,
            minute=(now - age).replace(second=0, microsecond=0),
            state=JobState.DELIVERED,
            category="success",
            count=3,
        )

    counts = delivery_data_clean(now=now, chunk=1)

    assert counts.minutes == 1
    [kept] = DeliveryMinute.objects.all()
    assert kept.minute > now - MINUTES_KEPT
