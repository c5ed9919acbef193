"""The editor pages: who sees what (page config flags and controls), the template gallery,
the unsaved Build page that writes nothing, and Delete (the one form post left)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from catalog.function_templates import template_list
from catalog.models import Function, FunctionVersion
from catalog.services import function_deploy, function_update
from editor import services as editor_services
from tests.conftest import SECRET_API_KEY, World

Login = Callable[[str], Client]
CAN_SEE_WEBHOOK = ["olivia", "adam", "sally", "rita", "ruth", "dana"]
CAN_EDIT_WEBHOOK = ["olivia", "adam", "sally", "dana"]
READ_ONLY_WEBHOOK = ["rita", "ruth"]
CAN_DEPLOY_WEBHOOK = ["olivia", "dana"]
NEW_CODE = "async function onTrack(event, settings) {\n  return 'saved';\n}\n"
# Controls a read-only member must not get (the server refuses the actions anyway).
EDIT_CONTROLS = [
    b'id="save-button"',
    b'id="save-deploy-button"',
    b'id="delete-button"',
    b'id="add-setting-button"',
    b'id="templates-button"',
    b'id="setting-dialog"',
]
CONFIG = re.compile(rb'<script id="editor-config" type="application/json">(.*?)</script>', re.S)


def audit_count() -> int:
    return AuditEvent.objects.count()


def editor_url(function: Function, suffix: str = "") -> str:
    return f"/w/{function.workspace.slug}/functions/{function.pk}/{suffix}"


BUILD_URL = "/w/acme/functions/new/build/"


def page_config(content: bytes) -> dict[str, Any]:
    match = CONFIG.search(content)
    assert match, "the page has no #editor-config"
    return json.loads(match.group(1))


# ---------------------------------------------------------------- the editor of a function


@pytest.mark.parametrize("persona", CAN_SEE_WEBHOOK)
def test_editor_renders_config_for_viewers(world: World, login: Login, persona: str) -> None:
    response = login(persona).get(editor_url(world.function))
    assert response.status_code == 200
    config = page_config(response.content)
    assert config["mode"] == "edit"
    assert config["workspace"] == "acme"
    assert config["user"] == persona
    function = config["function"]
    assert function["id"] == world.function.pk
    assert function["name"] == "Webhook"
    assert function["latest_version"] == 1
    assert "async function onTrack" in function["code"]
    assert [s["name"] for s in function["settings_schema"]] == ["apiKey", "region"]
    assert [i["name"] for i in config["instances"]] == ["Webhook (prod)"]
    assert config["instances"][0] == {
        "id": world.instance.pk,
        "name": "Webhook (prod)",
        "source": world.source.pk,
        "source_name": "Website",
        "enabled": True,
        "deployed_version": 1,
        "previous_version": None,
    }
    assert config["sources"] == [{"id": world.source.pk, "name": "Website"}]
    assert set(config["sample_events"]) >= {"track", "identify", "page", "group"}
    assert config["templates"][0]["slug"] == "default"
    # The page loads the bundle through the static files (hashed names).
    assert re.search(
        rb'<script type="module" src="/static/build/pages/editor\.[0-9a-f]+\.js"', response.content
    )
    assert re.search(rb'href="/static/build/pages/editor\.[0-9a-f]+\.css"', response.content)


def test_editor_config_urls(world: World, login: Login) -> None:
    config = page_config(login("olivia").get(editor_url(world.function)).content)
    api = f"/api/v1/workspaces/acme/functions/{world.function.pk}/"
    assert config["urls"] | {"monaco_workers": None} == {
        "api_functions": "/api/v1/workspaces/acme/functions/",
        "api_function": api,
        "api_versions": f"{api}versions/",
        "api_deployments": f"{api}deployments/",
        "api_instances": "/api/v1/workspaces/acme/instances/",
        "api_preview": "/api/v1/workspaces/acme/functions/preview/",
        "api_test_settings": f"{api}test-settings/",
        "api_test_cases": f"{api}test-cases/",
        "source_events_base": "/api/v1/workspaces/acme/sources/",
        "ws_events": f"/ws/w/acme/functions/{world.function.pk}/events/",
        "ws_test_runs": "/ws/w/acme/test-runs/",
        "catalog": "/w/acme/catalog/",
        "build": BUILD_URL,
        "editor_base": "/w/acme/functions/",
        "monaco_workers": None,
    }
    workers = config["urls"]["monaco_workers"]
    assert set(workers) == {"editorWorkerService", "typescript", "json"}
    assert all(
        re.fullmatch(r"/static/build/workers/\w+\.[0-9a-f]+\.js", url) for url in workers.values()
    )


@pytest.mark.parametrize("persona", CAN_SEE_WEBHOOK)
def test_editor_flags_follow_roles(world: World, login: Login, persona: str) -> None:
    config = page_config(login(persona).get(editor_url(world.function)).content)
    can_edit = persona in CAN_EDIT_WEBHOOK
    assert config["can_edit"] is can_edit
    assert config["can_run"] is can_edit
    assert config["can_deploy"] is (persona in CAN_DEPLOY_WEBHOOK)


@pytest.mark.parametrize("persona", READ_ONLY_WEBHOOK)
def test_read_only_members_get_no_edit_controls(world: World, login: Login, persona: str) -> None:
    page = login(persona).get(editor_url(world.function)).content
    for control in EDIT_CONTROLS:
        assert control not in page, control
    assert b"data-readonly" in page
    assert b'id="read-only-badge"' in page


@pytest.mark.parametrize("persona", CAN_EDIT_WEBHOOK)
def test_editors_get_the_edit_controls(world: World, login: Login, persona: str) -> None:
    page = login(persona).get(editor_url(world.function)).content
    for control in EDIT_CONTROLS:
        assert control in page, control
    assert b"data-readonly" not in page


@pytest.mark.parametrize("persona", [*CAN_SEE_WEBHOOK, "sam", "audrey", "gary"])
def test_editor_never_shows_encrypted_plaintext(world: World, login: Login, persona: str) -> None:
    # Test values too: a secret test setting is shown masked, to its owner as to anyone.
    user = world.users[persona]
    if persona in CAN_EDIT_WEBHOOK:
        editor_services.test_settings_update(
            user=user, function=world.function, settings={"apiKey": SECRET_API_KEY}
        )
    response = login(persona).get(editor_url(world.function))
    assert SECRET_API_KEY.encode() not in response.content
    if persona in CAN_EDIT_WEBHOOK:
        config = page_config(response.content)
        assert config["test_settings"]["apiKey"] == "••••WXYZ"


def test_instance_previous_version_is_in_the_config(world: World, login: Login) -> None:
    olivia = world.users["olivia"]
    function_update(function=world.function, code=NEW_CODE, actor=olivia)
    version = world.function.versions.get(number=2)
    function_deploy(
        function=world.function, version=version, instances=[world.instance], actor=olivia
    )
    config = page_config(login("olivia").get(editor_url(world.function)).content)
    assert config["function"]["latest_version"] == 2
    assert config["instances"][0]["deployed_version"] == 2
    assert config["instances"][0]["previous_version"] == 1


def test_code_cannot_break_out_of_the_config_script(world: World, login: Login) -> None:
    code = "// </script><script>alert(1)</script>\nasync function onTrack() {}\n"
    function_update(function=world.function, code=code, actor=world.users["olivia"])
    response = login("olivia").get(editor_url(world.function))
    assert b"</script><script>alert(1)" not in response.content
    assert page_config(response.content)["function"]["code"] == code


@pytest.mark.parametrize("persona", ["sally", "ruth"])
def test_function_outside_subset_is_404(world: World, login: Login, persona: str) -> None:
    client = login(persona)
    before = audit_count()
    assert client.get(editor_url(world.other_function)).status_code == 404
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
    assert gary.post(editor_url(world.function, "delete/")).status_code == 404
    # acme's owner cannot reach globex's function, not even through acme's address.
    assert olivia.get(editor_url(world.foreign_function)).status_code == 404
    assert olivia.get(f"/w/acme/functions/{world.foreign_function.pk}/").status_code == 404
    assert olivia.post(f"/w/acme/functions/{world.foreign_function.pk}/delete/").status_code == 404
    assert Function.objects.count() == 3
    assert audit_count() == before


def test_old_form_save_and_restore_routes_are_gone(world: World, login: Login) -> None:
    # Saving and restoring go through the Config API; the page has one way of doing each.
    client = login("olivia")
    before = audit_count()
    assert client.post(editor_url(world.function, "save/"), {"code": NEW_CODE}).status_code == 404
    assert client.post(editor_url(world.function, "versions/1/restore/")).status_code == 404
    world.function.refresh_from_db()
    assert world.function.versions.count() == 1
    assert audit_count() == before


# ---------------------------------------------------------------- delete


@pytest.mark.parametrize("persona", READ_ONLY_WEBHOOK)
def test_read_only_members_cannot_delete(world: World, login: Login, persona: str) -> None:
    client = login(persona)
    before = audit_count()
    assert client.post(editor_url(world.function, "delete/")).status_code == 403
    assert Function.objects.filter(pk=world.function.pk).exists()
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


def test_delete_rejects_get(world: World, login: Login) -> None:
    assert login("olivia").get(editor_url(world.function, "delete/")).status_code == 405
    assert Function.objects.filter(pk=world.function.pk).exists()


# ---------------------------------------------------------------- the gallery and Build


def test_new_function_page_leads_to_the_gallery(world: World, login: Login) -> None:
    page = login("olivia").get("/w/acme/functions/new/").content
    assert f'href="{BUILD_URL}"'.encode() in page


@pytest.mark.parametrize("persona", ["olivia", "adam", "sally", "dana"])
def test_gallery_lists_every_template_default_first(
    world: World, login: Login, persona: str
) -> None:
    response = login(persona).get(BUILD_URL)
    assert response.status_code == 200
    page = response.content.decode()
    templates = template_list()
    assert len(templates) >= 2
    positions = [page.index(f'data-template="{t.slug}"') for t in templates]
    assert positions == sorted(positions)
    for template in templates:
        assert template.name in page
        assert f'href="?template={template.slug}"' in page
    assert page.count(">Build</a>") == len(templates)
    assert "editor-config" not in page


@pytest.mark.parametrize("persona", ["rita", "ruth", "sam", "audrey"])
def test_members_who_cannot_create_get_403_on_build(
    world: World, login: Login, persona: str
) -> None:
    client = login(persona)
    assert client.get(BUILD_URL).status_code == 403
    assert client.get(f"{BUILD_URL}?template=default").status_code == 403


def test_build_in_a_foreign_workspace_is_404(world: World, login: Login) -> None:
    assert login("gary").get(BUILD_URL).status_code == 404
    assert login("gary").get(f"{BUILD_URL}?template=default").status_code == 404


@pytest.mark.parametrize("template", [t.slug for t in template_list()])
def test_build_opens_the_editor_on_a_template_writing_nothing(
    world: World, login: Login, template: str
) -> None:
    client = login("sally")
    counts = (Function.objects.count(), FunctionVersion.objects.count(), audit_count())
    response = client.get(f"{BUILD_URL}?template={template}")
    assert response.status_code == 200
    assert (Function.objects.count(), FunctionVersion.objects.count(), audit_count()) == counts
    config = page_config(response.content)
    assert config["mode"] == "new"
    assert config["function"] is None
    assert config["template"] == template
    assert config["instances"] == [] and config["test_settings"] == {}
    assert (config["can_edit"], config["can_run"], config["can_deploy"]) == (True, True, False)
    chosen = next(t for t in config["templates"] if t["slug"] == template)
    assert chosen["code"] and isinstance(chosen["settings_schema"], list)
    assert config["urls"]["api_function"] is None and config["urls"]["ws_events"] is None
    assert config["urls"]["api_functions"] == "/api/v1/workspaces/acme/functions/"
    page = response.content
    assert b'id="configure-button"' in page and b'id="configure-dialog"' in page
    assert b'id="save-button"' not in page and b'id="delete-button"' not in page
    assert b'id="tab-versions"' not in page


def test_build_with_an_unknown_template_is_404(world: World, login: Login) -> None:
    assert login("olivia").get(f"{BUILD_URL}?template=no-such").status_code == 404
