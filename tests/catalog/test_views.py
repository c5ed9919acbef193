"""Catalog pages: function and source lists per persona, creating functions and sources."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from audit.models import AuditEvent
from catalog.models import Function, Source
from tests.conftest import SECRET_API_KEY, World

Login = Callable[[str], Client]
EVERY_MEMBER = ["olivia", "adam", "sally", "rita", "ruth", "sam", "dana", "audrey"]


def audit_count() -> int:
    return AuditEvent.objects.count()


@pytest.mark.parametrize("persona", EVERY_MEMBER)
@pytest.mark.parametrize("tab", ["functions", "sources"])
def test_catalog_renders_for_every_member(
    world: World, login: Login, persona: str, tab: str
) -> None:
    response = login(persona).get(f"/w/acme/catalog/?tab={tab}")
    assert response.status_code == 200
    assert response.context["tab"] == tab
    assert SECRET_API_KEY.encode() not in response.content


def test_catalog_is_404_for_foreign_user(world: World, login: Login) -> None:
    assert login("gary").get("/w/acme/catalog/").status_code == 404
    assert login("gary").get("/w/acme/catalog/?tab=sources").status_code == 404


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("olivia", {"Webhook", "Mailer"}),
        ("adam", {"Webhook", "Mailer"}),
        ("rita", {"Webhook", "Mailer"}),
        ("sally", {"Webhook"}),
        ("ruth", {"Webhook"}),
        ("sam", set()),
        ("audrey", set()),
    ],
)
def test_functions_tab_lists_only_visible_functions(
    world: World, login: Login, persona: str, visible: set[str]
) -> None:
    response = login(persona).get("/w/acme/catalog/")
    assert {f.name for f in response.context["functions"]} == visible
    assert (b"Mailer" in response.content) is ("Mailer" in visible)
    assert b"Globex Hook" not in response.content


def test_foreign_owner_never_sees_acme_functions(world: World, login: Login) -> None:
    response = login("gary").get("/w/globex/catalog/")
    assert response.status_code == 200
    assert b"Globex Hook" in response.content
    assert b"Webhook<" not in response.content and b"Mailer" not in response.content


def test_functions_tab_shows_latest_version(world: World, login: Login) -> None:
    response = login("olivia").get("/w/acme/catalog/")
    assert [f.name for f in response.context["functions"]] == ["Mailer", "Webhook"]
    webhook = next(f for f in response.context["functions"] if f.name == "Webhook")
    assert webhook.latest_version == 1
    assert b"v1" in response.content


@pytest.mark.parametrize(
    ("persona", "shown"), [("olivia", True), ("adam", True), ("sally", True), ("rita", False)]
)
def test_new_function_button_follows_role(
    world: World, login: Login, persona: str, shown: bool
) -> None:
    content = login(persona).get("/w/acme/catalog/").content
    assert (b'href="/w/acme/functions/new/"' in content) is shown


@pytest.mark.parametrize(("persona", "shown"), [("sam", True), ("olivia", True), ("adam", False)])
def test_write_keys_only_for_source_admins(
    world: World, login: Login, persona: str, shown: bool
) -> None:
    content = login(persona).get("/w/acme/catalog/?tab=sources").content
    assert b"Website" in content
    assert (world.source.write_key.encode() in content) is shown
    assert b"Globex App" not in content


# --- new function ------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["olivia", "adam", "sally", "dana"])
def test_function_new_chooser_renders_for_creators(
    world: World, login: Login, persona: str
) -> None:
    client = login(persona)
    chooser = client.get("/w/acme/functions/new/")
    assert chooser.status_code == 200
    assert b"Destination Function" in chooser.content
    form = client.get("/w/acme/functions/new/?kind=destination")
    assert b">Build<" in form.content and b'name="name"' in form.content


@pytest.mark.parametrize("persona", ["rita", "ruth", "sam", "audrey"])
def test_function_new_forbidden_without_admin_role(
    world: World, login: Login, persona: str
) -> None:
    client = login(persona)
    before = audit_count()
    assert client.get("/w/acme/functions/new/").status_code == 403
    assert client.post("/w/acme/functions/new/", {"name": "Nope"}).status_code == 403
    assert not Function.objects.filter(name="Nope").exists()
    assert audit_count() == before


def test_function_new_404_for_foreign_user(world: World, login: Login) -> None:
    client = login("gary")
    assert client.get("/w/acme/functions/new/").status_code == 404
    assert client.post("/w/acme/functions/new/", {"name": "Nope"}).status_code == 404
    assert not Function.objects.filter(name="Nope").exists()


def test_function_new_creates_with_template_and_redirects_to_editor(
    world: World, login: Login
) -> None:
    client = login("adam")
    before = audit_count()
    response = client.post("/w/acme/functions/new/", {"name": "Slack", "description": "Ping"})
    function = Function.objects.get(workspace=world.acme, name="Slack")
    assert response.status_code == 302
    assert response["Location"] == f"/w/acme/functions/{function.pk}/"
    assert "async function onTrack" in function.code
    assert function.description == "Ping"
    assert function.versions.count() == 1
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "function.created"


def test_scoped_admin_can_open_the_function_they_created(world: World, login: Login) -> None:
    client = login("sally")
    client.post("/w/acme/functions/new/", {"name": "Sallys"})
    function = Function.objects.get(name="Sallys")
    assert client.get(f"/w/acme/functions/{function.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("name", "message"), [("", b"This field is required"), ("webhook", b"already exists")]
)
def test_function_new_bad_input_changes_nothing(
    world: World, login: Login, name: str, message: bytes
) -> None:
    client = login("olivia")
    before, count = audit_count(), Function.objects.count()
    response = client.post("/w/acme/functions/new/", {"name": name})
    assert response.status_code == 400
    assert message in response.content
    assert (audit_count(), Function.objects.count()) == (before, count)


# --- sources -----------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["sam", "dana", "olivia"])
def test_source_create_by_source_admin(world: World, login: Login, persona: str) -> None:
    client = login(persona)
    before = audit_count()
    response = client.post("/w/acme/sources/new/", {"name": "Mobile"})
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/catalog/?tab=sources"
    assert Source.objects.filter(workspace=world.acme, name="Mobile").exists()
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "source.created"


@pytest.mark.parametrize("persona", ["adam", "sally", "rita", "ruth", "audrey"])
def test_source_routes_forbidden_without_source_admin(
    world: World, login: Login, persona: str
) -> None:
    client = login(persona)
    before = audit_count()
    assert client.post("/w/acme/sources/new/", {"name": "Mobile"}).status_code == 403
    assert client.post(f"/w/acme/sources/{world.source.pk}/delete/").status_code == 403
    assert not Source.objects.filter(name="Mobile").exists()
    assert Source.objects.filter(pk=world.source.pk).exists()
    assert audit_count() == before


def test_source_routes_404_for_foreign_user(world: World, login: Login) -> None:
    client = login("gary")
    before = audit_count()
    assert client.post("/w/acme/sources/new/", {"name": "Mobile"}).status_code == 404
    assert client.post(f"/w/acme/sources/{world.source.pk}/delete/").status_code == 404
    assert client.post(f"/w/globex/sources/{world.source.pk}/delete/").status_code == 404
    assert Source.objects.filter(pk=world.source.pk).exists()
    assert audit_count() == before


@pytest.mark.parametrize(("name", "message"), [("", b"required"), ("website", b"already exists")])
def test_source_create_bad_input_changes_nothing(
    world: World, login: Login, name: str, message: bytes
) -> None:
    client = login("sam")
    before, count = audit_count(), Source.objects.count()
    response = client.post("/w/acme/sources/new/", {"name": name})
    assert response.status_code == 400
    assert message in response.content
    assert (audit_count(), Source.objects.count()) == (before, count)


def test_source_delete_writes_one_audit_row(world: World, login: Login) -> None:
    client = login("dana")
    before = audit_count()
    response = client.post(f"/w/acme/sources/{world.source.pk}/delete/")
    assert response.status_code == 302
    assert not Source.objects.filter(pk=world.source.pk).exists()
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "source.deleted"


def test_deleting_a_source_with_live_destinations_needs_function_rights(
    world: World, login: Login
) -> None:
    client = login("sam")
    before = audit_count()
    response = client.post(f"/w/acme/sources/{world.source.pk}/delete/")
    assert response.status_code == 403
    assert b"needs Functions Admin" in response.content
    assert Source.objects.filter(pk=world.source.pk).exists()
    assert audit_count() == before
    empty = Source.objects.create(workspace=world.acme, name="Empty", write_key="wk-empty")
    assert login("sam").post(f"/w/acme/sources/{empty.pk}/delete/").status_code == 302
    assert not Source.objects.filter(pk=empty.pk).exists()


def test_source_routes_are_post_only(world: World, login: Login) -> None:
    client = login("sam")
    assert client.get("/w/acme/sources/new/").status_code == 405
    assert client.get(f"/w/acme/sources/{world.source.pk}/delete/").status_code == 405
    assert Source.objects.filter(pk=world.source.pk).exists()
