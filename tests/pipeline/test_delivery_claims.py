"""Claiming delivery jobs with leases, and recording results only for the claim that still
holds the job (pipeline.services)."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from catalog.models import DestinationInstance
from catalog.services import instance_create
from pipeline.models import BATCH_SIZE_MAX, DeliveryAttempt, DeliveryJob, Event, JobState
from pipeline.selectors import delivery_batch_load
from pipeline.services import (
    CLAIM_PER_INSTANCE,
    WORKER_LOST,
    WORKER_LOST_MESSAGE,
    DeliveryResult,
    delivery_jobs_claim,
    delivery_results_record,
)
from tests.conftest import SECRET_API_KEY, World


def pending_jobs(instance: DestinationInstance, count: int, *, prefix: str = "m") -> list[int]:
    """``count`` events of the instance's source with a pending job each, due now."""
    now = timezone.now()
    events = Event.objects.bulk_create(
        [
            Event(
                source=instance.source,
                type="track",
                message_id=f"{prefix}-{n}",
                received_at=now,
                payload={"type": "track", "event": "Signed Up", "messageId": f"{prefix}-{n}"},
            )
            for n in range(count)
        ]
    )
    jobs = DeliveryJob.objects.bulk_create(
        [DeliveryJob(instance=instance, event=e, next_attempt_at=now) for e in events]
    )
    return [job.pk for job in jobs]


def second_instance(world: World) -> DestinationInstance:
    return instance_create(
        function=world.function,
        source=world.source,
        name="Webhook (staging)",
        settings={"apiKey": SECRET_API_KEY},
        actor=world.users["olivia"],
    )


def test_a_claim_leases_due_jobs_and_counts_the_attempt(world: World) -> None:
    [job_id] = pending_jobs(world.instance, 1)
    later = DeliveryJob.objects.get(pk=pending_jobs(world.instance, 1, prefix="later")[0])
    later.next_attempt_at = timezone.now() + timedelta(minutes=5)
    later.save()

    assert delivery_jobs_claim(worker_id="w1", limit=10, lease_s=60) == [job_id]

    job = DeliveryJob.objects.get(pk=job_id)
    assert (job.state, job.leased_by, job.attempts) == (JobState.LEASED, "w1", 1)
    assert job.lease_expires_at == job.next_attempt_at
    assert job.lease_expires_at > timezone.now() + timedelta(seconds=55)
    # Leased and not expired: nobody else gets it.
    assert delivery_jobs_claim(worker_id="w2", limit=10, lease_s=60) == []


def test_an_expired_lease_is_claimed_again(world: World) -> None:
    [job_id] = pending_jobs(world.instance, 1)
    assert delivery_jobs_claim(worker_id="w1", limit=10, lease_s=-1) == [job_id]

    assert delivery_jobs_claim(worker_id="w2", limit=10, lease_s=60) == [job_id]

    job = DeliveryJob.objects.get(pk=job_id)
    assert (job.leased_by, job.attempts) == ("w2", 2)


def test_a_stale_worker_cannot_record_over_the_new_claim(world: World) -> None:
    [job_id] = pending_jobs(world.instance, 1)
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=-1)
    delivery_jobs_claim(worker_id="w2", limit=10, lease_s=60)

    stale = DeliveryResult(job_id=job_id, attempt=1, outcome="success")
    assert delivery_results_record(results=[stale], worker_id="w1") == 0

    job = DeliveryJob.objects.get(pk=job_id)
    assert (job.state, job.leased_by, job.last_outcome) == (JobState.LEASED, "w2", "")
    # The stale attempt still happened: the log keeps it.
    first = DeliveryAttempt.objects.get(job_id=job_id, number=1)
    assert (first.worker, first.outcome) == ("w1", "success")
    assert first.finished_at is not None

    fresh = DeliveryResult(job_id=job_id, attempt=2, outcome="bad_request", error_message="x")
    assert delivery_results_record(results=[fresh], worker_id="w2") == 1
    job.refresh_from_db()
    assert (job.state, job.last_outcome, job.last_error) == (JobState.DISCARDED, "bad_request", "x")


def test_an_attempt_whose_worker_died_is_logged_when_its_job_is_claimed_again(
    world: World,
) -> None:
    [job_id] = pending_jobs(world.instance, 1)
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=-1)  # then w1 dies
    lease_end = DeliveryJob.objects.get(pk=job_id).lease_expires_at
    assert not DeliveryAttempt.objects.exists()  # written with its result, never before

    assert delivery_jobs_claim(worker_id="w2", limit=10, lease_s=60) == [job_id]

    [lost] = DeliveryAttempt.objects.filter(job_id=job_id)
    assert (lost.number, lost.worker, lost.instance_id) == (1, "w1", world.instance.pk)
    assert (lost.started_at, lost.finished_at, lost.outcome) == (lease_end, None, "")
    assert (lost.error_type, lost.error_message) == (WORKER_LOST, WORKER_LOST_MESSAGE)
    # Stored as the database stores times: found by a query on it (retention's, for one).
    assert DeliveryAttempt.objects.filter(started_at=lease_end, finished_at=None).count() == 1
    # w2 dies too, and the job is claimed a third time: only the second attempt is added.
    expired = timezone.now() - timedelta(seconds=1)
    DeliveryJob.objects.filter(pk=job_id).update(lease_expires_at=expired, next_attempt_at=expired)
    delivery_jobs_claim(worker_id="w3", limit=10, lease_s=60)
    delivery_jobs_claim(worker_id="w3", limit=10, lease_s=60)  # leased: nothing claimed
    rows = DeliveryAttempt.objects.filter(job_id=job_id).order_by("number")
    assert list(rows.values_list("number", "worker")) == [(1, "w1"), (2, "w2")]


def test_a_late_result_replaces_its_lost_attempt_and_the_new_claim_logs_its_own(
    world: World,
) -> None:
    [job_id] = pending_jobs(world.instance, 1)
    started = timezone.now()
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=-1)
    delivery_jobs_claim(worker_id="w2", limit=10, lease_s=60)

    late = DeliveryResult(job_id=job_id, attempt=1, outcome="retry", error_message="slow")
    assert delivery_results_record(results=[late], worker_id="w1", started_at=started) == 0
    fresh = DeliveryResult(job_id=job_id, attempt=2, outcome="success", duration_ms=3)
    assert delivery_results_record(results=[fresh], worker_id="w2", started_at=started) == 1

    rows = DeliveryAttempt.objects.filter(job_id=job_id).order_by("number")
    assert [(r.number, r.worker, r.outcome, r.error_type, r.error_message) for r in rows] == [
        (1, "w1", "retry", "", "slow"),
        (2, "w2", "success", "", ""),
    ]
    assert all(r.started_at == started and r.finished_at >= started for r in rows)


def test_the_same_worker_cannot_record_an_older_claim_of_its_own(world: World) -> None:
    [job_id] = pending_jobs(world.instance, 1)
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=-1)
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=60)

    old = DeliveryResult(job_id=job_id, attempt=1, outcome="success")
    assert delivery_results_record(results=[old], worker_id="w1") == 0
    assert DeliveryJob.objects.get(pk=job_id).state == JobState.LEASED


def test_an_instance_with_a_backlog_does_not_keep_another_waiting(world: World) -> None:
    backlog = pending_jobs(world.instance, 1000)
    other = second_instance(world)
    # The other instance's single job arrived after the whole backlog.
    [single] = pending_jobs(other, 1, prefix="other")

    claimed = delivery_jobs_claim(worker_id="w1", limit=2 * CLAIM_PER_INSTANCE, lease_s=60)

    assert single in claimed
    assert len([pk for pk in claimed if pk in set(backlog)]) == CLAIM_PER_INSTANCE


def test_an_instance_alone_with_work_takes_the_whole_round(world: World) -> None:
    """Turns are for sharing: a round's limit is not cut to CLAIM_PER_INSTANCE when no
    other instance waits (a busy worker's rounds would be four times as many)."""
    backlog = pending_jobs(world.instance, 3 * CLAIM_PER_INSTANCE)

    claimed = delivery_jobs_claim(worker_id="w1", limit=2 * CLAIM_PER_INSTANCE, lease_s=60)

    assert claimed == backlog[: 2 * CLAIM_PER_INSTANCE]


def test_instances_share_what_a_short_backlog_leaves(world: World) -> None:
    short = pending_jobs(world.instance, 2)
    other = second_instance(world)
    long = pending_jobs(other, 20, prefix="other")

    claimed = delivery_jobs_claim(worker_id="w1", limit=10, lease_s=60, per_instance=2)

    assert claimed == sorted([*short, *long[:8]])


def test_the_backlog_counts_each_instance_up_to_the_largest_batch(world: World) -> None:
    pending_jobs(world.instance, BATCH_SIZE_MAX + 5)
    seen: list[int] = []

    def planner(backlog, now):
        seen.extend(entry.waiting for entry in backlog)
        return {}

    delivery_jobs_claim(worker_id="w1", limit=1, lease_s=60, planner=planner)

    assert seen == [BATCH_SIZE_MAX]


def test_instances_take_turns_oldest_first_within_the_limit(world: World) -> None:
    first = pending_jobs(world.instance, 3)
    other = second_instance(world)
    later = pending_jobs(other, 3, prefix="other")

    claimed = delivery_jobs_claim(worker_id="w1", limit=4, lease_s=60, per_instance=2)

    assert claimed == sorted([*first[:2], *later[:2]])


def test_the_batch_carries_each_instance_once_with_its_secret_settings(world: World) -> None:
    ids = pending_jobs(world.instance, 3)
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=60)

    claims, runs = delivery_batch_load(job_ids=ids)

    assert [c.attempt for c in claims] == [1, 1, 1]
    assert claims[0].payload["messageId"] == "m-0"
    assert list(runs) == [world.instance.pk]
    run = runs[world.instance.pk]
    assert run.settings == {"apiKey": SECRET_API_KEY, "region": "eu"}
    assert (run.workspace_id, run.enabled) == (world.acme.pk, True)
    assert run.version.pk == world.instance.deployed_version_id


def test_the_batch_carries_each_event_as_its_stored_json_text_and_its_type(world: World) -> None:
    """Sent to the runtime as it is (pipeline.delivery): the text must be the event,
    whatever the database stores it as (PostgreSQL's jsonb has an order and spacing of
    its own), and hold no newline or tab (the worker's protocol would split it)."""
    payload = {
        "type": "identify",
        "userId": "u-1",
        "traits": {"name": "Zoë \u2615", "tags": ["a", "b\tc"], "nested": {"n": 1.5}},
        "context": {"note": "line one\nline two"},
    }
    event = Event.objects.create(
        source=world.source, type="identify", message_id="m-x", received_at=timezone.now(),
        payload=payload,
    )  # fmt: skip
    job = DeliveryJob.objects.create(
        instance=world.instance, event=event, next_attempt_at=timezone.now()
    )
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=60)

    [claim], _ = delivery_batch_load(job_ids=[job.pk])

    assert claim.event_type == "identify"
    assert json.loads(claim.payload_json) == payload == claim.payload
    assert "\n" not in claim.payload_json and "\t" not in claim.payload_json


def test_a_planned_batch_is_claimed_whole_as_one_invocation(world: World) -> None:
    """A planner's batch takes more than CLAIM_PER_INSTANCE jobs and counts once toward
    ``limit``; an instance it holds back (0: its batch still fills) keeps its jobs."""
    filling = second_instance(world)
    batch = pending_jobs(world.instance, CLAIM_PER_INSTANCE + 15)
    held = pending_jobs(filling, 3, prefix="held")
    seen: list[tuple[int, int]] = []

    def planner(backlog, now):
        seen.extend(sorted((entry.instance_id, entry.waiting) for entry in backlog))
        return {world.instance.pk: CLAIM_PER_INSTANCE + 12, filling.pk: 0}

    claimed = delivery_jobs_claim(worker_id="w1", limit=1, lease_s=60, planner=planner)

    assert seen == sorted([(world.instance.pk, len(batch)), (filling.pk, 3)])
    assert claimed == batch[: CLAIM_PER_INSTANCE + 12]
    assert set(DeliveryJob.objects.filter(pk__in=held).values_list("state", flat=True)) == {
        JobState.PENDING
    }
