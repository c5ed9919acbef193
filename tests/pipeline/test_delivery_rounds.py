"""A worker's rounds (pipeline/delivery.py): a round keeps its leases while it runs however
long it takes, and a slow destination does not hold up a healthy one: its results are
recorded as they come, and the next round goes on beside the slow one. On the real Node
runtime; ``transactional_db`` as in test_delivery.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from catalog.models import DestinationInstance
from catalog.services import function_create, instance_create
from pipeline.delivery import (
    PAUSE_WHEN_IDLE_S,
    WorkerSlots,
    delivery_round,
    delivery_rounds_run,
)
from pipeline.models import DeliveryAttempt, DeliveryJob, JobState
from pipeline.services import delivery_jobs_claim, delivery_leases_extend
from runtime.pool import WorkerPool
from tests.conftest import World
from tests.pipeline.conftest import Post, quiet_world, track

WORKER = "rounds-worker"


@pytest.fixture
def world(transactional_db: None) -> World:
    return quiet_world()


QUICK = "async function onTrack(event) { return 1 }"


def _slow(ms: int) -> str:
    return f"async function onTrack(event) {{ await new Promise(r => setTimeout(r, {ms})); }}"


def _connect(world: World, code: str, name: str) -> DestinationInstance:
    olivia = world.users["olivia"]
    fn = function_create(workspace=world.acme, name=name, actor=olivia, code=code)
    return instance_create(function=fn, source=world.source, name=name, actor=olivia)


async def _state(instance: DestinationInstance, message_id: str) -> str:
    job = await DeliveryJob.objects.aget(instance=instance, event__message_id=message_id)
    return job.state


async def _until_delivered(instance: DestinationInstance, message_id: str) -> None:
    for _ in range(100):
        if await _state(instance, message_id) == JobState.DELIVERED:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{message_id} was not delivered to {instance.name}")


async def test_a_round_longer_than_its_lease_keeps_its_jobs(
    world: World, post: Post, pool: WorkerPool
) -> None:
    instance = await sync_to_async(_connect)(world, _slow(1500), "Slow")
    assert (await sync_to_async(post)("/v1/track", track(messageId="m-1"))).status_code == 200
    running = asyncio.ensure_future(delivery_round(worker_id=WORKER, pool=pool, lease_s=0.6))
    await asyncio.sleep(1.0)  # past the lease it was claimed with
    assert await sync_to_async(delivery_jobs_claim)(worker_id="other", limit=9, lease_s=60) == []
    summary = await running
    assert (summary.claimed, summary.recorded) == (1, 1)
    assert await _state(instance, "m-1") == JobState.DELIVERED


async def test_a_slow_destination_does_not_hold_up_a_healthy_one(
    world: World, post: Post, pool: WorkerPool
) -> None:
    slow = await sync_to_async(_connect)(world, _slow(3000), "Slow")
    quick = await sync_to_async(_connect)(world, QUICK, "Quick")
    slots = WorkerSlots()
    await sync_to_async(post)("/v1/track", track(messageId="m-1"))
    first = asyncio.ensure_future(delivery_round(worker_id=WORKER, pool=pool, slots=slots))
    # Recorded as soon as its instance's jobs are done, not when the round ends.
    await _until_delivered(quick, "m-1")
    assert not first.done() and await _state(slow, "m-1") == JobState.LEASED
    # What was recorded no longer counts against the instance's share of the worker.
    assert slots.held == {slow.pk: 1}
    # The next round goes on beside the first one.
    await sync_to_async(post)("/v1/track", track(messageId="m-2"))
    second = asyncio.ensure_future(delivery_round(worker_id=WORKER, pool=pool, slots=slots))
    await _until_delivered(quick, "m-2")
    assert not first.done()
    assert (await first).outcomes == {"success": 2}
    assert (await second).recorded == 2
    assert slots.held == {}


# Logs how many of its invocations were running at once, at most, so far (its globals
# persist: one worker runs all of a function's calls).
AT_ONCE = """
let running = 0, most = 0;
async function onTrack(event) {
  running += 1; most = Math.max(most, running);
  await new Promise(r => setTimeout(r, 100));
  running -= 1;
  console.log(String(most));
}
"""


async def test_an_instance_runs_as_many_jobs_at_once_as_its_share_and_no_more(
    world: World, post: Post, pool: WorkerPool
) -> None:
    instance = await sync_to_async(_connect)(world, AT_ONCE, "At once")
    batch = {"batch": [track(messageId=f"m-{n}") for n in range(10)]}
    assert (await sync_to_async(post)("/v1/batch", batch)).status_code == 200
    slots = WorkerSlots(concurrency=8, per_instance=3)

    summary = await delivery_round(worker_id=WORKER, pool=pool, slots=slots)

    assert summary.outcomes == {"success": 10}
    logs = DeliveryAttempt.objects.filter(instance=instance).values_list("logs", flat=True)
    most = [int(entry["message"]) async for log in logs for entry in log]
    assert len(most) == 10 and max(most) == 3


def test_a_claim_skips_the_instances_it_is_told_to(world: World) -> None:
    other = _connect(world, QUICK, "Other")
    held = _connect(world, QUICK, "Held")
    from tests.pipeline.test_delivery_claims import pending_jobs

    [mine] = pending_jobs(other, 1, prefix="o")
    pending_jobs(held, 3, prefix="h")
    claimed = delivery_jobs_claim(worker_id=WORKER, limit=9, lease_s=60, skip_instances={held.pk})
    assert claimed == [mine]


def test_only_the_workers_own_leases_are_extended(world: World) -> None:
    from tests.pipeline.test_delivery_claims import pending_jobs

    instance = _connect(world, QUICK, "Hook")
    jobs = pending_jobs(instance, 3, prefix="j")
    delivery_jobs_claim(worker_id=WORKER, limit=2, lease_s=5, per_instance=2)
    delivery_jobs_claim(worker_id="other", limit=1, lease_s=5)
    assert delivery_leases_extend(job_ids=jobs, worker_id=WORKER, lease_s=600) == 2
    soon = timezone.now() + timedelta(seconds=60)
    mine = list(DeliveryJob.objects.filter(leased_by=WORKER))
    assert len(mine) == 2
    assert all(j.lease_expires_at > soon and j.next_attempt_at == j.lease_expires_at for j in mine)
    assert DeliveryJob.objects.get(leased_by="other").lease_expires_at < soon


async def test_a_hanging_destination_with_a_backlog_leaves_the_others_flowing(
    world: World, post: Post, pool: WorkerPool
) -> None:
    """The worker starts a round whenever a slot is free: however many rounds wait for
    the slow destination's backlog, events of a healthy one go on being delivered."""
    slow = await sync_to_async(_connect)(world, _slow(1000), "Slow")
    quick = await sync_to_async(_connect)(world, QUICK, "Quick")
    slots = WorkerSlots(concurrency=8, per_instance=4)
    stopping = asyncio.Event()

    async def one_round(claimed: asyncio.Future[int]) -> object:
        return await delivery_round(worker_id=WORKER, pool=pool, slots=slots, claimed=claimed)

    async def send(prefix: str, count: int) -> list[str]:
        ids = [f"{prefix}-{n}" for n in range(count)]
        batch = {"batch": [track(messageId=mid) for mid in ids]}
        assert (await sync_to_async(post)("/v1/batch", batch)).status_code == 200
        return ids

    first = await send("a", 12)  # 12 s of work for the slow one, 4 at a time: 3 s
    runner = asyncio.ensure_future(
        delivery_rounds_run(round_=one_round, slots=slots, stopping=stopping, most=8)
    )
    try:
        for wave in (first, await send("b", 3), await send("c", 3)):
            for mid in wave:
                await _until_delivered(quick, mid)
            assert await _state(slow, wave[-1]) != JobState.DELIVERED
            await asyncio.sleep(0.2)
    finally:
        stopping.set()
        await runner
    assert await DeliveryJob.objects.filter(instance=slow, state=JobState.DELIVERED).acount() == 18
    assert slots.held == {}


async def test_an_idle_worker_pauses_between_claims_that_find_nothing() -> None:
    """The round that found nothing must not cut its own pause short: an idle worker
    claimed in a loop, at full CPU (and, on SQLite, taking the write lock each time)."""
    claims = 0

    async def nothing_to_do(claimed: asyncio.Future[int]) -> None:
        nonlocal claims
        claims += 1
        claimed.set_result(0)

    stopping = asyncio.Event()
    runner = asyncio.ensure_future(
        delivery_rounds_run(round_=nothing_to_do, slots=WorkerSlots(), stopping=stopping, most=8)
    )
    await asyncio.sleep(4 * PAUSE_WHEN_IDLE_S)
    stopping.set()
    await runner
    # One claim, then one after each pause (fewer on a slow machine, never more).
    assert 1 <= claims <= 5
