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
