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
