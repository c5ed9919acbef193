"""Write keys: shown to who manages sources, rotated from the API or the Sources tab; a
rotated key no longer sends events."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEvent
from catalog.models import Source
from catalog.services import source_write_key_rotate
from pipeline.models import Event
from tests.conftest import World
from tests.pipeline.conftest import Post, track

A = "/api/v1/workspaces/acme"


def _rotate_path(world: World) -> str:
    return f"{A}/sources/{world.source.pk}/rotate-write-key/"


def test_rotating_refuses_the_old_key_from_then_on(world: World, post: Post, api) -> None:
    old_key = world.source.write_key
    assert post("/v1/track", track(), key=old_key).status_code == 200
    before = AuditEvent.objects.count()
    response = api("sam").post(_rotate_path(world))
    assert response.status_code == 200
    new_key = response.json()["write_key"]
    assert new_key and new_key != old_key
    assert Source.objects.get(pk=world.source.pk).write_key == new_key
    assert post("/v1/track", track(), key=old_key).status_code == 401
    assert post("/v1/t", {**track(), "writeKey": old_key}, key=None).status_code == 401
    assert post("/v1/track", track(), key=new_key).status_code == 200
    assert Event.objects.count() == 2
    (row,) = AuditEvent.objects.all()[: AuditEvent.objects.count() - before]
    assert row.action == "source.write_key_rotated" and row.actor == world.users["sam"]
    assert row.target_id == str(world.source.pk)
    assert old_key not in str(row.changes) and new_key not in str(row.changes)
    assert row.changes["write_key"]["to"].endswith(new_key[-4:])


@pytest.mark.parametrize(("persona", "status"), [("olivia", 200), ("dana", 200), ("sam", 200),
                                                 ("adam", 403), ("rita", 403), ("audrey", 403),
                                                 ("gary", 404)])  # fmt: skip
def test_who_may_rotate(world: World, api, persona: str, status: int) -> None:
    response = api(persona).post(_rotate_path(world))
    assert response.status_code == status
    rotated = Source.objects.get(pk=world.source.pk).write_key != world.source.write_key
    assert rotated is (status == 200)
    if status != 200:
        assert world.source.write_key not in response.content.decode()


def test_the_key_is_shown_to_source_admins_and_owners_only(world: World, api) -> None:
    for persona, shown in [("olivia", True), ("sam", True), ("adam", False), ("audrey", False)]:
        body = api(persona).get(f"{A}/sources/{world.source.pk}/").json()
        assert (body["write_key"] == world.source.write_key) is shown, persona
        assert shown or body["write_key"] is None


def test_the_sources_tab_rotates_with_one_audit_row(world: World, login) -> None:
    page: Client = login("sam")
    listing = page.get("/w/acme/catalog/?tab=sources").content.decode()
    assert world.source.write_key in listing and "Rotate key" in listing
    before = AuditEvent.objects.count()
    response = page.post(f"/w/acme/sources/{world.source.pk}/rotate-write-key/")
    assert response.status_code == 302
    new_key = Source.objects.get(pk=world.source.pk).write_key
    assert new_key != world.source.write_key
    assert AuditEvent.objects.count() == before + 1
    assert new_key in page.get(response["Location"]).content.decode()
    # Who does not manage sources sees no key and no button, and cannot post.
    reader: Client = login("rita")
    assert "Rotate key" not in reader.get("/w/acme/catalog/?tab=sources").content.decode()
    refused = reader.post(f"/w/acme/sources/{world.source.pk}/rotate-write-key/")
    assert refused.status_code == 403
    assert (
        login("gary").post(f"/w/acme/sources/{world.source.pk}/rotate-write-key/").status_code
        == 404
    )
    assert Source.objects.get(pk=world.source.pk).write_key == new_key


def test_the_service_locks_and_audits_once(world: World) -> None:
    before = AuditEvent.objects.count()
    source = source_write_key_rotate(source=world.source, actor=world.users["olivia"])
    assert source.write_key != world.source.write_key
    assert len(source.write_key) >= 32
    assert AuditEvent.objects.count() == before + 1
