"""A source's recent events: the selector and ``GET .../sources/<id>/recent-events/``."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from pipeline.selectors import RECENT_EVENTS_MAX, source_recent_events
from pipeline.services import events_store
from tests.conftest import ACME_PERSONAS, World
from tests.pipeline.conftest import track

A = "/api/v1/workspaces/acme"


def _store(world: World, count: int, *, prefix: str = "m", source=None) -> None:
    events = [{**track(), "messageId": f"{prefix}-{i}", "properties": {"i": i}}
              for i in range(count)]  # fmt: skip
    events_store(source=source or world.source, events=events, received_at=timezone.now())


def _path(world: World, source=None) -> str:
    return f"{A}/sources/{(source or world.source).pk}/recent-events/"


def test_the_selector_keeps_the_most_recent_100_newest_first(world: World) -> None:
    _store(world, 130)
    _store(world, 5, prefix="foreign", source=world.foreign_source)
    recent = list(source_recent_events(source=world.source))
    assert len(recent) == RECENT_EVENTS_MAX == 100
    assert [e.message_id for e in recent[:2]] == ["m-129", "m-128"]
    assert recent[-1].message_id == "m-30"
    assert [e.message_id for e in source_recent_events(source=world.source, limit=3)] == [
        "m-129", "m-128", "m-127",
    ]  # fmt: skip
    assert len(source_recent_events(source=world.source, limit=500)) == 100


def test_the_api_pages_through_them(world: World) -> None:
    _store(world, 120)
    client = APIClient()
    client.force_authenticate(user=world.users["olivia"])
    page = client.get(_path(world) + "?limit=100").json()
    assert page["count"] == 100 and len(page["results"]) == 100
    first = page["results"][0]
    assert first["message_id"] == "m-119" and first["type"] == "track"
    assert first["event"]["properties"] == {"i": 119}
    assert first["event"]["messageId"] == "m-119" and first["received_at"]
    assert client.get(_path(world)).json()["next"]  # 50 a page by default, as every list


@pytest.mark.parametrize("persona", [*ACME_PERSONAS, "gary"])
def test_every_member_who_sees_the_source_sees_its_events(world: World, persona: str) -> None:
    _store(world, 1)
    client = APIClient()
    client.force_authenticate(user=world.users[persona])
    response = client.get(_path(world))
    if persona == "gary":
        assert response.status_code == 404 and b"m-0" not in response.content
    else:
        assert response.status_code == 200
        assert [e["message_id"] for e in response.json()["results"]] == ["m-0"]


def test_another_workspaces_source_is_a_404(world: World) -> None:
    _store(world, 1, source=world.foreign_source)
    client = APIClient()
    client.force_authenticate(user=world.users["olivia"])
    response = client.get(_path(world, world.foreign_source))
    assert response.status_code == 404 and b"m-0" not in response.content
    assert APIClient().get(_path(world)).status_code in (401, 403)


# --- An instance's batch settings: GET/PUT .../instances/<id>/batching/


def _batching(world: World) -> str:
    return f"{A}/instances/{world.instance.pk}/batching/"


def _olivia() -> APIClient:
    from django.contrib.auth.models import User

    client = APIClient()
    client.force_authenticate(user=User.objects.get(username="olivia"))
    return client


def test_batching_defaults_then_a_change_with_one_audit_row(world: World) -> None:
    from audit.models import AuditEvent

    client = _olivia()
    assert client.get(_batching(world)).json() == {"size": 20, "wait_ms": 10000}
    before = AuditEvent.objects.count()
    response = client.put(_batching(world), {"size": 400, "wait_ms": 100}, format="json")
    assert response.status_code == 200 and response.json() == {"size": 400, "wait_ms": 100}
    assert client.get(_batching(world)).json() == {"size": 400, "wait_ms": 100}
    row = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1 and row is not None
    assert row.action == "instance.batching_changed"
    assert row.changes == {"size": {"from": 20, "to": 400}, "wait_ms": {"from": 10000, "to": 100}}
    # The same values again change nothing: no audit row.
    client.put(_batching(world), {"size": 400, "wait_ms": 100}, format="json")
    assert AuditEvent.objects.count() == before + 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"size": 0, "wait_ms": 1000}, "size", "Between 1 and 400 events."),
        ({"size": 401, "wait_ms": 1000}, "size", "Between 1 and 400 events."),
        ({"size": 20, "wait_ms": 99}, "wait_ms", "Between 100 and 60000 ms."),
        ({"size": 20, "wait_ms": 60001}, "wait_ms", "Between 100 and 60000 ms."),
        ({"size": "many", "wait_ms": 1000}, "size", "A valid integer is required."),
        ({"wait_ms": 1000}, "size", "This field is required."),
    ],
)
def test_bad_batching_is_a_400_naming_the_field(
    world: World, body: dict[str, object], field: str, message: str
) -> None:
    from pipeline.models import InstanceBatching

    response = _olivia().put(_batching(world), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][field] == [message]
    assert not InstanceBatching.objects.exists()
