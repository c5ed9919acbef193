"""A source's recent events: the selector and ``GET .../sources/<id>/recent-events/``; an
instance's destination filters: ``GET``/``PUT .../instances/<id>/filters/`` and its preview."""

from __future__ import annotations

from typing import Any

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


# -- destination filters ---------------------------------------------------------------------

RULES = [
    {"action": "drop_fields", "fields": ["context.ip"]},
    {"action": "drop", "match": "any", "conditions": [
        {"field": "event", "op": "equals", "value": "Debug"},
        {"field": "properties.internal", "op": "exists"},
    ]},
]  # fmt: skip


def _filters(world: World) -> str:
    return f"{A}/instances/{world.instance.pk}/filters/"


def _client(world: World, persona: str = "olivia") -> APIClient:
    client = APIClient()
    client.force_authenticate(user=world.users[persona])
    return client


def test_filters_are_read_and_replaced_whole(world: World) -> None:
    client = _client(world)
    assert client.get(_filters(world)).json() == {
        "rules": [], "updated_by": None, "updated_at": None,
    }  # fmt: skip
    saved = client.put(_filters(world), {"rules": RULES}, format="json")
    assert saved.status_code == 200
    assert saved.json()["rules"] == RULES and saved.json()["updated_by"] == "olivia"
    assert client.get(_filters(world)).json()["rules"] == RULES
    cleared = client.put(_filters(world), {"rules": []}, format="json").json()
    assert cleared["rules"] == []


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "rules", "This field is required."),
        ({"rules": "drop"}, "rules", 'Must be a list of rules, not "drop".'),
        (
            {
                "rules": [
                    RULES[0],
                    {"action": "drop", "conditions": [{"field": "plan", "op": "in"}]},
                ]
            },
            "rules",
            'Rule #2, condition #1: field "plan" must be one of type',
        ),
    ],
)
def test_bad_filters_are_a_400_naming_the_rule(
    world: World, body: dict[str, Any], field: str, message: str
) -> None:
    client = _client(world)
    client.put(_filters(world), {"rules": RULES}, format="json")
    response = client.put(_filters(world), body, format="json")
    assert response.status_code == 400
    [problem] = response.json()["errors"][field]
    assert problem.startswith(message)
    assert client.get(_filters(world)).json()["rules"] == RULES  # nothing half-saved


def test_the_preview_answers_the_decision_and_the_event_as_the_function_sees_it(
    world: World,
) -> None:
    client = _client(world, "olivia")
    client.put(_filters(world), {"rules": RULES}, format="json")
    event = {**track(), "context": {"ip": "203.0.113.9", "locale": "fr"}}
    reader = _client(world, "rita")  # read-only: may test, not change

    passed = reader.post(_filters(world) + "preview/", {"event": event}, format="json").json()
    assert passed == {
        "decision": "send", "rule": None, "reason": None,
        "event": {**event, "context": {"locale": "fr"}},
    }  # fmt: skip
    dropped = reader.post(
        _filters(world) + "preview/",
        {"event": {**event, "properties": {"internal": True}}},
        format="json",
    ).json()
    assert (dropped["decision"], dropped["rule"]) == ("drop", 2)
    assert dropped["reason"].startswith('rule #2 (drop: event equals "Debug" or ')
    # Rules being edited are tested as given, not saved.
    unsaved = reader.post(
        _filters(world) + "preview/", {"event": event, "rules": []}, format="json"
    ).json()
    assert unsaved["event"] == event
    assert client.get(_filters(world)).json()["rules"] == RULES


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "event"),
        ({"event": [1]}, "event"),
        ({"event": {"type": "track"}, "rules": [{"action": "keep"}]}, "rules"),
    ],
)
def test_a_bad_preview_is_a_400(world: World, body: dict[str, Any], field: str) -> None:
    response = _client(world).post(_filters(world) + "preview/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


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
