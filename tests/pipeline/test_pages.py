"""The instance pages, as each persona sees them."""

from __future__ import annotations

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
