"""The function editor page: who sees what, Save, Restore and Delete."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from audit.models import AuditEvent
from catalog.models import Function
from catalog.services import function_update
from tests.conftest import SECRET_API_KEY, World

Login = Callable[[str], Client]
CAN_SEE_WEBHOOK = ["olivia", "adam", "sally", "rita", "ruth", "dana"]
CAN_EDIT_WEBHOOK = ["olivia", "adam", "sally", "dana"]
NEW_CODE = "async function onTrack(event, settings) {\n  return 'saved';\n}\n"


def audit_count() -> int:
    return AuditEvent.objects.count()


def editor_url(function: Function, suffix: str = "") -> str:
    return f"/w/{function.workspace.slug}/functions/{function.pk}/{suffix}"


@pytest.mark.parametrize("persona", CAN_SEE_WEBHOOK)
def test_editor_renders_code_for_viewers(world: World, login: Login, persona: str) -> None:
    response = login(persona).get(editor_url(world.function))
    assert response.status_code == 200
    assert b'<textarea id="code"' in response.content
    assert b"async function onTrack" in response.content
    assert b"Webhook (prod)" in response.content


@pytest.mark.parametrize("persona", [*CAN_SEE_WEBHOOK, "sam", "audrey"])
def test_editor_never_shows_encrypted_plaintext(world: World, login: Login, persona: str) -> None:
    response = login(persona).get(editor_url(world.function))
    assert SECRET_API_KEY.encode() not in response.content
    if response.status_code == 200:
        assert "••••WXYZ".encode() in response.content


@pytest.mark.parametrize("persona", ["sally", "ruth"])
def test_function_outside_subset_is_404(world: World, login: Login, persona: str) -> None:
    client = login(persona)
    before = audit_count()
    assert client.get(editor_url(world.other_function)).status_code == 404
    assert client.post(editor_url(world.other_function, "save/"), {"code": "x"}).status_code == 404
    assert client.post(editor_url(world.other_function, "versions/1/restore/")).status_code == 404
    assert client.post(editor_url(world.other_function, "delete/")).status_code == 404
    assert Function.objects.filter(pk=world.other_function.pk).exists()
    assert audit_count() == before


@pytest.mark.parametrize("persona", ["sam", "audrey"])
def test_members_without_function_roles_get_404(world: World, login: Login, persona: str) -> None:
    assert login(persona).get(editor_url(world.function)).status_code == 404


def test_foreign_function_and_foreign_user_are_404(world: World, login: Login) -> None:
    gary, olivia = login("gary"), login("olivia")
    before = audit_count()
    assert gary.get(editor_url(world.function)).status_code == 404
    assert gary.post(editor_url(world.function, "save/"), {"code": "x"}).status_code == 404
    assert gary.post(editor_url(world.function, "delete/")).status_code == 404
    # acme's owner cannot reach globex's function, not even through acme's address.
    assert olivia.get(editor_url(world.foreign_function)).status_code == 404
    assert olivia.get(f"/w/acme/functions/{world.foreign_function.pk}/").status_code == 404
    assert olivia.post(f"/w/acme/functions/{world.foreign_function.pk}/delete/").status_code == 404
    assert Function.objects.count() == 3
    assert audit_count() == before


@pytest.mark.parametrize("persona", ["rita", "ruth"])
def test_read_only_members_see_no_buttons_and_get_403(
    world: World, login: Login, persona: str
) -> None:
    function_update(function=world.function, code=NEW_CODE, actor=world.users["olivia"])
    client = login(persona)
    page = client.get(editor_url(world.function)).content
    assert b'id="save-button"' not in page
    assert b">Restore<" not in page
    assert b"Delete function" not in page
    assert b" readonly" in page
    before = audit_count()
    assert client.post(editor_url(world.function, "save/"), {"code": "x"}).status_code == 403
    assert client.post(editor_url(world.function, "versions/1/restore/")).status_code == 403
    assert client.post(editor_url(world.function, "delete/")).status_code == 403
    world.function.refresh_from_db()
    assert world.function.code == NEW_CODE
    assert audit_count() == before


@pytest.mark.parametrize("persona", CAN_EDIT_WEBHOOK)
def test_editors_see_save_restore_delete(world: World, login: Login, persona: str) -> None:
    function_update(function=world.function, code=NEW_CODE, actor=world.users["olivia"])
    page = login(persona).get(editor_url(world.function)).content
    assert b'id="save-button"' in page and b">Restore<" in page and b"Delete function" in page


def test_versions_show_latest_and_deployed_badges(world: World, login: Login) -> None:
    function_update(function=world.function, code=NEW_CODE, actor=world.users["olivia"])
    response = login("olivia").get(editor_url(world.function))
    states = {version.number: badges for version, badges in response.context["versions"]}
    assert states == {2: ["LATEST"], 1: ["DEPLOYED"]}
    assert b"LATEST" in response.content and b"DEPLOYED" in response.content


@pytest.mark.parametrize("persona", CAN_EDIT_WEBHOOK)
def test_save_creates_a_version_and_one_audit_row(world: World, login: Login, persona: str) -> None:
    client = login(persona)
    before = audit_count()
    response = client.post(editor_url(world.function, "save/"), {"code": NEW_CODE})
    assert response.status_code == 302
    world.function.refresh_from_db()
    assert world.function.code == NEW_CODE
    assert world.function.versions.count() == 2
    assert len(world.function.settings_schema) == 2  # left out: settings unchanged
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "function.saved"


def test_save_with_settings_schema(world: World, login: Login) -> None:
    client = login("olivia")
    schema = [{"label": "Endpoint URL", "type": "string", "required": True}]
    data = {"code": world.function.code, "settings_schema": json.dumps(schema)}
    assert client.post(editor_url(world.function, "save/"), data).status_code == 302
    world.function.refresh_from_db()
    assert [s["name"] for s in world.function.settings_schema] == ["endpointUrl"]


def test_save_without_changes_writes_nothing(world: World, login: Login) -> None:
    client = login("olivia")
    before = audit_count()
    response = client.post(editor_url(world.function, "save/"), {"code": world.function.code})
    assert response.status_code == 302
    assert world.function.versions.count() == 1
    assert audit_count() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": NEW_CODE, "settings_schema": "[{"}, b"Not valid JSON"),
        ({"code": NEW_CODE, "settings_schema": '[{"label": ""}]'}, b"label is required"),
        ({"code": NEW_CODE, "settings_schema": '{"a": 1}'}, b"Must be a list of settings"),
        ({"code": "x" * (513 * 1024)}, b"larger than 512 KB"),
        ({}, b"This field is required"),
    ],
)
def test_save_bad_input_shows_error_and_changes_nothing(
    world: World, login: Login, data: dict[str, str], message: bytes
) -> None:
    client = login("olivia")
    before, code = audit_count(), world.function.code
    response = client.post(editor_url(world.function, "save/"), data)
    assert response.status_code == 400
    assert message in response.content
    assert SECRET_API_KEY.encode() not in response.content
    world.function.refresh_from_db()
    assert world.function.code == code
    assert world.function.versions.count() == 1
    assert audit_count() == before


def test_restore_copies_version_as_latest(world: World, login: Login) -> None:
    original = world.function.code
    function_update(function=world.function, code=NEW_CODE, actor=world.users["olivia"])
    client = login("adam")
    before = audit_count()
    response = client.post(editor_url(world.function, "versions/1/restore/"))
    assert response.status_code == 302
    world.function.refresh_from_db()
    assert world.function.code == original
    latest = world.function.versions.first()
    assert (latest.number, latest.restored_from) == (3, 1)
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "function.restored"


def test_restore_of_missing_version_is_404(world: World, login: Login) -> None:
    client = login("olivia")
    before = audit_count()
    assert client.post(editor_url(world.function, "versions/99/restore/")).status_code == 404
    assert audit_count() == before


def test_delete_removes_function_with_one_audit_row(world: World, login: Login) -> None:
    client = login("adam")
    before = audit_count()
    response = client.post(editor_url(world.other_function, "delete/"))
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/catalog/"
    assert not Function.objects.filter(pk=world.other_function.pk).exists()
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "function.deleted"


def test_deleting_a_function_with_live_destinations_needs_source_admin(
    world: World, login: Login
) -> None:
    client = login("adam")
    before = audit_count()
    response = client.post(editor_url(world.function, "delete/"))
    assert response.status_code == 403
    assert b"needs Functions Admin and Source Admin" in response.content
    assert Function.objects.filter(pk=world.function.pk).exists()
    assert audit_count() == before
    assert login("dana").post(editor_url(world.function, "delete/")).status_code == 302
    assert not Function.objects.filter(pk=world.function.pk).exists()


def test_editor_post_routes_reject_get(world: World, login: Login) -> None:
    client = login("olivia")
    assert client.get(editor_url(world.function, "save/")).status_code == 405
    assert client.get(editor_url(world.function, "versions/1/restore/")).status_code == 405
    assert client.get(editor_url(world.function, "delete/")).status_code == 405
    assert Function.objects.filter(pk=world.function.pk).exists()


def test_deeply_nested_settings_schema_is_a_form_error(world: World, login: Login) -> None:
    client = login("olivia")
    before = audit_count()
    response = client.post(
        editor_url(world.function, "save/"),
        {"code": world.function.code, "settings_schema": "[" * 5000 + "]" * 5000},
    )
    assert response.status_code == 400
    assert b"Not valid JSON" in response.content
    assert audit_count() == before
