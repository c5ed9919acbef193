"""Batching (pipeline/batching.py): an instance whose function defines ``onBatch`` gets its
events in batches, flushed by size or by wait, single events at low volume, per-event
statuses. End to end on the real Node runtime, the function posting to a recording server
on loopback (the fixtures of test_delivery.py)."""

# ruff: noqa: F811  (fixtures imported from test_delivery, then named as parameters)
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from catalog.models import DestinationInstance
from catalog.services import instance_update
from pipeline.batching import (
    RATE_WINDOW_S,
    Batches,
    BatchPlanner,
    BatchSupport,
    batch_results,
    batch_take,
)
from pipeline.delivery import delivery_round
from pipeline.models import DeliveryAttempt, DeliveryJob, JobState
from pipeline.selectors import BatchSettings, ClaimedJob, delivery_batch_load
from pipeline.services import (
    Backlog,
    DeliveryResult,
    delivery_jobs_claim,
    delivery_results_record,
    instance_batching_set,
    instance_filters_set,
)
from runtime.pool import WorkerPool
from runtime.services import InvocationError, InvocationResult
from tests.conftest import SECRET_API_KEY, World
from tests.pipeline.conftest import Post, track

# The delivery tests' fixtures (world, destination_url), used by name; pool is conftest's.
from tests.pipeline.test_delivery import (  # noqa: F401
    WORKER,
    Destination,
    connect,
    destination_url,
    world,
)

# Posts the batch's messageIds in one request; single events one request each.
BATCHING = """
async function post(settings, body) {
  await fetch(settings.region, { method: "POST", body: JSON.stringify(body) });
}
async function onBatch(events, settings) {
  await post(settings, { batch: events.map((e) => e.messageId) });
  console.log("batch of", events.length);
  %s
}
async function onTrack(event, settings) {
  await post(settings, { single: event.messageId });
}
"""


def batching(returns: str = "") -> str:
    return BATCHING % returns


async def connected(
    world: World, url: str, code: str, *, size: int = 20, wait_ms: int = 10_000, **function: Any
) -> DestinationInstance:
    instance = await sync_to_async(connect)(world, code, **function)
    olivia = world.users["olivia"]
    await sync_to_async(instance_update)(
        instance=instance, actor=olivia, settings={"apiKey": SECRET_API_KEY, "region": url}
    )
    await sync_to_async(instance_batching_set)(
        instance=instance, actor=olivia, size=size, wait_ms=wait_ms
    )
    return instance


async def send(post: Post, count: int, *, prefix: str = "m") -> list[str]:
    ids = [f"{prefix}-{n}" for n in range(count)]
    response = await sync_to_async(post)(
        "/v1/batch", {"batch": [track(messageId=mid) for mid in ids]}
    )
    assert response.status_code == 200
    return ids


async def states(instance: DestinationInstance) -> dict[str, str]:
    """messageId -> job state."""
    return {
        job.event.message_id: job.state
        async for job in DeliveryJob.objects.filter(instance=instance).select_related("event")
    }


def batches_received() -> list[list[str]]:
    return [r["body"]["batch"] for r in Destination.received if "batch" in r["body"]]


def singles_received() -> list[str]:
    return sorted(r["body"]["single"] for r in Destination.received if "single" in r["body"])


async def test_a_full_batch_is_one_onbatch_call_with_every_event(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    instance = await connected(world, destination_url, batching(), size=5)
    ids = await send(post, 5)

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.claimed == 5 and summary.outcomes == {"success": 5}
    assert batches_received() == [ids] and singles_received() == []
    assert set((await states(instance)).values()) == {JobState.DELIVERED}
    # Each job has its own attempt, sharing the batch's logs.
    attempts = [a async for a in DeliveryAttempt.objects.filter(job__instance=instance)]
    assert len(attempts) == 5
    assert {(a.outcome, a.number) for a in attempts} == {("success", 1)}
    assert all(a.logs == [{"level": "log", "message": "batch of 5"}] for a in attempts)


async def test_a_batch_counts_one_invocation_in_usage(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    from pipeline.models import FunctionUsageDay

    instance = await connected(world, destination_url, batching(), size=5)
    await send(post, 5)

    assert (await delivery_round(worker_id=WORKER, pool=pool)).outcomes == {"success": 5}

    usage = await FunctionUsageDay.objects.aget(function_id=instance.function_id)
    attempt = await DeliveryAttempt.objects.filter(job__instance=instance).afirst()
    assert attempt is not None and usage.invocations == 1
    assert usage.execution_ms == attempt.duration_ms


async def test_destination_filters_apply_to_each_event_of_a_batch(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    """The events a rule drops are filtered, not sent; the batch holds the others."""
    instance = await connected(world, destination_url, batching(), size=5)
    rule = {"action": "drop", "match": "all", "conditions": [
        {"field": "messageId", "op": "in", "value": ["m-1", "m-3"]},
    ]}  # fmt: skip
    await sync_to_async(instance_filters_set)(
        instance=instance, rules=[rule], actor=world.users["olivia"]
    )
    await send(post, 5)

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {"success": 3, "filtered": 2}
    assert batches_received() == [["m-0", "m-2", "m-4"]]
    assert await states(instance) == {
        "m-0": JobState.DELIVERED, "m-1": JobState.FILTERED, "m-2": JobState.DELIVERED,
        "m-3": JobState.FILTERED, "m-4": JobState.DELIVERED,
    }  # fmt: skip


async def test_a_batch_waits_to_fill_then_is_flushed_after_the_wait(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    """12 events in a burst (over one a second): not a full batch of 50, so they wait for
    it, until the oldest waited wait_ms. The first batch of a version is a small probe."""
    instance = await connected(world, destination_url, batching(), size=50, wait_ms=60_000)
    ids = await send(post, 12)
    support = BatchSupport()

    assert (await delivery_round(worker_id=WORKER, pool=pool, support=support)).claimed == 0
    assert Destination.received == []

    # The wait has passed for these jobs (the clock moved, say).
    await DeliveryJob.objects.filter(instance=instance).aupdate(
        next_attempt_at=timezone.now() - timedelta(seconds=61)
    )
    first = await delivery_round(worker_id=WORKER, pool=pool, support=support)
    second = await delivery_round(worker_id=WORKER, pool=pool, support=support)

    assert (first.claimed, second.claimed) == (10, 2)
    assert batches_received() == [ids[:10], ids[10:]]
    assert set((await states(instance)).values()) == {JobState.DELIVERED}


async def test_low_volume_uses_the_single_event_handlers(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    instance = await connected(world, destination_url, batching(), size=20)
    ids = await send(post, 3)

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.claimed == 3
    assert singles_received() == ids and batches_received() == []
    assert set((await states(instance)).values()) == {JobState.DELIVERED}


async def test_per_event_statuses_retry_only_the_retryable_events(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    code = batching(
        "return [{status: 200}, {status: 400, errormessage: 'no such user'},"
        " {status: 500, errormessage: 'down'}, {status: 429}, {ok: true}];"
    )
    instance = await connected(world, destination_url, code, size=5)
    ids = await send(post, 5)

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {"success": 1, "bad_request": 2, "retry": 2}
    assert await states(instance) == {
        ids[0]: JobState.DELIVERED,
        ids[1]: JobState.DISCARDED,
        ids[2]: JobState.RETRYING,
        ids[3]: JobState.RETRYING,
        ids[4]: JobState.DISCARDED,
    }
    errors = {
        job.event.message_id: job.last_error
        async for job in DeliveryJob.objects.filter(instance=instance).select_related("event")
    }
    assert errors[ids[1]] == "onBatch reported status 400: no such user"
    assert errors[ids[2]] == "onBatch reported status 500: down"
    assert "no status for this event" in errors[ids[4]]

    # Only the two retrying events come back (few now: as single events).
    await DeliveryJob.objects.filter(instance=instance, state=JobState.RETRYING).aupdate(
        next_attempt_at=timezone.now()
    )
    again = await delivery_round(worker_id=WORKER, pool=pool)
    assert again.claimed == 2
    assert singles_received() == [ids[2], ids[3]]


@pytest.mark.parametrize(
    ("returns", "function", "outcome"),
    [
        ("throw new RetryError('try later');", {}, "retry"),
        ("while (true) {}", {"timeout_ms": 200}, "timeout"),
    ],
)
async def test_a_batch_ending_in_retry_or_timeout_is_retried_whole(
    world: World,
    post: Post,
    destination_url: str,
    pool: WorkerPool,
    returns: str,
    function: dict[str, Any],
    outcome: str,
) -> None:
    instance = await connected(world, destination_url, batching(returns), size=4, **function)
    await send(post, 4)

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {outcome: 4}
    assert set((await states(instance)).values()) == {JobState.RETRYING}
    if outcome == "retry":  # (a timed-out call's request may or may not have gone out)
        assert len(batches_received()) == 1


@pytest.mark.parametrize("returns", ["", "return {accepted: true};", "return [1, 2, 3];"])
async def test_a_batch_succeeding_without_statuses_delivers_every_event(
    world: World, post: Post, destination_url: str, pool: WorkerPool, returns: str
) -> None:
    instance = await connected(world, destination_url, batching(returns), size=3)
    await send(post, 3)

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {"success": 3}
    assert set((await states(instance)).values()) == {JobState.DELIVERED}


async def test_an_onbatch_that_throws_event_not_supported_sends_events_one_by_one(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    """As the default template's onBatch does: the batch goes to the single handlers, and
    later events of that version are not held for a batch."""
    code = batching().replace("await post(", "throw new EventNotSupported('no'); await post(", 1)
    instance = await connected(world, destination_url, code, size=3)
    support = BatchSupport()
    first = await send(post, 3, prefix="a")

    assert (await delivery_round(worker_id=WORKER, pool=pool, support=support)).claimed == 3
    assert singles_received() == first and batches_received() == []

    later = await send(post, 12, prefix="b")  # a full batch, and over one a second
    await delivery_round(worker_id=WORKER, pool=pool, support=support)
    await delivery_round(worker_id=WORKER, pool=pool, support=support)
    assert singles_received() == sorted(first + later)
    assert set((await states(instance)).values()) == {JobState.DELIVERED}


async def test_code_without_onbatch_is_never_held_for_a_batch(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    code = batching().replace("async function onBatch", "async function notBatch")
    instance = await connected(world, destination_url, code, size=50)
    ids = await send(post, 10)

    assert (await delivery_round(worker_id=WORKER, pool=pool)).claimed == 10
    assert singles_received() == sorted(ids)
    assert set((await states(instance)).values()) == {JobState.DELIVERED}


# --- The pure parts


NOW = timezone.now()
SETTINGS = BatchSettings(size=20, wait_ms=10_000)
BUSY = int(RATE_WINDOW_S)  # one event a second over the window


def entry(waiting: int, *, waited_s: float) -> Backlog:
    return Backlog(instance_id=1, oldest=NOW - timedelta(seconds=waited_s), waiting=waiting)


@pytest.mark.parametrize(
    ("waiting", "waited_s", "recent", "take"),
    [
        (20, 0, 0, 20),  # full: flushed by size, whatever the rate
        (35, 0, 50, 20),  # more than a batch: one batch of size
        (5, 0, BUSY - 1, None),  # low volume: single events
        (5, 9.9, BUSY, 0),  # busy, not full, not waited: keep filling
        (5, 10, BUSY, 5),  # waited: flushed by time
    ],
)
def test_batch_take(waiting: int, waited_s: float, recent: int, take: int | None) -> None:
    assert (
        batch_take(
            entry=entry(waiting, waited_s=waited_s), settings=SETTINGS, recent=recent, now=NOW
        )
        == take
    )


CLAIMS = [
    ClaimedJob(job_id=n, attempt=1, instance_id=1, event_type="track", payload_json="{}")
    for n in range(3)
]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "success"), (204, "success"), (500, "retry"), (503, "retry"), (408, "retry"),
     (429, "retry"), (400, "bad_request"), (404, "bad_request"), (302, "bad_request"),
     ("200", "bad_request"), (True, "bad_request")],
)  # fmt: skip
def test_a_per_event_status_maps_to_an_outcome(status: Any, outcome: str) -> None:
    result = InvocationResult(outcome="success", result=[{"status": 200}, {"status": status}])
    assert [r.outcome for r in batch_results(CLAIMS[:2], result)] == ["success", outcome]


def test_fewer_statuses_than_events_discard_the_events_without_one() -> None:
    result = InvocationResult(outcome="success", result=[{"status": 200}])
    results = batch_results(CLAIMS, result)
    assert [r.outcome for r in results] == ["success", "bad_request", "bad_request"]
    assert "event 2 of the batch, 1 results" in results[1].error_message


def test_a_failed_batch_gives_every_event_its_error() -> None:
    result = InvocationResult(
        outcome="message_rejected", error=InvocationError("ValidationError", "bad batch")
    )
    assert {(r.outcome, r.error_message) for r in batch_results(CLAIMS, result)} == {
        ("message_rejected", "bad batch")
    }


def test_support_learns_from_the_code_then_from_the_answer() -> None:
    support = BatchSupport()
    support.learn_code(1, "async function onTrack() {}")
    support.learn_code(2, "async function onBatch(events) {}")
    assert (support.get(1), support.get(2), support.get(3)) == (Batches.NO, Batches.PROBE, None)
    assert support.answered(2, InvocationResult(outcome="retry")) is False
    assert support.get(2) is Batches.YES
    refused = InvocationResult(outcome="unsupported_event_type")
    assert support.answered(2, refused) is True and support.get(2) is Batches.NO


async def test_a_dead_workers_batch_is_claimed_again_and_its_late_results_ignored(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    """Worker A claims a batch and dies (its lease ends, nothing recorded); worker B claims
    the same batch again and delivers it; A's results, if they came late, move nothing."""
    instance = await connected(world, destination_url, batching(), size=4)
    ids = await send(post, 4)
    planner = BatchPlanner(BatchSupport())
    dead = await sync_to_async(delivery_jobs_claim)(
        worker_id="dead", limit=10, lease_s=60, planner=planner
    )
    assert len(dead) == 4 and planner.batched == {instance.pk}
    claims, _runs = await sync_to_async(delivery_batch_load)(job_ids=dead)
    await DeliveryJob.objects.filter(pk__in=dead).aupdate(next_attempt_at=timezone.now())

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.claimed == 4 and summary.outcomes == {"success": 4}
    assert batches_received() == [ids]
    late = [DeliveryResult(job_id=c.job_id, attempt=c.attempt, outcome="retry") for c in claims]
    assert await sync_to_async(delivery_results_record)(results=late, worker_id="dead") == 0
    assert set((await states(instance)).values()) == {JobState.DELIVERED}
