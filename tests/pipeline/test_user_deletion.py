"""Deleting a user (Segment's user deletion): ``POST .../sources/<id>/delete-user/`` and the
Sources tab's form send a ``delete`` event that reaches the destinations' ``onDelete``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from catalog.services import function_create, instance_create, instance_update
from pipeline.delivery import delivery_round
from pipeline.models import DeliveryJob, Event, EventType, JobState
from runtime.pool import WorkerPool
from tests.conftest import SCHEMA, SECRET_API_KEY, World, build_world
from tests.pipeline.conftest import JsonRecorder, Post, track

A = "/api/v1/workspaces/acme"

ON_DELETE = """
async function onDelete(event, settings) {
  await fetch(settings.region, { method: "POST", body: JSON.stringify(event) });
}
"""


def api(world: World, persona: str) -> Callable[[str, Any], Any]:
    client = APIClient()
    client.force_login(world.users[persona])
    return lambda path, body: client.post(path, body, format="json")


@pytest.mark.django_db(transaction=True)
async def test_the_delete_event_reaches_on_delete(recorder_url: str, pool: WorkerPool) -> None:
    world = await sync_to_async(build_world)()
    olivia = world.users["olivia"]

    def connect() -> None:
        instance_update(instance=world.instance, actor=olivia, enabled=False)
        fn = function_create(
            workspace=world.acme,
            name="Eraser",
            actor=olivia,
            code=ON_DELETE,
            settings_schema=SCHEMA,
        )
        instance_create(
            function=fn,
            source=world.source,
            name="Eraser (prod)",
            settings={"apiKey": SECRET_API_KEY, "region": recorder_url},
            actor=olivia,
        )

    await sync_to_async(connect)()
    sam = await sync_to_async(api)(world, "sam")
    response = await sync_to_async(sam)(
        f"{A}/sources/{world.source.pk}/delete-user/", {"userId": "u-42"}
    )
    assert response.status_code == 200, response.content
    event = response.json()["event"]

    summary = await delivery_round(worker_id="deleter", pool=pool)

    assert summary.outcomes == {"success": 1}
    [received] = JsonRecorder.received
    assert received["type"] == "delete" and received["userId"] == "u-42"
    assert received["messageId"] == event["messageId"] and received["receivedAt"]
    assert received["context"]["library"] == {"name": "unknown", "version": "unknown"}
    job = await DeliveryJob.objects.select_related("event").aget()
    assert job.state == JobState.DELIVERED and job.event.type == EventType.DELETE
    row = await AuditEvent.objects.filter(action="source.user_deleted").aget()
    assert row.changes["userId"] == "u-42" and row.changes["destinations"] == 1


BAD_BODIES = [
    ({}, 'Send the "userId"'),
    ({"userId": ""}, 'Send the "userId"'),
    ({"userId": "   "}, 'Send the "userId"'),
    ({"userId": ["u-1"]}, 'Send the "userId"'),
    ({"userId": True}, 'Send the "userId"'),
    ({"userId": "x" * 256}, "longer than 255"),
    ({"userId": "a\u0000b"}, "cannot be used"),
    (["u-1"], 'Send the "userId"'),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_bad_input_is_a_400_naming_user_id_and_stores_nothing(
    world: World, body: Any, message: str
) -> None:
    post = api(world, "olivia")
    before = AuditEvent.objects.count()
    response = post(f"{A}/sources/{world.source.pk}/delete-user/", body)
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"]["userId"])
    assert not Event.objects.exists() and AuditEvent.objects.count() == before


def test_a_numeric_user_id_is_taken_as_text(world: World) -> None:
    response = api(world, "dana")(f"{A}/sources/{world.source.pk}/delete-user/", {"userId": 42})
    assert response.status_code == 200 and response.json()["event"]["userId"] == "42"
    assert DeliveryJob.objects.get().instance == world.instance


@pytest.mark.parametrize(("persona", "status"), [("rita", 403), ("adam", 403), ("gary", 404)])
def test_only_source_admins_delete_users(world: World, persona: str, status: int) -> None:
    response = api(world, persona)(f"{A}/sources/{world.source.pk}/delete-user/", {"userId": "u"})
    assert response.status_code == status
    assert not Event.objects.exists()


def test_senders_cannot_send_delete_events(world: World, post: Post) -> None:
    response = post("/v1/batch", {"batch": [track(), {"type": "delete", "userId": "u-1"}]})
    assert response.status_code == 400
    assert response.json()["message"].startswith('batch[1]: unknown type "delete"')


def test_the_sources_tab_form_deletes_a_user(world: World, login: Callable[[str], Client]) -> None:
    sam = login("sam")
    page = sam.get("/w/acme/catalog/?tab=sources").content.decode()
    action = f"/w/acme/sources/{world.source.pk}/delete-user/"
    assert f'action="{action}"' in page
    done = sam.post(action, {"userId": "u-7"}, follow=True)
    assert "Deletion of user u-7 sent to the destinations of Website." in done.content.decode()
    assert Event.objects.get().payload["userId"] == "u-7"
    refused = sam.post(action, {"userId": " "}, follow=True)
    assert 'Send the "userId"' in refused.content.decode().replace("&quot;", '"')
    assert Event.objects.count() == 1
    assert (
        f'action="{action}"'
        not in login("rita").get("/w/acme/catalog/?tab=sources").content.decode()
    )
    assert login("rita").post(action, {"userId": "u-8"}).status_code == 403
