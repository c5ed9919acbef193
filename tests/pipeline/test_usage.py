"""Usage: invocations and execution time per function per day, counted as results are
recorded (pipeline.services), shown on the usage page and through the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog.services import instance_create
from pipeline.models import FunctionUsageDay
from pipeline.selectors import delivery_batch_load
from pipeline.services import (
    DeliveryResult,
    delivery_jobs_claim,
    delivery_results_record,
    function_usage_add,
)
from tests.conftest import World
from tests.pipeline.recording import record_round
from tests.pipeline.test_delivery_claims import pending_jobs

Login = Callable[[str], Client]


def usage(function_id: int) -> tuple[int, int]:
    row = FunctionUsageDay.objects.filter(function_id=function_id).first()
    return (row.invocations, row.execution_ms) if row else (0, 0)


def test_recorded_results_that_ran_code_count_per_function_and_day(world: World) -> None:
    record_round(
        world.instance,
        ("success", 10),
        ("retry", 20),
        ("bad_request", 5),
        # The engine's own outcomes ran no code.
        ("invalid_settings", None),
        ("instance_disabled", None),
        ("filtered", None),
    )
    assert usage(world.function.pk) == (3, 35)

    record_round(world.instance, ("success", 7))

    [row] = FunctionUsageDay.objects.all()
    assert (row.invocations, row.execution_ms, row.day) == (4, 42, timezone.now().date())


def test_a_function_thrown_invalid_settings_ran_code_and_counts(world: World) -> None:
    record_round(world.instance, ("invalid_settings", 3))
    assert usage(world.function.pk) == (1, 3)


def test_each_function_counts_apart(world: World) -> None:
    mailer = instance_create(
        function=world.other_function, source=world.source, name="Mailer (prod)",
        actor=world.users["olivia"],
    )  # fmt: skip
    pending_jobs(world.instance, 2, prefix="a")
    pending_jobs(mailer, 1, prefix="b")
    job_ids = delivery_jobs_claim(worker_id="w1", limit=10, lease_s=60)
    claims, _ = delivery_batch_load(job_ids=job_ids)
    delivery_results_record(
        results=[DeliveryResult(c.job_id, c.attempt, "success", duration_ms=4) for c in claims],
        worker_id="w1",
    )
    assert (usage(world.function.pk), usage(world.other_function.pk)) == ((2, 8), (1, 4))


def test_a_stale_claim_is_not_counted(world: World) -> None:
    [job_id] = pending_jobs(world.instance, 1)
    delivery_jobs_claim(worker_id="w1", limit=10, lease_s=-1)
    delivery_jobs_claim(worker_id="w2", limit=10, lease_s=60)

    result = DeliveryResult(job_id=job_id, attempt=1, outcome="success", duration_ms=9)
    assert delivery_results_record(results=[result], worker_id="w1") == 0

    assert usage(world.function.pk) == (0, 0)


def test_adding_usage_adds_to_the_day(world: World) -> None:
    today = timezone.now().date()
    function_usage_add(usage={world.function.pk: (2, 30)}, day=today)
    function_usage_add(usage={world.function.pk: (1, 5)}, day=today)
    function_usage_add(usage={world.function.pk: (1, 1)}, day=today - timedelta(days=1))
    rows = FunctionUsageDay.objects.order_by("day").values_list("invocations", "execution_ms")
    assert list(rows) == [(1, 1), (3, 35)]


def _seed_usage(world: World) -> None:
    today = timezone.now().date()
    function_usage_add(
        usage={world.function.pk: (4, 40), world.other_function.pk: (2, 6)}, day=today
    )
    function_usage_add(usage={world.function.pk: (2, 10)}, day=today - timedelta(days=29))
    function_usage_add(usage={world.function.pk: (100, 100)}, day=today - timedelta(days=30))


def test_the_usage_page_lists_the_last_30_days_of_visible_functions(
    world: World, login: Login
) -> None:
    _seed_usage(world)

    response = login("olivia").get("/w/acme/usage/")

    assert response.status_code == 200
    rows = {f.name: f for f in response.context["usage"]}
    assert sorted(rows) == ["Mailer", "Webhook"]
    webhook = rows["Webhook"]
    # The day 30 days ago is outside the period.
    assert (len(webhook.days), webhook.invocations, webhook.execution_ms) == (30, 6, 50)
    assert [d.bar for d in webhook.days if d.invocations] == [50, 100]
    content = response.content.decode()
    assert content.count("<rect") == 60
    assert 'data-testid="invocations">6<' in content


def test_sally_sees_only_the_webhooks_usage(world: World, login: Login) -> None:
    _seed_usage(world)

    page = login("sally").get("/w/acme/usage/")
    api = login("sally").get("/api/v1/workspaces/acme/usage/")

    assert [f.name for f in page.context["usage"]] == ["Webhook"]
    assert [f["name"] for f in api.json()] == ["Webhook"]


@pytest.mark.parametrize(("persona", "link"), [("rita", True), ("ruth", True), ("sam", False)])
def test_the_usage_link_shows_for_members_who_may_view_functions(
    world: World, login: Login, persona: str, link: bool
) -> None:
    content = login(persona).get("/w/acme/").content.decode()
    assert ('href="/w/acme/usage/"' in content) is link


def test_the_usage_api_takes_a_number_of_days(world: World, login: Login) -> None:
    _seed_usage(world)
    client = login("olivia")

    response = client.get("/api/v1/workspaces/acme/usage/?days=1")

    assert response.status_code == 200
    webhook = next(f for f in response.json() if f["name"] == "Webhook")
    assert webhook == {
        "function": world.function.pk,
        "name": "Webhook",
        "invocations": 4,
        "execution_ms": 40,
        "days": [{"day": timezone.now().date().isoformat(), "invocations": 4, "execution_ms": 40}],
    }
    assert len(client.get("/api/v1/workspaces/acme/usage/").json()[0]["days"]) == 30


@pytest.mark.parametrize("days", ["0", "91", "many"])
def test_a_bad_number_of_days_is_a_400_naming_it(world: World, login: Login, days: str) -> None:
    response = login("olivia").get(f"/api/v1/workspaces/acme/usage/?days={days}")
    assert response.status_code == 400
    assert "days" in response.json()["errors"]


def test_another_workspace_gets_404(world: World, login: Login) -> None:
    assert login("gary").get("/w/acme/usage/").status_code == 404
    assert login("gary").get("/api/v1/workspaces/acme/usage/").status_code == 404
