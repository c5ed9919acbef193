"""The instance pages, as each persona sees them."""

from __future__ import annotations

import json

import pytest

from catalog.services import instance_create
from tests.conftest import SECRET_API_KEY, World


def _overview(world: World) -> str:
    return f"/w/acme/instances/{world.instance.pk}/"


def test_overview_shows_the_instance_with_its_secret_masked(world: World, login) -> None:
    response = login("olivia").get(_overview(world))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Webhook (prod)" in page and "Website" in page
    assert "region" in page and "eu" in page
    assert SECRET_API_KEY not in page


@pytest.mark.parametrize("persona", ["adam", "sally", "rita", "ruth", "sam"])
def test_members_who_may_see_the_function_or_sources_see_the_overview(
    world: World, login, persona: str
) -> None:
    assert login(persona).get(_overview(world)).status_code == 200


def test_instance_of_a_function_outside_the_subset_is_hidden(world: World, login) -> None:
    mailer = instance_create(
        function=world.other_function,
        source=world.source,
        name="Mailer (prod)",
        settings={},
        actor=world.users["olivia"],
    )
    assert login("sally").get(f"/w/acme/instances/{mailer.pk}/").status_code == 404


def test_foreign_members_get_404(world: World, login) -> None:
    assert login("gary").get(_overview(world)).status_code == 404
    foreign = f"/w/acme/instances/{world.foreign_instance.pk}/"
    assert login("olivia").get(foreign).status_code == 404


def test_overview_shows_the_batch_settings(world: World, login) -> None:
    from pipeline.services import instance_batching_set

    instance_batching_set(
        instance=world.instance, actor=world.users["olivia"], size=150, wait_ms=2500
    )
    page = login("rita").get(_overview(world)).content.decode()
    assert "<strong data-batch-size>150</strong>" in page
    assert "<strong data-batch-wait>2500 ms</strong>" in page


def _config(response) -> dict:
    import json
    import re

    found = re.search(
        r'<script id="instance-form-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, "the page carries its configuration"
    return json.loads(found.group(1))


def test_connect_page_lists_the_deployable_functions_and_the_sources(world: World, login) -> None:
    response = login("dana").get(f"/w/acme/instances/new/?source={world.source.pk}")
    assert response.status_code == 200
    config = _config(response)
    assert config["mode"] == "new" and config["source"] == str(world.source.pk)
    assert [f["name"] for f in config["functions"]] == ["Mailer", "Webhook"]
    assert [s["name"] for s in config["sources"]] == ["Website"]
    webhook = next(f for f in config["functions"] if f["name"] == "Webhook")
    assert [s["name"] for s in webhook["settings_schema"]] == ["apiKey", "region"]


@pytest.mark.parametrize("persona", ["adam", "sally", "rita", "sam", "audrey"])
def test_connecting_needs_source_admin_and_functions_admin(
    world: World, login, persona: str
) -> None:
    assert login(persona).get("/w/acme/instances/new/").status_code == 403


def test_configure_page_keeps_secrets_masked(world: World, login) -> None:
    response = login("olivia").get(f"/w/acme/instances/{world.instance.pk}/configure/")
    assert response.status_code == 200
    assert SECRET_API_KEY not in response.content.decode()
    instance = _config(response)["instance"]
    assert instance["write_only"] == ["apiKey"]
    assert instance["settings"]["region"] == "eu"
    assert instance["settings"]["apiKey"] != SECRET_API_KEY


@pytest.mark.parametrize("persona", ["adam", "rita", "sam"])
def test_configuring_needs_the_right_to_change_the_destination(
    world: World, login, persona: str
) -> None:
    path = f"/w/acme/instances/{world.instance.pk}/configure/"
    assert login(persona).get(path).status_code == 403
    overview = login(persona).get(f"/w/acme/instances/{world.instance.pk}/").content.decode()
    assert 'id="configure-link"' not in overview


def _mailer_instance(world: World) -> int:
    return instance_create(
        function=world.other_function,
        source=world.source,
        name="Mailer (prod)",
        settings={},
        actor=world.users["olivia"],
    ).pk


def test_function_logs_tab_is_for_those_who_may_view_the_function(world: World, login) -> None:
    logs = f"/w/acme/instances/{world.instance.pk}/logs/"
    page = login("ruth").get(logs)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-socket="/ws{logs}"' in html and "build/pages/instance-logs." in html
    assert f'href="{logs}"' in login("ruth").get(_overview(world)).content.decode()
    mailer = _mailer_instance(world)
    sam = login("sam")
    assert "Function Logs" not in sam.get(f"/w/acme/instances/{mailer}/").content.decode()
    assert sam.get(f"/w/acme/instances/{mailer}/logs/").status_code == 403
    assert login("gary").get(logs).status_code == 404


def test_the_source_debugger_page_is_linked_from_the_sources_tab(world: World, login) -> None:
    debugger = f"/w/acme/sources/{world.source.pk}/debugger/"
    rita = login("rita")
    assert f'href="{debugger}"' in rita.get("/w/acme/catalog/?tab=sources").content.decode()
    html = rita.get(debugger).content.decode()
    assert f'data-socket="/ws{debugger}"' in html and "build/pages/source-debugger." in html
    assert login("gary").get(debugger).status_code == 404


def _filters_page(world: World) -> str:
    return f"/w/acme/instances/{world.instance.pk}/filters/"


def test_the_filters_tab_carries_the_saved_rules_and_the_api_routes(world: World, login) -> None:
    from pipeline.services import instance_filters_set

    rules = [{"action": "drop_fields", "fields": ["context.ip"]}]
    instance_filters_set(instance=world.instance, rules=rules, actor=world.users["olivia"])
    response = login("olivia").get(_filters_page(world))
    assert response.status_code == 200
    config = json.loads(_json_script(response.content.decode(), "filters-config"))
    assert config["rules"] == rules and config["canChange"] is True
    assert (
        config["previewUrl"]
        == f"/api/v1/workspaces/acme/instances/{world.instance.pk}/filters/preview/"
    )
    assert config["recentEventsUrl"].endswith(f"/sources/{world.source.pk}/recent-events/")
    page = response.content.decode()
    assert 'id="save-filters"' in page and "data-readonly" not in page
    # The tab strip links the page, marked current.
    assert f'href="{_filters_page(world)}" class="tab active" aria-current="page"' in page


@pytest.mark.parametrize("persona", ["adam", "sally", "rita", "ruth", "sam"])
def test_members_who_may_not_change_the_instance_see_the_filters_read_only(
    world: World, login, persona: str
) -> None:
    response = login(persona).get(_filters_page(world))
    assert response.status_code == 200
    page = response.content.decode()
    assert "data-readonly" in page and 'id="save-filters"' not in page
    assert json.loads(_json_script(page, "filters-config"))["canChange"] is False


def test_the_filters_tab_is_hidden_from_those_who_may_not_see_the_instance(
    world: World, login
) -> None:
    assert login("audrey").get(_filters_page(world)).status_code == 404
    assert login("gary").get(_filters_page(world)).status_code == 404


def _json_script(page: str, element_id: str) -> str:
    start = page.index(f'<script id="{element_id}" type="application/json">')
    body = page[page.index(">", start) + 1 :]
    return body[: body.index("</script>")]


def test_the_overview_saves_batch_settings_with_one_audit_row(world: World, login) -> None:
    from audit.models import AuditEvent
    from pipeline.selectors import instance_batching_get

    client = login("dana")
    path = f"/w/acme/instances/{world.instance.pk}/batching/"
    response = client.post(path, {"size": "50", "wait_ms": "2500"}, follow=True)
    assert "Batch settings saved." in response.content.decode()
    settings = instance_batching_get(instance=world.instance)
    assert (settings.size, settings.wait_ms) == (50, 2500)
    assert AuditEvent.objects.filter(action="instance.batching_changed").count() == 1


@pytest.mark.parametrize(
    ("size", "wait_ms", "message"),
    [("401", "1000", "Batch size: Between 1 and 400"), ("ten", "1000", "Batch size: Give a whole")],
)
def test_bad_batch_settings_are_explained_and_nothing_changes(
    world: World, login, size: str, wait_ms: str, message: str
) -> None:
    from pipeline.selectors import instance_batching_get

    path = f"/w/acme/instances/{world.instance.pk}/batching/"
    response = login("olivia").post(path, {"size": size, "wait_ms": wait_ms}, follow=True)
    assert message in response.content.decode()
    assert instance_batching_get(instance=world.instance).size == 20


@pytest.mark.parametrize("persona", ["adam", "rita", "sam"])
def test_batch_settings_need_the_right_to_change_the_destination(
    world: World, login, persona: str
) -> None:
    path = f"/w/acme/instances/{world.instance.pk}/batching/"
    assert login(persona).post(path, {"size": "50", "wait_ms": "2500"}).status_code == 403
    page = login(persona).get(f"/w/acme/instances/{world.instance.pk}/").content.decode()
    assert 'id="batching-form"' not in page
