"""The delivery engine: claim jobs, run them, record what happened, in rounds.

One worker process runs one asyncio event loop for its whole life, so that it keeps one
runtime worker pool (Node processes start once, functions stay warm). Database work is
plain sync code (``pipeline.services``), run from the loop with ``sync_to_async``: the
claims in Django's one database thread, the loads and records, on PostgreSQL, in a few
threads with connections of their own (pipeline/database_threads.py); only the
invocations run on the loop, concurrently.

A round:

1. ``delivery_jobs_claim``: a short transaction leases up to ``limit`` jobs, the
   instances taking turns (each an equal share of the round, at least
   ``CLAIM_PER_INSTANCE``);
2. ``delivery_batch_load`` reads the jobs' events and each instance once (its deployed
   version, full settings and filters);
3. the jobs run on the runtime, at most ``concurrency`` at once and at most
   ``per_instance`` at once per instance (a slow destination does not take every slot);
   meanwhile the round extends its leases every third of ``lease_s``, so that a lease
   can be short (a dead worker's jobs are soon claimable again) whatever a round takes;
4. as each instance's jobs finish, ``delivery_results_record`` logs their attempts and
   moves each job on, if it is still this worker's claim. An attempt is written once,
   with its result: one whose worker died is logged when its job is claimed again.

A worker (``manage.py deliver``) starts a new round whenever one of its invocation slots
is free, up to ``DEFAULT_ROUNDS`` rounds in flight (``WorkerSlots``, shared by them,
bounds the invocations overall and per instance): while rounds wait for a slow
destination, others go on with the rest, and the database work of one round overlaps
the invocations of another. A round skips the instances of which the worker already
holds ``MAX_HELD_PER_INSTANCE`` unrecorded jobs, so a destination that hangs holds up
four rounds at most.

Instances whose function defines ``onBatch`` have their jobs claimed in batches (planned
in step 1 by ``pipeline.batching.BatchPlanner``) and each batch runs as one invocation
(``_run_batch``); see pipeline/batching.py.

A job of a disabled instance is not delivered: it is discarded ``instance_disabled``
without running code (jobs are only created for enabled instances; one disabled since is
not sent later, as with Segment). An event the instance's destination filters drop
(pipeline/filters.py) is recorded ``filtered`` without running code; one they pass is given
to the function without the fields they drop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from pipeline.batching import BatchPlanner, BatchSupport, batch_results
from pipeline.database_threads import DatabaseThreads
from pipeline.filters import FilterDecision, filters_apply
from pipeline.selectors import ClaimedJob, InstanceRun, delivery_batch_load
from pipeline.services import (
    FILTERED,
    DeliveryResult,
    delivery_jobs_claim,
    delivery_leases_extend,
    delivery_results_record,
)
from runtime.pool import WorkerPool
from runtime.services import (
    INVALID_SETTINGS,
    InvocationError,
    InvocationResult,
    PreparedFunction,
    function_version_prepare,
    prepared_event_json_invoke,
    prepared_invoke,
)

logger = logging.getLogger(__name__)

INSTANCE_DISABLED = "instance_disabled"
# An outcome of the engine's own: running the job raised (a bug, not the function's).
DELIVERY_ERROR = "delivery_error"
DEFAULT_LIMIT = 400
DEFAULT_CONCURRENCY = 64
DEFAULT_PER_INSTANCE = 16
# Rounds in flight at most in one worker: a new one starts while invocation slots are free.
DEFAULT_ROUNDS = 8
# Pause after a claim that found nothing to do; a busy worker goes straight on.
PAUSE_WHEN_IDLE_S = 0.2
# Pause after a round that failed as a whole (the database away...), before trying again.
PAUSE_AFTER_ERROR_S = 5.0
# Leases are extended while their round runs: this only bounds how long a dead worker's
# jobs wait before another worker claims them.
DEFAULT_LEASE_S = 60.0
# Unrecorded jobs of one instance a worker holds at most, over its rounds in flight: four
# rounds' worth (an instance alone with work fills a round). A round is claimed, loaded,
# run and recorded in turn: with two, an instance alone with work waited for its records
# and claims about half the time (4,100 events/s where four gave 5,000 on PostgreSQL).
MAX_HELD_PER_INSTANCE = 4 * DEFAULT_LIMIT


@dataclass
class WorkerSlots:
    """What a worker's rounds in flight share: the invocations at once, overall and per
    instance, the jobs each instance has claimed and not yet recorded, and the threads
    that load and record rounds (pipeline/database_threads.py; claims stay on Django's
    database thread, one at a time, so that a batch is planned by one claim)."""

    concurrency: int = DEFAULT_CONCURRENCY
    per_instance: int = DEFAULT_PER_INSTANCE
    held: Counter[int] = field(default_factory=Counter)
    database: DatabaseThreads = field(default_factory=DatabaseThreads)

    def __post_init__(self) -> None:
        self.overall = asyncio.Semaphore(max(1, self.concurrency))
        self.instances: dict[int, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(max(1, self.per_instance))
        )

    def full(self) -> set[int]:
        return {iid for iid, count in self.held.items() if count >= MAX_HELD_PER_INSTANCE}

    def hold(self, claims: Sequence[ClaimedJob], sign: int) -> None:
        for claim in claims:
            self.held[claim.instance_id] += sign
        self.held = +self.held  # drops the instances down to none


@dataclass(frozen=True)
class RoundSummary:
    claimed: int
    recorded: int  # jobs moved on (the others were claimed again meanwhile)
    outcomes: dict[str, int]


def _filtered(claim: ClaimedJob, decision: FilterDecision) -> DeliveryResult:
    return DeliveryResult(
        job_id=claim.job_id,
        attempt=claim.attempt,
        outcome=FILTERED,
        error_message=f"Dropped by the destination filters: {decision.reason}.",
    )


async def _run_one(
    claim: ClaimedJob, run: InstanceRun | None, prepared: PreparedFunction | None
) -> DeliveryResult:
    if run is None or prepared is None:  # disabled or gone (see _prepared)
        return DeliveryResult(
            job_id=claim.job_id,
            attempt=claim.attempt,
            outcome=INSTANCE_DISABLED,
            error_message="The destination instance is disabled.",
        )
    if run.filters:
        decision = filters_apply(run.filters, claim.payload)
        if not decision.send:
            return _filtered(claim, decision)
        result = await prepared_invoke(prepared=prepared, payload=decision.event)
    else:  # the event as stored, not decoded and encoded again
        result = await prepared_event_json_invoke(
            prepared=prepared, event_json=claim.payload_json, event_type=claim.event_type
        )
    return DeliveryResult(
        job_id=claim.job_id,
        attempt=claim.attempt,
        outcome=result.outcome,
        error_type=result.error.type if result.error else "",
        error_message=result.error.message if result.error else "",
        logs=result.logs,
        requests=result.requests,
        duration_ms=round(result.duration_ms),
    )


def _prepared(run: InstanceRun | None, pool: WorkerPool | None) -> PreparedFunction | None:
    """The instance's version with its settings, ready for its jobs of the round (None
    when it is disabled or gone); settings it cannot read reject every job."""
    if run is None or not run.enabled:
        return None
    prepared = function_version_prepare(
        version=run.version,
        settings=run.settings,
        timeout_ms=run.version.timeout_ms,
        pool=pool,
        workspace_id=f"ws_{run.workspace_id}",
    )
    if run.problem is None:
        return prepared
    problem = InvocationError("InvalidSettings", run.problem)
    return replace(prepared, rejected=InvocationResult(outcome=INVALID_SETTINGS, error=problem))


def _engine_error(claim: ClaimedJob, error: Exception) -> DeliveryResult:
    return DeliveryResult(
        job_id=claim.job_id,
        attempt=claim.attempt,
        outcome=DELIVERY_ERROR,
        error_type=type(error).__name__,
        error_message=str(error),
    )


async def _run_guarded(
    claim: ClaimedJob,
    run: InstanceRun | None,
    *,
    overall: asyncio.Semaphore,
    instance: asyncio.Semaphore,
    prepared: PreparedFunction | None,
) -> DeliveryResult:
    async with instance, overall:
        try:
            return await _run_one(claim, run, prepared)
        except Exception as error:  # one bad job must not end the round
            logger.exception("Delivering job %s failed in the engine.", claim.job_id)
            return _engine_error(claim, error)


async def _run_batch(
    claims: Sequence[ClaimedJob],
    run: InstanceRun,
    *,
    overall: asyncio.Semaphore,
    instance: asyncio.Semaphore,
    prepared: PreparedFunction,
    support: BatchSupport,
    lanes: int,
) -> list[DeliveryResult]:
    """One ``onBatch`` call for an instance's claimed jobs that pass its destination
    filters (``batch_results`` maps its answer to each job; the others are filtered). An
    ``onBatch`` that does not take batches sends them one by one."""
    decisions = [(claim, filters_apply(run.filters, claim.payload)) for claim in claims]
    filtered = [_filtered(claim, decision) for claim, decision in decisions if not decision.send]
    passed = [(claim, decision.event) for claim, decision in decisions if decision.send]
    if not passed:
        return filtered
    claims = [claim for claim, _ in passed]
    async with instance, overall:
        try:
            result = await prepared_invoke(
                prepared=prepared, payload=[event for _, event in passed]
            )
        except Exception as error:  # one bad batch must not end the round
            logger.exception("Delivering a batch of instance %s failed.", run.instance_id)
            return filtered + [_engine_error(claim, error) for claim in claims]
    if support.answered(run.version.pk, result):
        # One by one through _run_one, which applies the filters again (they pass).
        singles = await _run_singles(
            claims, run, overall=overall, instance=instance, prepared=prepared, lanes=lanes
        )
        return filtered + singles
    return filtered + batch_results(claims, result)


async def _run_singles(
    claims: Sequence[ClaimedJob],
    run: InstanceRun | None,
    *,
    overall: asyncio.Semaphore,
    instance: asyncio.Semaphore,
    prepared: PreparedFunction | None,
    lanes: int,
) -> list[DeliveryResult]:
    """One invocation per job, in order, through ``lanes`` tasks that each take the next
    job when theirs is done: the instance's own bound (``instance``) holds no more at once,
    and a task per job would cost more than many invocations do."""
    done: dict[int, DeliveryResult] = {}
    queue = iter(claims)

    async def lane() -> None:
        for claim in queue:
            done[claim.job_id] = await _run_guarded(
                claim, run, overall=overall, instance=instance, prepared=prepared
            )

    await asyncio.gather(*(lane() for _ in range(max(1, min(lanes, len(claims))))))
    return [done[claim.job_id] for claim in claims]


Record = Callable[[list[DeliveryResult]], Awaitable[object]]


async def deliveries_run(
    claims: Sequence[ClaimedJob],
    runs: dict[int, InstanceRun],
    *,
    slots: WorkerSlots | None = None,
    pool: WorkerPool | None = None,
    batched: Collection[int] = (),
    support: BatchSupport | None = None,
    record: Record | None = None,
) -> list[DeliveryResult]:
    """Run the claimed jobs, bounded overall and per instance (``slots``); never raises
    for a job. The jobs of the ``batched`` instances run as one batch per instance (one
    invocation, taking one slot). ``record`` is given each instance's results as soon as
    they are all in; what it raises is raised once every instance is done."""
    slots = slots or WorkerSlots()
    groups: dict[int, list[ClaimedJob]] = defaultdict(list)
    for claim in claims:
        groups[claim.instance_id].append(claim)

    async def one_instance(instance_id: int, group: list[ClaimedJob]) -> list[DeliveryResult]:
        run, slot, overall = runs.get(instance_id), slots.instances[instance_id], slots.overall
        prepared = _prepared(run, pool)
        # A disabled or unreadable instance is refused job by job (_run_one says why).
        if instance_id in batched and run and prepared and run.problem is None:
            results = await _run_batch(
                group, run, overall=overall, instance=slot, prepared=prepared,
                support=support or BatchSupport(), lanes=slots.per_instance,
            )  # fmt: skip
        else:
            results = await _run_singles(
                group, run, overall=overall, instance=slot, prepared=prepared,
                lanes=slots.per_instance,
            )  # fmt: skip
        if record is not None:
            await record(results)
        return results

    done = await asyncio.gather(
        *(one_instance(iid, group) for iid, group in groups.items()), return_exceptions=True
    )
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome
    return [result for results in done for result in results]  # type: ignore[union-attr]


async def _leases_keep(
    job_ids: Sequence[int], *, worker_id: str, lease_s: float, database: DatabaseThreads
) -> None:
    """Extend the round's leases every third of their length, until cancelled."""
    while True:
        await asyncio.sleep(lease_s / 3)
        try:
            await database.run(
                delivery_leases_extend, job_ids=job_ids, worker_id=worker_id, lease_s=lease_s
            )
        except Exception:  # the next try may succeed; if none does, the leases expire
            logger.exception("Extending the leases of a round failed.")


async def delivery_round(
    *,
    worker_id: str,
    limit: int = DEFAULT_LIMIT,
    lease_s: float = DEFAULT_LEASE_S,
    slots: WorkerSlots | None = None,
    pool: WorkerPool | None = None,
    support: BatchSupport | None = None,
    claimed: asyncio.Future[int] | None = None,
) -> RoundSummary:
    """One claim -> run -> record round (see the module's docstring). Pass the worker's
    ``slots`` (shared by its rounds in flight) and ``support`` (one for its life: what it
    learned of each version's ``onBatch``). ``claimed`` is told how many jobs the round
    claimed once they count as held, before they run."""
    slots = slots or WorkerSlots()
    support = support or BatchSupport()
    planner = BatchPlanner(support)
    started_at = timezone.now()  # the round's attempts begin with its claim
    try:
        job_ids = await sync_to_async(delivery_jobs_claim)(
            worker_id=worker_id,
            limit=limit,
            lease_s=lease_s,
            planner=planner,
            skip_instances=slots.full(),
        )
    except Exception as exc:
        if claimed is not None and not claimed.done():
            claimed.set_exception(exc)
        raise
    if not job_ids:
        if claimed is not None:
            claimed.set_result(0)
        return RoundSummary(claimed=0, recorded=0, outcomes={})
    keeper = asyncio.create_task(
        _leases_keep(job_ids, worker_id=worker_id, lease_s=lease_s, database=slots.database)
    )
    recorded = 0
    held: dict[int, ClaimedJob] = {}

    async def record(results: list[DeliveryResult]) -> None:
        nonlocal recorded
        recorded += await slots.database.run(
            delivery_results_record, results=results, worker_id=worker_id, started_at=started_at
        )
        # An instance's jobs recorded no longer count as held, though the round goes on.
        slots.hold([held.pop(r.job_id) for r in results if r.job_id in held], -1)

    try:
        claims, runs = await slots.database.run(delivery_batch_load, job_ids=job_ids)
        held = {claim.job_id: claim for claim in claims}
        slots.hold(claims, +1)
        if claimed is not None:
            claimed.set_result(len(job_ids))
        results = await deliveries_run(
            claims,
            runs,
            slots=slots,
            pool=pool,
            batched=planner.batched,
            support=support,
            record=record,
        )
    finally:
        keeper.cancel()
        slots.hold(list(held.values()), -1)
        if claimed is not None and not claimed.done():
            claimed.set_result(len(job_ids))
    outcomes: dict[str, int] = defaultdict(int)
    for result in results:
        outcomes[result.outcome] += 1
    return RoundSummary(claimed=len(job_ids), recorded=recorded, outcomes=dict(outcomes))


RoundStarter = Callable[[asyncio.Future[int]], Awaitable[object]]


async def delivery_rounds_run(
    *, round_: RoundStarter, slots: WorkerSlots, stopping: asyncio.Event, most: int
) -> None:
    """A worker's rounds until ``stopping`` is set: a new one (``round_(claimed)``, which
    tells ``claimed`` how many jobs it took) whenever an invocation slot is free and fewer
    than ``most`` are in flight; a pause when a claim found nothing to do, or failed. Once
    stopped, the rounds in flight finish, so that their results get recorded."""
    loop = asyncio.get_running_loop()
    rounds: set[asyncio.Future[Any]] = set()
    stop: asyncio.Future[Any] = asyncio.ensure_future(stopping.wait())

    async def pause(seconds: float, *, besides: asyncio.Future[Any] | None = None) -> None:
        # Over early when another round ends: its instances may have work again. Not the
        # round that has just found nothing (or failed): it ends at once.
        others = {r for r in rounds if r is not besides and not r.done()}
        await asyncio.wait({stop, *others}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)

    try:
        while not stopping.is_set():
            if len(rounds) >= most or slots.overall.locked():
                await pause(PAUSE_WHEN_IDLE_S)
            else:
                claimed: asyncio.Future[int] = loop.create_future()
                started = asyncio.ensure_future(round_(claimed))
                rounds.add(started)
                try:
                    found = await claimed
                except Exception:  # the round logs why
                    await pause(PAUSE_AFTER_ERROR_S, besides=started)
                else:
                    if found == 0:
                        await pause(PAUSE_WHEN_IDLE_S, besides=started)
            rounds = {r for r in rounds if not r.done()}
    finally:
        stop.cancel()
        if rounds:
            await asyncio.wait(rounds)
