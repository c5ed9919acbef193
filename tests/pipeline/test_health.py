"""Connection Health: an instance whose last 15 minutes of attempts mostly failed is
flagged (pipeline.services), and shown so on the dashboard, the Catalog and the editor."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from catalog.models import DestinationInstance
from pipeline import services
from pipeline.selectors import HEALTH_MIN_ATTEMPTS, HEALTH_WINDOW
from pipeline.services import (
    MinuteCount,
    delivery_minutes_add,
    delivery_verdict,
    instances_health_recompute,
)
from tests.conftest import World
from tests.pipeline.recording import record_round

Login = Callable[[str], Client]


def attempts(instance: DestinationInstance, *outcomes: str, finished_at: datetime) -> None:
    """Attempts counted as a worker counts them: in the minute they finished."""
    delivery_minutes_add(
        counts=[
            MinuteCount(instance.pk, delivery_verdict(outcome=o, error_message="", attempt=1,
                                                      now=finished_at).state, o, 1)
            for o in outcomes
        ],
        at=finished_at,
    )  # fmt: skip


def failing_since(instance: DestinationInstance) -> datetime | None:
    instance.refresh_from_db()
    return instance.failing_since


def judge(world: World, now: datetime) -> None:
    instances_health_recompute(now=now, instance_ids=[world.instance.pk])


def test_more_than_half_failed_of_at_least_five_is_failing(world: World) -> None:
    now = timezone.now()
    attempts(world.instance, "retry", "bad_request", "timeout", "success", "success",
             finished_at=now - HEALTH_WINDOW)  # fmt: skip

    judge(world, now)

    assert HEALTH_MIN_ATTEMPTS == 5
    assert failing_since(world.instance) == now


def test_exactly_half_failed_is_not_failing(world: World) -> None:
    now = timezone.now()
    attempts(world.instance, "retry", "retry", "retry", "success", "success", "filtered",
             finished_at=now)  # fmt: skip
    judge(world, now)
    assert failing_since(world.instance) is None


def test_fewer_than_five_attempts_never_flag(world: World) -> None:
    now = timezone.now()
    attempts(world.instance, "retry", "retry", "retry", "retry", finished_at=now)
    judge(world, now)
    assert failing_since(world.instance) is None


def test_attempts_older_than_the_window_do_not_count(world: World) -> None:
    now = timezone.now()
    attempts(world.instance, "retry", "retry", finished_at=now)
    # Counted by the minute: the window is the last HEALTH_WINDOW's minutes and this one.
    attempts(world.instance, "retry", "retry", "retry",
             finished_at=now - HEALTH_WINDOW - timedelta(minutes=1))  # fmt: skip
    judge(world, now)
    assert failing_since(world.instance) is None


def test_a_failing_instance_keeps_its_start_then_recovers(world: World) -> None:
    start = timezone.now()
    attempts(world.instance, *["retry"] * 5, finished_at=start)
    judge(world, start)

    judge(world, start + timedelta(minutes=1))
    assert failing_since(world.instance) == start

    # No attempt since: the periodic judgement (of flagged instances) clears it.
    assert instances_health_recompute(now=start + HEALTH_WINDOW + timedelta(minutes=1)) == 1
    assert failing_since(world.instance) is None


def test_clean_delivery_lets_an_idle_instance_recover(world: World) -> None:
    DestinationInstance.objects.filter(pk=world.instance.pk).update(
        failing_since=timezone.now() - timedelta(hours=1)
    )
    call_command("clean_delivery", stdout=io.StringIO())
    assert failing_since(world.instance) is None


def test_recording_a_failing_round_flags_the_instance(
    world: World, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Callable
) -> None:
    monkeypatch.setattr(services, "_health_due_at", {})
    with django_capture_on_commit_callbacks(execute=True):
        record_round(world.instance, *[("retry", 5)] * 5)
    assert failing_since(world.instance) is not None

    with django_capture_on_commit_callbacks(execute=True):
        record_round(world.instance, *[("success", 5)] * 6)
    # Judged at most every HEALTH_RECHECK_S: still flagged until then.
    assert failing_since(world.instance) is not None

    monkeypatch.setattr(services, "_health_due_at", {})
    with django_capture_on_commit_callbacks(execute=True):
        record_round(world.instance, ("success", 5))
    assert failing_since(world.instance) is None


def _flag(world: World) -> None:
    DestinationInstance.objects.filter(pk=world.instance.pk).update(
        failing_since=timezone.now() - timedelta(minutes=3)
    )


def test_the_dashboard_lists_failing_instances(world: World, login: Login) -> None:
    assert b"connection-health" not in login("olivia").get("/w/acme/").content
    _flag(world)

    content = login("ruth").get("/w/acme/").content.decode()

    assert 'id="connection-health"' in content
    assert f'href="/w/acme/instances/{world.instance.pk}/"' in content
    assert "Webhook (prod)" in content
    # Who may not see the Webhook function does not see its instance either.
    assert b"connection-health" not in login("audrey").get("/w/acme/").content


def test_the_editor_flags_a_failing_instance_of_the_function(world: World, login: Login) -> None:
    editor = f"/w/acme/functions/{world.function.pk}/"
    assert b"failing-banner" not in login("olivia").get(editor).content
    _flag(world)

    response = login("olivia").get(editor)

    assert b'data-testid="failing-banner"' in response.content
    [instance] = response.context["config"]["instances"]
    assert instance["health"]["state"] == "failing"
    mailer = login("olivia").get(f"/w/acme/functions/{world.other_function.pk}/")
    assert b"failing-banner" not in mailer.content
