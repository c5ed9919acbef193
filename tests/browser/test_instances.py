"""Connecting a function to a source and configuring the destination, in a real Chromium:
the settings form is the IDE's, required values are enforced, secrets stay write-only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from catalog.models import DestinationInstance
from catalog.selectors import instance_secret_values
from tests.browser.helpers import screenshot, sign_in
from tests.conftest import SECRET_API_KEY, World, build_world

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_page_errors")]


@pytest.fixture
def world(transactional_db: None) -> World:
    return build_world()


def test_connect_then_configure_a_destination(
    world: World, asgi_live_server: str, page: Page
) -> None:
    base = asgi_live_server
    sign_in(page, base, "dana")
    page.goto(f"{base}/w/acme/catalog/?tab=sources")
    page.get_by_role("link", name="Connect a function").click()
    expect(page.locator("#instance-source")).to_have_value(str(world.source.pk))
    page.select_option("#instance-function", label="Webhook")
    expect(page.locator("#instance-name")).to_have_value("Webhook (Website)")
    page.fill("#instance-name", "Webhook (staging)")
    page.click("#instance-save")
    # API Key is required: the form says so and nothing is created.
    expect(page.locator("#instance-settings .setting-field.invalid")).to_have_count(1)
    assert not DestinationInstance.objects.filter(name="Webhook (staging)").exists()

    settings = page.locator("#instance-settings")
    settings.get_by_label("API Key").fill("sk_staging_123")
    settings.get_by_label("Region").fill("us")
    screenshot(page, "instance-connect")
    page.click("#instance-save")
    page.wait_for_url(f"{base}/w/acme/instances/*/")
    instance = DestinationInstance.objects.get(name="Webhook (staging)")
    assert (instance.source_id, instance.enabled, instance.settings) == (
        world.source.pk,
        True,
        {"region": "us"},
    )
    assert instance_secret_values(instance=instance) == {"apiKey": "sk_staging_123"}
    expect(page.locator("main")).not_to_contain_text("sk_staging_123")

    page.click("#configure-link")
    expect(page.locator("#instance-name")).to_have_value("Webhook (staging)")
    expect(page.locator("main")).not_to_contain_text("sk_staging_123")
    settings.get_by_label("Region").fill("ap")
    page.uncheck("#instance-enabled")
    screenshot(page, "instance-configure")
    page.click("#instance-save")
    page.wait_for_url(f"{base}/w/acme/instances/{instance.pk}/")
    instance.refresh_from_db()
    assert (instance.enabled, instance.settings) == (False, {"region": "ap"})
    # Left alone, the secret kept its value.
    assert instance_secret_values(instance=instance) == {"apiKey": "sk_staging_123"}


def test_a_taken_name_is_refused_and_explained(
    world: World, asgi_live_server: str, page: Page
) -> None:
    base = asgi_live_server
    sign_in(page, base, "olivia")
    page.goto(f"{base}/w/acme/instances/new/?function={world.function.pk}")
    page.select_option("#instance-source", label="Website")
    page.fill("#instance-name", world.instance.name)
    page.locator("#instance-settings").get_by_label("API Key").fill(SECRET_API_KEY)
    page.click("#instance-save")
    expect(page.locator("#instance-form-error")).to_contain_text("already")
    assert DestinationInstance.objects.filter(workspace=world.acme).count() == 1
