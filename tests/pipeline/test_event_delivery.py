"""Event Delivery: the per-minute aggregates counted with each round's results, the summary
read from them, the failures list, and replaying discarded jobs (services, selectors, the
API and the page)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import DestinationInstance
from pipeline.models import DeliveryAttempt, DeliveryJob, DeliveryMinute, JobState
from pipeline.selectors import (
    DeliveryError,
    delivery_batch_load,
    instance_delivery_summary,
)
from pipeline.services import (
    DeliveryResult,
    MinuteCount,
    delivery_jobs_claim,
    delivery_minutes_add,
    delivery_results_record,
)
from tests.conftest import SECRET_API_KEY, World
from tests.pipeline.test_delivery_claims import pending_jobs, second_instance

A = "/api/v1/workspaces/acme"
LOGGED = [{"level": "log", "message": "user alice@example.com"}]
TRACED = [{"method": "POST", "url": "https://api.example.com/", "status": 500}]


def run_round(
    instance: DestinationInstance, outcomes: list[str], *, worker: str = "w1", duration_ms: int = 7
) -> list[int]:
    """New jobs of ``instance``, one per outcome, claimed and recorded with that outcome."""
    job_ids = pending_jobs(instance, len(outcomes), prefix=f"{worker}-{timezone.now().timestamp()}")
    claimed = delivery_jobs_claim(worker_id=worker, limit=len(outcomes), lease_s=60)
    assert sorted(claimed) == sorted(job_ids)
    results = [
        DeliveryResult(
            job_id=job_id,
            attempt=1,
            outcome=outcome,
            error_type="" if outcome == "success" else "Error",
            error_message="" if outcome == "success" else f"failed: {outcome}",
            logs=LOGGED,
            requests=TRACED,
            duration_ms=duration_ms,
        )
        for job_id, outcome in zip(job_ids, outcomes, strict=True)
    ]
    assert delivery_results_record(results=results, worker_id=worker) == len(outcomes)
    return job_ids


def counted(instance: DestinationInstance) -> dict[tuple[str, str], tuple[int, int]]:
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for row in DeliveryMinute.objects.filter(instance=instance):
        count, ms = totals.get((row.state, row.category), (0, 0))
        totals[(row.state, row.category)] = (count + row.count, ms + row.duration_ms)
    return totals


# --- aggregates


def test_each_recorded_result_is_counted_by_state_and_outcome(world: World) -> None:
    run_round(world.instance, ["success", "success", "retry", "bad_request"])
    run_round(world.instance, ["success", "timeout"])

    assert counted(world.instance) == {
        ("delivered", "success"): (3, 21),
        ("retrying", "retry"): (1, 7),
        ("retrying", "timeout"): (1, 7),
        ("discarded", "bad_request"): (1, 7),
    }
    minute = DeliveryMinute.objects.filter(instance=world.instance).first()
    assert minute is not None and minute.minute.second == 0 and minute.minute.microsecond == 0


def test_a_stale_claim_is_not_counted(world: World) -> None:
    [job_id] = pending_jobs(world.instance, 1)
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=-1)
    delivery_jobs_claim(worker_id="w2", limit=10, lease_s=60)

    stale = DeliveryResult(job_id=job_id, attempt=1, outcome="success", duration_ms=5)
    assert delivery_results_record(results=[stale], worker_id="w1") == 0

    assert not DeliveryMinute.objects.exists()


def test_the_last_retry_counts_as_discarded(world: World, settings) -> None:
    settings.DELIVERY_MAX_RETRIES = 0
    run_round(world.instance, ["retry"])
    assert counted(world.instance) == {("discarded", "retry"): (1, 7)}


def test_minutes_add_to_the_row_already_there(world: World) -> None:
    at = datetime(2026, 5, 1, 12, 30, 41, tzinfo=UTC)
    counts = [MinuteCount(world.instance.pk, "delivered", "success", 10)] * 3
    delivery_minutes_add(counts=counts, at=at)
    delivery_minutes_add(counts=counts[:1], at=at + timedelta(seconds=5))
    delivery_minutes_add(counts=counts[:1], at=at + timedelta(minutes=1))

    rows = list(
        DeliveryMinute.objects.order_by("minute").values_list("minute", "count", "duration_ms")
    )
    assert rows == [
        (datetime(2026, 5, 1, 12, 30, tzinfo=UTC), 4, 40),
        (datetime(2026, 5, 1, 12, 31, tzinfo=UTC), 1, 10),
    ]


# --- the summary, from the aggregates

NOW = datetime(2026, 5, 1, 12, 30, 20, tzinfo=UTC)


def _minute(
    instance: DestinationInstance, ago: timedelta, state: str, category: str, n: int
) -> None:
    minute = (NOW - ago).replace(second=0, microsecond=0)
    DeliveryMinute.objects.create(
        instance=instance, minute=minute, state=state, category=category, count=n, duration_ms=n
    )


@pytest.fixture
def known(world: World) -> DestinationInstance:
    i = world.instance
    _minute(i, timedelta(), "delivered", "success", 5)
    _minute(i, timedelta(), "discarded", "bad_request", 2)
    _minute(i, timedelta(minutes=2), "delivered", "success", 3)
    _minute(i, timedelta(minutes=2), "retrying", "retry", 4)
    _minute(i, timedelta(minutes=59), "filtered", "filtered", 1)
    _minute(i, timedelta(hours=3), "discarded", "timeout", 6)
    _minute(i, timedelta(days=3), "discarded", "bad_request", 10)
    _minute(i, timedelta(days=8), "delivered", "success", 100)  # outside every range
    # Another instance's minutes are its own.
    _minute(second_instance(world), timedelta(), "delivered", "success", 50)
    return i


def test_the_last_hour_per_minute(known: DestinationInstance) -> None:
    summary = instance_delivery_summary(instance=known, range_name="hour", now=NOW)

    assert summary.end == datetime(2026, 5, 1, 12, 31, tzinfo=UTC)
    assert summary.start == datetime(2026, 5, 1, 11, 31, tzinfo=UTC)
    assert len(summary.series) == 60 and summary.bucket == timedelta(minutes=1)
    assert summary.totals == {"delivered": 8, "retrying": 4, "discarded": 2, "filtered": 1}
    last, two_ago = summary.series[-1], summary.series[-3]
    assert last.counts == {"delivered": 5, "retrying": 0, "discarded": 2, "filtered": 0}
    assert two_ago.counts == {"delivered": 3, "retrying": 4, "discarded": 0, "filtered": 0}
    assert summary.series[0].counts["filtered"] == 1
    assert sum(b.total for b in summary.series) == 15
    assert summary.errors == [
        DeliveryError("retry", "retrying", 4),
        DeliveryError("bad_request", "discarded", 2),
    ]
    assert summary.duration_ms == 15


def test_the_last_day_in_half_hours(known: DestinationInstance) -> None:
    summary = instance_delivery_summary(instance=known, range_name="day", now=NOW)

    assert len(summary.series) == 48 and summary.bucket == timedelta(minutes=30)
    assert summary.series[-1].start == datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    # 12:30 holds the minute just begun; 12:00 the ones two and 59 minutes ago... (11:31).
    assert summary.series[-1].counts == {
        "delivered": 5,
        "retrying": 0,
        "discarded": 2,
        "filtered": 0,
    }
    assert summary.series[-2].counts == {
        "delivered": 3,
        "retrying": 4,
        "discarded": 0,
        "filtered": 0,
    }
    assert summary.series[-3].counts["filtered"] == 1
    assert summary.totals["discarded"] == 8
    assert summary.errors[0] == DeliveryError("timeout", "discarded", 6)


def test_the_last_week_in_four_hours(known: DestinationInstance) -> None:
    summary = instance_delivery_summary(instance=known, range_name="week", now=NOW)

    assert len(summary.series) == 42 and summary.bucket == timedelta(hours=4)
    assert summary.totals == {"delivered": 8, "retrying": 4, "discarded": 18, "filtered": 1}
    assert summary.errors == [
        DeliveryError("bad_request", "discarded", 12),
        DeliveryError("timeout", "discarded", 6),
        DeliveryError("retry", "retrying", 4),
    ]


def test_the_api_answers_the_summary(world: World, known: DestinationInstance, api) -> None:
    response = api("olivia").get(f"{A}/instances/{known.pk}/delivery/?range=day")
    assert response.status_code == 200
    body = response.json()
    assert body["range"] == "day" and body["bucket_seconds"] == 1800
    assert len(body["series"]) == 48
    assert set(body["totals"]) == {"delivered", "retrying", "discarded", "filtered"}
    assert api("olivia").get(f"{A}/instances/{known.pk}/delivery/").json()["range"] == "hour"


def test_an_unknown_range_is_refused(world: World, api) -> None:
    response = api("olivia").get(f"{A}/instances/{world.instance.pk}/delivery/?range=year")
    assert response.status_code == 400
    assert "choose hour, day or week" in response.json()["errors"]["range"][0]


# --- failures


def test_failures_list_the_failed_jobs_with_their_attempts(world: World, api) -> None:
    _delivered, retrying, discarded = run_round(world.instance, ["success", "retry", "bad_request"])

    response = api("olivia").get(f"{A}/instances/{world.instance.pk}/delivery/failures/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert {r["id"] for r in results} == {retrying, discarded}
    failure = next(r for r in results if r["id"] == discarded)
    assert failure["state"] == "discarded" and failure["last_error"] == "failed: bad_request"
    assert failure["event_type"] == "track" and failure["message_id"].startswith("w1-")
    [attempt] = failure["attempt_log"]
    assert attempt["number"] == 1 and attempt["outcome"] == "bad_request"
    assert attempt["error_type"] == "Error" and attempt["duration_ms"] == 7
    assert attempt["logs"] == LOGGED and attempt["requests"] == TRACED


def test_logs_are_hidden_from_who_may_not_view_the_function(world: World, api) -> None:
    run_round(world.instance, ["bad_request"])
    path = f"{A}/instances/{world.instance.pk}/delivery/failures/"

    # sam manages sources: sees the instance and its failures, not the function's logs.
    [failure] = api("sam").get(path).json()["results"]
    [attempt] = failure["attempt_log"]
    assert attempt["error_message"] == "failed: bad_request"
    assert attempt["logs"] is None and attempt["requests"] is None
    assert "alice@example.com" not in api("sam").get(path).content.decode()
    [failure] = api("ruth").get(path).json()["results"]
    assert failure["attempt_log"][0]["logs"] == LOGGED


def test_the_page_shows_failures_and_hides_logs_likewise(world: World, login) -> None:
    run_round(world.instance, ["success", "bad_request"])
    path = f"/w/acme/instances/{world.instance.pk}/delivery/"

    page = login("olivia").get(path).content.decode()
    assert "failed: bad_request" in page and "alice@example.com" in page
    assert "https://api.example.com/" in page
    assert 'id="total-delivered">1<' in page and 'id="total-discarded">1<' in page
    assert ">Replay<" in page and "Replay all discarded" in page
    assert 'class="bar-delivered"' in page
    assert SECRET_API_KEY not in page

    sam = login("sam").get(path).content.decode()
    assert "failed: bad_request" in sam and "alice@example.com" not in sam
    assert "https://api.example.com/" not in sam
    # Replaying needs Functions Admin and Source Admin: ruth sees no button.
    ruth = login("ruth").get(path).content.decode()
    assert "alice@example.com" in ruth and ">Replay<" not in ruth
    assert "Replay all" not in ruth
    assert "instance-delivery.js" not in ruth


def test_the_page_takes_a_range_and_refuses_an_unknown_one(world: World, login) -> None:
    path = f"/w/acme/instances/{world.instance.pk}/delivery/"
    page = login("olivia").get(f"{path}?range=week").content.decode()
    assert "Attempts, last week" in page and page.count("<rect") == 0
    assert login("olivia").get(f"{path}?range=year").status_code == 400


def test_the_page_is_hidden_from_foreign_members(world: World, login) -> None:
    assert login("gary").get(f"/w/acme/instances/{world.instance.pk}/delivery/").status_code == 404
    foreign = f"/w/acme/instances/{world.foreign_instance.pk}/delivery/"
    assert login("olivia").get(foreign).status_code == 404
    assert (
        login("audrey").get(f"/w/acme/instances/{world.instance.pk}/delivery/").status_code == 404
    )


# --- replay


def _replay(api, body: dict, *, persona: str = "olivia", instance=None, world: World):
    instance = instance or world.instance
    return api(persona).post(f"{A}/instances/{instance.pk}/replay/", body, format="json")


def test_replaying_one_job_queues_it_as_a_new_attempt(world: World, api) -> None:
    [job_id, other] = run_round(world.instance, ["bad_request", "bad_request"])
    before = timezone.now()

    response = _replay(api, {"job": job_id}, world=world)

    assert response.status_code == 200 and response.json() == {"queued": 1}
    job = DeliveryJob.objects.get(pk=job_id)
    assert (job.state, job.attempts, job.replayed_after) == (JobState.PENDING, 1, 1)
    assert job.next_attempt_at >= before
    assert DeliveryJob.objects.get(pk=other).state == JobState.DISCARDED
    [row] = AuditEvent.objects.filter(action="instance.replayed")
    assert row.changes == {"queued": 1, "job": job_id}
    assert row.target_id == str(world.instance.pk)

    # Claimed again, it is attempt 2 (numbers stay unique) with a fresh retry budget.
    assert delivery_jobs_claim(worker_id="w1", limit=10, lease_s=60) == [job_id]
    claims, _ = delivery_batch_load(job_ids=[job_id])
    assert claims[0].attempt == 2
    retry = DeliveryResult(job_id=job_id, attempt=2, outcome="retry", error_message="later")
    assert delivery_results_record(results=[retry], worker_id="w1") == 1
    assert DeliveryJob.objects.get(pk=job_id).state == JobState.RETRYING
    assert list(DeliveryAttempt.objects.filter(job_id=job_id).values_list("number", flat=True)) == [
        1,
        2,
    ]


def test_the_retry_budget_restarts_after_a_replay(world: World, api, settings) -> None:
    settings.DELIVERY_MAX_RETRIES = 1
    [job_id] = pending_jobs(world.instance, 1)
    for attempt in (1, 2):  # out of retries: discarded after the second attempt
        DeliveryJob.objects.filter(pk=job_id).update(next_attempt_at=timezone.now())
        delivery_jobs_claim(worker_id="w1", limit=1, lease_s=60)
        result = DeliveryResult(job_id=job_id, attempt=attempt, outcome="retry")
        delivery_results_record(results=[result], worker_id="w1")
    assert DeliveryJob.objects.get(pk=job_id).state == JobState.DISCARDED

    assert _replay(api, {"category": "retry"}, world=world).json() == {"queued": 1}
    delivery_jobs_claim(worker_id="w1", limit=1, lease_s=60)
    delivery_results_record(
        results=[DeliveryResult(job_id=job_id, attempt=3, outcome="retry")], worker_id="w1"
    )
    # Its first attempt since the replay: one retry is left.
    assert DeliveryJob.objects.get(pk=job_id).state == JobState.RETRYING


def test_replaying_by_filter_takes_only_the_matching_discarded_jobs(world: World, api) -> None:
    bad = run_round(
        world.instance, ["bad_request", "bad_request", "message_rejected", "retry", "success"]
    )
    other = second_instance(world)
    run_round(other, ["bad_request"], worker="w2")
    old = bad[1]
    DeliveryJob.objects.filter(pk=old).update(last_attempt_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    response = _replay(api, {"category": "bad_request", "since": since}, world=world)

    assert response.json() == {"queued": 1}
    states = dict(DeliveryJob.objects.filter(instance=world.instance).values_list("pk", "state"))
    assert states[bad[0]] == JobState.PENDING
    assert [states[pk] for pk in bad[1:]] == ["discarded", "discarded", "retrying", "delivered"]
    assert DeliveryJob.objects.get(instance=other).state == JobState.DISCARDED
    [row] = AuditEvent.objects.filter(action="instance.replayed")
    assert row.changes["queued"] == 1 and row.changes["category"] == "bad_request"

    # No filter at all: every discarded job of the instance (the old one, message_rejected).
    assert _replay(api, {}, world=world).json() == {"queued": 2}
    assert AuditEvent.objects.filter(action="instance.replayed").count() == 2


def test_a_large_replay_goes_in_chunks_with_one_audit_row(
    world: World, api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import services

    monkeypatch.setattr(services, "REPLAY_CHUNK", 2)
    bad = run_round(world.instance, ["bad_request"] * 5 + ["success"])
    with CaptureQueriesContext(connection) as queries:
        assert _replay(api, {}, world=world).json() == {"queued": 5}
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 3  # 2 + 2 + 1
    states = dict(DeliveryJob.objects.filter(instance=world.instance).values_list("pk", "state"))
    assert [states[pk] for pk in bad] == [JobState.PENDING] * 5 + [JobState.DELIVERED]
    [row] = AuditEvent.objects.filter(action="instance.replayed")
    assert row.changes["queued"] == 5


def test_nothing_matched_queues_nothing_and_writes_no_audit_row(world: World, api) -> None:
    [delivered] = run_round(world.instance, ["success"])
    assert _replay(api, {"category": "timeout"}, world=world).json() == {"queued": 0}
    assert not AuditEvent.objects.filter(action="instance.replayed").exists()
    # One job that is not discarded: a clear refusal.
    response = _replay(api, {"job": delivered}, world=world)
    assert response.status_code == 400
    assert "only discarded jobs are replayed" in response.json()["detail"] + str(response.json())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"job": 1, "category": "retry"}, "job"),
        ({"category": "nope"}, "category"),
        ({"since": "yesterday"}, "since"),
        ({"catgory": "retry"}, "catgory"),
        ({"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_replay_requests_are_refused_naming_the_field(
    world: World, api, body: dict, field: str
) -> None:
    run_round(world.instance, ["bad_request"])
    response = _replay(api, body, world=world)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert DeliveryJob.objects.get(instance=world.instance).state == JobState.DISCARDED
    assert not AuditEvent.objects.filter(action="instance.replayed").exists()


def test_a_job_of_another_instance_is_not_replayed(world: World, api) -> None:
    [foreign] = run_round(second_instance(world), ["bad_request"])
    response = _replay(api, {"job": foreign}, world=world)
    assert response.status_code == 400 and "has no job" in str(response.json())


@pytest.mark.parametrize(
    ("persona", "status"),
    [("dana", 200), ("adam", 403), ("sam", 403), ("ruth", 403), ("gary", 404)],
)
def test_replaying_needs_the_rights_to_change_the_instance(
    world: World, api, persona: str, status: int
) -> None:
    [job_id] = run_round(world.instance, ["bad_request"])
    response = _replay(api, {"job": job_id}, persona=persona, world=world)
    assert response.status_code == status
    expected = JobState.PENDING if status == 200 else JobState.DISCARDED
    assert DeliveryJob.objects.get(pk=job_id).state == expected


def test_the_routes_are_in_the_openapi_schema(world: World, api) -> None:
    schema = api("olivia").get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    base = "/api/v1/workspaces/{workspace_slug}/instances/{instance_id}"
    assert "get" in paths[f"{base}/delivery/"]
    assert "get" in paths[f"{base}/delivery/failures/"]
    replay = paths[f"{base}/replay/"]["post"]
    assert "ReplayInput" in str(replay["requestBody"])
