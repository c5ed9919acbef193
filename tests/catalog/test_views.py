"""Catalog pages: function and source lists per persona, creating functions and sources."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import Function, Source
from catalog.selectors import HEALTH_DOTS_MAX, INSTANCE_HEALTH_STATES
from catalog.services import (
    function_create,
    function_update,
    instance_create,
    instances_health_set,
)
from tests.conftest import SECRET_API_KEY, World, make_user

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
    assert {row.function.name for row in response.context["function_rows"]} == visible
    assert (b"Mailer" in response.content) is ("Mailer" in visible)
    assert b"Globex Hook" not in response.content


def test_foreign_owner_never_sees_acme_functions(world: World, login: Login) -> None:
    response = login("gary").get("/w/globex/catalog/")
    assert response.status_code == 200
    assert b"Globex Hook" in response.content
    assert b"Webhook<" not in response.content and b"Mailer" not in response.content


def test_functions_tab_shows_latest_version(world: World, login: Login) -> None:
    response = login("olivia").get("/w/acme/catalog/")
    rows = response.context["function_rows"]
    assert [row.function.name for row in rows] == ["Mailer", "Webhook"]
    webhook = next(row for row in rows if row.function.name == "Webhook")
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


def _row(response, name: str):
    return next(row for row in response.context["function_rows"] if row.function.name == name)


def test_functions_tab_shows_who_edited_last_and_when(world: World, login: Login) -> None:
    function_update(function=world.function, description="Posts events", actor=world.users["adam"])
    response = login("rita").get("/w/acme/catalog/")
    webhook = _row(response, "Webhook")
    assert webhook.function.updated_by.get_username() == "adam"
    content = response.content.decode()
    assert "Posts events" in content
    assert 'data-testid="edited-by">adam<' in content
    assert "ago" in content


def test_functions_tab_counts_destinations_and_their_health(world: World, login: Login) -> None:
    olivia = world.users["olivia"]
    for name, enabled in [("Off one", False), ("Off two", False), ("On two", True)]:
        instance_create(
            function=world.function, source=world.source, name=name, enabled=enabled,
            settings={"apiKey": "k"}, actor=olivia,
        )  # fmt: skip
    response = login("ruth").get("/w/acme/catalog/")
    webhook = _row(response, "Webhook")
    assert webhook.instance_count == 4
    assert [(h.state, h.count) for h in webhook.health] == [("enabled", 2), ("disabled", 2)]
    content = response.content.decode()
    assert content.count('class="health-dot health-enabled"') == 2
    assert content.count('class="health-dot health-disabled"') == 2
    assert 'title="2 enabled, 2 disabled"' in content
    mailer = _row(login("olivia").get("/w/acme/catalog/"), "Mailer")
    assert (mailer.instance_count, mailer.health) == (0, [])


def test_health_dots_are_capped_with_a_count(world: World, login: Login) -> None:
    for i in range(HEALTH_DOTS_MAX + 3):
        instance_create(
            function=world.other_function, source=world.source, name=f"Many {i}",
            actor=world.users["olivia"],
        )  # fmt: skip
    response = login("olivia").get("/w/acme/catalog/")
    mailer = _row(response, "Mailer")
    (enabled,) = mailer.health
    assert (enabled.count, len(enabled.dots), enabled.overflow) == (
        HEALTH_DOTS_MAX + 3,
        HEALTH_DOTS_MAX,
        3,
    )
    assert b"+3" in response.content


def test_instance_health_states_put_failing_first() -> None:
    assert [h.state for h in INSTANCE_HEALTH_STATES] == ["failing", "enabled", "disabled"]


def test_a_failing_instance_shows_a_failing_dot(world: World, login: Login) -> None:
    olivia = world.users["olivia"]
    off = instance_create(
        function=world.function, source=world.source, name="Off", enabled=False,
        settings={"apiKey": "k"}, actor=olivia,
    )  # fmt: skip
    instances_health_set(failing=[world.instance.pk, off.pk], healthy=[], now=timezone.now())

    response = login("ruth").get("/w/acme/catalog/")

    webhook = _row(response, "Webhook")
    # A disabled instance is disabled, whatever its last deliveries did.
    assert [(h.state, h.count) for h in webhook.health] == [("failing", 1), ("disabled", 1)]
    assert response.content.decode().count('class="health-dot health-failing"') == 1


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("mail", ["Mailer"]),
        ("WEBHOOK", ["Webhook"]),
        ("  hook ", ["Webhook"]),
        ("slack pings", ["Webhook"]),  # found in the description
        ("", ["Mailer", "Webhook"]),
    ],
)
def test_functions_tab_search_filters_on_the_server(
    world: World, login: Login, query: str, names: list[str]
) -> None:
    function_update(
        function=world.function, description="Sends Slack pings", actor=world.users["olivia"]
    )
    response = login("olivia").get("/w/acme/catalog/", {"tab": "functions", "q": query})
    assert [row.function.name for row in response.context["function_rows"]] == names
    assert response.context["q"] == query.strip()


def test_search_never_widens_what_a_member_sees(world: World, login: Login) -> None:
    response = login("sally").get("/w/acme/catalog/", {"q": "Mailer"})
    assert response.context["function_rows"] == []
    assert f"/functions/{world.other_function.pk}/".encode() not in response.content


def test_search_form_works_without_javascript_and_keeps_the_tab(world: World, login: Login) -> None:
    content = login("olivia").get("/w/acme/catalog/?q=web").content.decode()
    assert '<form method="get" role="search"' in content
    assert '<input type="hidden" name="tab" value="functions">' in content
    assert 'name="q" value="web"' in content
    sources = login("olivia").get("/w/acme/catalog/?tab=sources&q=web").content.decode()
    assert 'name="q"' not in sources


def test_a_search_without_match_says_so(world: World, login: Login) -> None:
    response = login("olivia").get("/w/acme/catalog/", {"q": "<nothing>"})
    content = response.content.decode()
    assert 'data-testid="no-match"' in content
    assert "&lt;nothing&gt;" in content and "<nothing>" not in content
    assert '<a href="?tab=functions" data-testid="clear-search">' in content
    assert 'data-testid="empty-functions"' not in content


def test_an_empty_catalog_invites_to_build_the_first_function(world: World, login: Login) -> None:
    from workspaces.services import workspace_create

    workspace_create(name="Initech", owner=make_user("peter"))
    content = login("peter").get("/w/initech/catalog/").content.decode()
    assert 'data-testid="empty-functions"' in content
    assert "Build your first destination function" in content
    assert content.count('href="/w/initech/functions/new/"') == 2  # page head and empty state
    # Someone who may not create one is told so, without a button.
    sam = login("sam").get("/w/acme/catalog/").content.decode()
    assert 'data-testid="empty-functions"' in sam
    assert 'href="/w/acme/functions/new/"' not in sam


def test_functions_tab_needs_no_query_per_function(
    world: World, login: Login, django_assert_max_num_queries
) -> None:
    client = login("rita")
    with CaptureQueriesContext(connection) as baseline:
        assert client.get("/w/acme/catalog/").status_code == 200
    olivia = world.users["olivia"]
    for i in range(6):
        function = function_create(workspace=world.acme, name=f"Extra {i}", actor=olivia)
        function_update(function=function, code=f"// v2 {i}", actor=world.users["adam"])
        for j in range(2):
            instance_create(
                function=function, source=world.source, name=f"Extra {i}.{j}",
                enabled=bool(j), actor=olivia,
            )  # fmt: skip
    with django_assert_max_num_queries(len(baseline)):
        response = client.get("/w/acme/catalog/")
    assert len(response.context["function_rows"]) == 8


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
def test_function_new_chooser_leads_creators_to_the_gallery(
    world: World, login: Login, persona: str
) -> None:
    chooser = login(persona).get("/w/acme/functions/new/")
    assert chooser.status_code == 200
    assert b"Destination Function" in chooser.content
    assert b'href="/w/acme/functions/new/build/"' in chooser.content


@pytest.mark.parametrize("persona", ["rita", "ruth", "sam", "audrey"])
def test_function_new_forbidden_without_admin_role(
    world: World, login: Login, persona: str
) -> None:
    assert login(persona).get("/w/acme/functions/new/").status_code == 403


def test_function_new_404_for_foreign_user(world: World, login: Login) -> None:
    assert login("gary").get("/w/acme/functions/new/").status_code == 404


def test_function_new_refuses_posts(world: World, login: Login) -> None:
    """Creating happens through the Config API from the Build page, never by a form post."""
    client = login("olivia")
    before, count = audit_count(), Function.objects.count()
    assert client.post("/w/acme/functions/new/", {"name": "Nope"}).status_code == 405
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
