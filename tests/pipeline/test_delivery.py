"""The delivery engine (pipeline/delivery.py) end to end: events posted to the Tracking API,
claimed, run on the real Node runtime, delivered to a real HTTP server on loopback standing
in for the destination, recorded. ``transactional_db``: the engine does its database work
in Django's database thread, which sees only committed rows."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from catalog.models import DestinationInstance
from catalog.services import function_create, instance_create, instance_update
from pipeline.delivery import INSTANCE_DISABLED, delivery_round
from pipeline.management.commands.deliver import Command as Deliver
from pipeline.models import DeliveryAttempt, DeliveryJob, JobState
from pipeline.services import instance_filters_set
from runtime.pool import WorkerPool
from tests.conftest import SCHEMA, SECRET_API_KEY, World
from tests.pipeline.conftest import Post, quiet_world, track
from tests.runtime.conftest import loopback_server

WORKER = "test-worker"


class Destination(BaseHTTPRequestHandler):
    """Records what it receives; answers 200."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Destination.received.append(
            {"authorization": self.headers["Authorization"], "body": json.loads(body)}
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def destination_url() -> Iterator[str]:
    Destination.received = []
    with loopback_server(Destination) as url:
        yield url


@pytest.fixture
def world(transactional_db: None) -> World:
    return quiet_world()


def connect(world: World, code: str, *, name: str = "Hook", **function: Any) -> DestinationInstance:
    olivia = world.users["olivia"]
    fn = function_create(
        workspace=world.acme, name=name, actor=olivia, code=code, settings_schema=SCHEMA, **function
    )
    return instance_create(
        function=fn,
        source=world.source,
        name=f"{name} (prod)",
        settings={"apiKey": SECRET_API_KEY, "region": "eu"},
        actor=olivia,
    )


POSTING = """
async function onTrack(event, settings) {
  const response = await fetch(settings.region, {
    method: "POST",
    headers: { Authorization: settings.apiKey },
    body: JSON.stringify({ event: event.event, messageId: event.messageId }),
  });
  console.log("sent", response.status);
  return response.status;
}
"""


async def test_a_tracked_event_reaches_the_destination(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    from asgiref.sync import sync_to_async

    instance = await sync_to_async(connect)(world, POSTING)
    await sync_to_async(instance_update)(
        instance=instance,
        actor=world.users["olivia"],
        settings={"apiKey": SECRET_API_KEY, "region": destination_url},
    )
    response = await sync_to_async(post)("/v1/track", track(messageId="m-1"))
    assert response.status_code == 200

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.claimed == 1 and summary.recorded == 1
    assert summary.outcomes == {"success": 1}
    assert Destination.received == [
        {"authorization": SECRET_API_KEY, "body": {"event": "Signed Up", "messageId": "m-1"}}
    ]
    job = await DeliveryJob.objects.aget(instance=instance)
    assert (job.state, job.attempts, job.last_outcome, job.leased_by) == (
        JobState.DELIVERED,
        1,
        "success",
        "",
    )
    attempt = await DeliveryAttempt.objects.aget(job=job)
    assert (attempt.number, attempt.outcome, attempt.worker) == (1, "success", WORKER)
    assert attempt.finished_at is not None and attempt.duration_ms is not None
    assert attempt.logs == [{"level": "log", "message": "sent 200"}]
    assert [r["status"] for r in attempt.requests] == [200]
    # The runtime masked the encrypted setting in the traces the log keeps.
    assert SECRET_API_KEY not in json.dumps(attempt.requests)


OUTCOME_CODE = {
    "retry": ("async function onTrack() { throw new RetryError('try later'); }", {}),
    "timeout": ("async function onTrack() { while (true) {} }", {"timeout_ms": 100}),
    "bad_request": ("async function onTrack() { throw new Error('boom'); }", {}),
    "invalid_settings": ("async function onTrack() { throw new InvalidSettings('no'); }", {}),
    "message_rejected": ("async function onTrack() { throw new ValidationError('no'); }", {}),
    "unsupported_event_type": ("async function onIdentify() {}", {}),
    "dropped": ("async function onTrack() { throw new DropEvent('no'); }", {}),
    "success": ("async function onTrack() { return 1; }", {}),
}
EXPECTED_STATE = {
    "retry": JobState.RETRYING,
    "timeout": JobState.RETRYING,
    "success": JobState.DELIVERED,
}


@pytest.mark.parametrize("outcome", list(OUTCOME_CODE))
async def test_each_outcome_moves_the_job_on(
    world: World, post: Post, pool: WorkerPool, outcome: str
) -> None:
    from asgiref.sync import sync_to_async

    code, function = OUTCOME_CODE[outcome]
    instance = await sync_to_async(connect)(world, code, **function)
    await sync_to_async(post)("/v1/track", track())
    before = timezone.now()

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {outcome: 1}
    job = await DeliveryJob.objects.aget(instance=instance)
    assert job.state == EXPECTED_STATE.get(outcome, JobState.DISCARDED)
    assert job.last_outcome == outcome
    attempt = await DeliveryAttempt.objects.aget(job=job)
    assert attempt.outcome == outcome
    if job.state == JobState.RETRYING:
        # The first retry waits 14 to 28 s (DELIVERY_RETRY_BASE_S 28).
        assert before + timedelta(seconds=13) < job.next_attempt_at
        assert job.next_attempt_at < timezone.now() + timedelta(seconds=29)


async def test_a_missing_required_setting_is_invalid_settings_without_running(
    world: World, post: Post, pool: WorkerPool
) -> None:
    from asgiref.sync import sync_to_async

    instance = await sync_to_async(connect)(world, "async function onTrack() { return 1; }")
    # Stored before the setting was required, say: the runtime refuses to run it.
    await DestinationInstance.objects.filter(pk=instance.pk).aupdate(
        settings={}, encrypted_settings="{}"
    )
    await sync_to_async(post)("/v1/track", track())

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {"invalid_settings": 1}
    job = await DeliveryJob.objects.aget(instance=instance)
    assert (job.state, job.last_outcome) == (JobState.DISCARDED, "invalid_settings")


async def test_the_last_retry_failing_discards_the_job(
    world: World, post: Post, pool: WorkerPool, settings: Any
) -> None:
    from asgiref.sync import sync_to_async

    settings.DELIVERY_MAX_RETRIES = 2
    code = "async function onTrack() { throw new RetryError('down'); }"
    instance = await sync_to_async(connect)(world, code)
    await sync_to_async(post)("/v1/track", track())
    for attempt in (1, 2, 3):
        await DeliveryJob.objects.filter(instance=instance).aupdate(next_attempt_at=timezone.now())
        await delivery_round(worker_id=WORKER, pool=pool)
        job = await DeliveryJob.objects.aget(instance=instance)
        assert job.attempts == attempt
        assert job.state == (JobState.DISCARDED if attempt == 3 else JobState.RETRYING)
    assert job.last_outcome == "retry"
    assert job.last_error == "Out of retries after 3 attempts. down"
    assert await DeliveryAttempt.objects.filter(job=job).acount() == 3
    # A discarded job is never claimed again.
    assert (await delivery_round(worker_id=WORKER, pool=pool)).claimed == 0


async def test_a_disabled_instance_is_not_delivered(
    world: World, post: Post, pool: WorkerPool
) -> None:
    from asgiref.sync import sync_to_async

    instance = await sync_to_async(connect)(world, "async function onTrack() { return 1; }")
    await sync_to_async(post)("/v1/track", track())
    await sync_to_async(instance_update)(
        instance=instance, actor=world.users["olivia"], enabled=False
    )

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {INSTANCE_DISABLED: 1}
    job = await DeliveryJob.objects.aget(instance=instance)
    assert (job.state, job.last_outcome) == (JobState.DISCARDED, INSTANCE_DISABLED)


async def test_an_instance_whose_settings_cannot_be_read_fails_alone(
    world: World, post: Post, pool: WorkerPool
) -> None:
    """A stored row the engine cannot use (settings that are not an object) discards that
    instance's jobs with the reason; the other instance in the same round is delivered."""
    from asgiref.sync import sync_to_async

    broken = await sync_to_async(connect)(world, "async function onTrack() { return 1; }")
    healthy = await sync_to_async(connect)(
        world, "async function onTrack() { return 2; }", name="Other"
    )
    await sync_to_async(post)("/v1/track", track())
    await DestinationInstance.objects.filter(pk=broken.pk).aupdate(settings=["not", "an object"])

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {"invalid_settings": 1, "success": 1}
    job = await DeliveryJob.objects.aget(instance=broken)
    assert (job.state, job.last_outcome) == (JobState.DISCARDED, "invalid_settings")
    assert "could not be read" in job.last_error
    assert (await DeliveryJob.objects.aget(instance=healthy)).state == JobState.DELIVERED


def test_deliver_once_runs_one_round(world: World, post: Post, settings: Any) -> None:
    instance = connect(world, "async function onTrack() { return 1; }")
    post("/v1/track", track(messageId="a"))
    post("/v1/track", track(messageId="b"))
    output: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            output.append(text)

        def flush(self) -> None:
            pass

    call_command("deliver", "--once", stdout=Out())

    assert "".join(output).strip() == "Claimed 2 jobs, recorded 2 (success 2)."
    states = set(DeliveryJob.objects.filter(instance=instance).values_list("state", flat=True))
    assert states == {JobState.DELIVERED}


def test_a_worker_starts_without_djangos_system_checks(world: World) -> None:
    """They cost a second of every worker start; ``serve`` has run them."""

    def failing(**_: Any) -> list[checks.CheckMessage]:
        return [checks.Error("a check that would stop the worker", id="tests.E001")]

    checks.register(failing)
    try:
        with pytest.raises(SystemCheckError):  # what a command that runs them does
            call_command("check")
        # As manage.py runs it (call_command never runs the checks).
        out = io.StringIO()
        Deliver(stdout=out).run_from_argv(["manage.py", "deliver", "--once"])
        assert out.getvalue().strip() == "Claimed 0 jobs, recorded 0."
    finally:
        checks.registry.registry.registered_checks.discard(failing)


async def test_a_replayed_job_is_delivered_again_after_a_fix(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    """Discarded by a bug, the fix deployed, replayed: the next round delivers it, as a
    second attempt of the same job, and Event Delivery counts both."""
    from asgiref.sync import sync_to_async

    from catalog.services import function_deploy, function_update
    from pipeline.models import DeliveryMinute
    from pipeline.services import ReplayFilter, delivery_jobs_replay

    olivia = world.users["olivia"]
    instance = await sync_to_async(connect)(
        world, "async function onTrack() { throw new Error('bug'); }"
    )
    await sync_to_async(instance_update)(
        instance=instance,
        actor=olivia,
        settings={"apiKey": SECRET_API_KEY, "region": destination_url},
    )
    await sync_to_async(post)("/v1/track", track(messageId="m-replayed"))
    assert (await delivery_round(worker_id=WORKER, pool=pool)).outcomes == {"bad_request": 1}
    job = await DeliveryJob.objects.aget(instance=instance)
    assert job.state == JobState.DISCARDED and Destination.received == []

    def fix_and_replay() -> int:
        function = instance.function
        function_update(function=function, code=POSTING, actor=olivia)
        version = function.versions.get(number=2)
        function_deploy(function=function, version=version, instances=[instance], actor=olivia)
        return delivery_jobs_replay(
            instance=instance, match=ReplayFilter(job_id=job.pk), actor=olivia
        )

    assert await sync_to_async(fix_and_replay)() == 1
    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {"success": 1}
    assert [r["body"] for r in Destination.received] == [
        {"event": "Signed Up", "messageId": "m-replayed"}
    ]
    job = await DeliveryJob.objects.aget(pk=job.pk)
    assert (job.state, job.attempts) == (JobState.DELIVERED, 2)
    numbers = [a.number async for a in DeliveryAttempt.objects.filter(job=job).order_by("number")]
    assert numbers == [1, 2]
    counts = {
        (m.state, m.category): m.count
        async for m in DeliveryMinute.objects.filter(instance=instance)
    }
    assert counts == {("discarded", "bad_request"): 1, ("delivered", "success"): 1}


RECORDING = """
async function onTrack(event, settings) {
  await fetch(settings.region, { method: "POST", body: JSON.stringify(event) });
}
"""


async def test_destination_filters_drop_events_and_fields_before_the_function(
    world: World, post: Post, destination_url: str, pool: WorkerPool
) -> None:
    """An event a rule drops ends filtered and never reaches the function; the one that
    passes reaches it without the fields a drop_fields rule names."""
    from asgiref.sync import sync_to_async

    instance = await sync_to_async(connect)(world, RECORDING)
    olivia = world.users["olivia"]
    await sync_to_async(instance_update)(
        instance=instance,
        actor=olivia,
        settings={"apiKey": SECRET_API_KEY, "region": destination_url},
    )
    await sync_to_async(instance_filters_set)(
        instance=instance,
        actor=olivia,
        rules=[
            {"action": "drop_fields", "fields": ["properties.password", "context.ip"]},
            {
                "action": "drop",
                "conditions": [{"field": "event", "op": "equals", "value": "Debug"}],
            },
        ],
    )
    properties = {"password": "hunter2", "plan": "pro"}
    context = {"ip": "203.0.113.9", "locale": "fr"}
    await sync_to_async(post)(
        "/v1/batch",
        {"batch": [
            track(messageId="dropped", event="Debug", properties=properties),
            track(messageId="sent", properties=properties, context=context),
        ]},
    )  # fmt: skip

    summary = await delivery_round(worker_id=WORKER, pool=pool)

    assert summary.outcomes == {"filtered": 1, "success": 1}
    [received] = [r["body"] for r in Destination.received]
    assert received["messageId"] == "sent"
    assert received["properties"] == {"plan": "pro"}
    assert "ip" not in received["context"] and received["context"]["locale"] == "fr"
    dropped = await DeliveryJob.objects.aget(instance=instance, event__message_id="dropped")
    assert (dropped.state, dropped.last_outcome) == (JobState.FILTERED, "filtered")
    assert dropped.last_error == (
        'Dropped by the destination filters: rule #2 (drop: event equals "Debug").'
    )
    attempt = await DeliveryAttempt.objects.aget(job=dropped)
    assert (attempt.outcome, attempt.logs, attempt.requests) == ("filtered", [], [])
    # A filtered job is never claimed again.
    assert (await delivery_round(worker_id=WORKER, pool=pool)).claimed == 0
