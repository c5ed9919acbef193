"""Save & Deploy, versions and rollback in a real Chromium against Daphne: deploy a new
version to one of two destinations, diff two versions and restore one, roll back one
destination; the database and the page agree after each."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Page, expect

from catalog.models import DestinationInstance, Function
from catalog.services import function_create, function_deploy, function_update, instance_create
from editor import services as editor_services
from tests.browser.helpers import screenshot, sign_in
from tests.conftest import World, build_world

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_page_errors")]

V1 = "async function onTrack(event) {\n  // version one\n  return event.event;\n}\n"
V2 = "async function onTrack(event) {\n  // version two\n  return 'two: ' + event.event;\n}\n"
V3 = "async function onTrack(event, settings) {\n  // version three\n  return settings.tag;\n}\n"


T = TypeVar("T")


def off_loop(fn: Callable[..., T], **kwargs: Any) -> T:
    """Run a service in a thread of its own: its change notifications (async_to_sync) cannot
    run on this thread, where Playwright keeps an event loop running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, **kwargs).result()


def open_editor(page: Page, base_url: str, function: Function) -> None:
    page.goto(f"{base_url}/w/acme/functions/{function.pk}/")
    expect(page.locator("#code-editor .monaco-editor")).to_be_visible()


@dataclass
class Relay:
    world: World
    function: Function
    prod: DestinationInstance
    staging: DestinationInstance


@pytest.fixture
def relay(transactional_db: None) -> Relay:
    world = build_world()
    olivia = world.users["olivia"]
    function = function_create(workspace=world.acme, name="Relay", actor=olivia, code=V1)
    prod = instance_create(
        function=function, source=world.source, name="Relay (prod)", settings={}, actor=olivia
    )
    staging = instance_create(
        function=function, source=world.source, name="Relay (staging)", settings={}, actor=olivia
    )
    return Relay(world=world, function=function, prod=prod, staging=staging)


def deployed(instance: DestinationInstance) -> int:
    instance.refresh_from_db()
    return instance.deployed_version.number


def test_save_and_deploy_to_one_of_two_destinations(
    relay: Relay, asgi_live_server: str, page: Page
) -> None:
    dana = relay.world.users["dana"]
    payload = {"type": "track", "event": "Checked"}
    editor_services.test_case_create(
        function=relay.function, actor=dana, name="Returns the event", payload=payload
    )
    editor_services.test_case_create(
        function=relay.function,
        actor=dana,
        name="Drops it",
        payload=payload,
        expected_outcome="dropped",
    )
    base = asgi_live_server
    sign_in(page, base, "dana")
    open_editor(page, base, relay.function)

    page.locator("#code-editor .monaco-editor").click(position={"x": 300, "y": 300})
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.insert_text("// deployed to staging only\n")
    expect(page.locator("#dirty-mark")).to_be_visible()
    page.click("#save-deploy-button")

    dialog = page.locator("#deploy-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#deploy-dialog-title")).to_have_text("Deploy version 2")
    rows = dialog.locator("tr.deploy-instance")
    expect(rows).to_have_count(2)
    staging_row = dialog.locator(f'tr[data-instance="{relay.staging.pk}"]')
    expect(staging_row).to_contain_text("Relay (staging)")
    expect(staging_row).to_contain_text("Website")
    expect(staging_row).to_contain_text("v1")
    expect(staging_row).to_contain_text("enabled")

    # The saved cases ran against version 2: one passes, one fails.
    cases = dialog.locator("#deploy-cases")
    expect(dialog.locator("#deploy-cases-status")).to_contain_text(
        "1 of 2 saved test cases pass with version 2", timeout=20_000
    )
    expect(cases.locator("li", has_text="Returns the event")).to_contain_text("Pass")
    expect(cases.locator("li", has_text="Drops it")).to_contain_text("Fail")

    # The diff of what staging runs against the new version.
    staging_row.locator("[data-action=diff]").click()
    diff = dialog.locator(f"#deploy-diff-{relay.staging.pk}")
    expect(diff.locator(".monaco-diff-editor")).to_be_visible()
    expect(diff.locator(".editor.modified .view-lines")).to_contain_text("deployed to staging only")
    expect(diff.locator(".editor.original .view-lines")).to_contain_text("version one")

    dialog.locator(f"#deploy-instance-{relay.staging.pk}").check()
    expect(dialog.locator("#deploy-submit")).to_have_text("Deploy v2 to 1")
    screenshot(page, "deploy-dialog")
    dialog.locator("#deploy-submit").click()
    # A failing case asks first; nothing is deployed until confirmed.
    confirm = dialog.locator("#deploy-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Drops it")
    assert deployed(relay.staging) == 1
    confirm.locator("#deploy-confirm-yes").click()

    expect(dialog).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text("Deployed version 2 to Relay (staging)")
    assert deployed(relay.staging) == 2
    assert deployed(relay.prod) == 1

    page.click("#tab-versions")
    instances = page.locator("#vp-instances")
    expect(instances.locator(f'li[data-instance="{relay.staging.pk}"]')).to_contain_text("v2")
    expect(instances.locator(f'li[data-instance="{relay.prod.pk}"]')).to_contain_text("v1")
    latest = page.locator("#vp-list li").first
    expect(latest).to_contain_text("Version 2")
    expect(latest).to_contain_text("LATEST")
    expect(latest).to_contain_text("DEPLOYED")
    expect(latest).to_contain_text("Runs on: Relay (staging)")
    expect(page.locator('#vp-list li[data-version="1"]')).to_contain_text("Runs on: Relay (prod)")
    screenshot(page, "versions-after-deploy")


def test_a_user_without_source_admin_sees_why_nothing_can_be_deployed(
    relay: Relay, asgi_live_server: str, page: Page
) -> None:
    base = asgi_live_server
    sign_in(page, base, "adam")  # Functions Admin, not Source Admin
    open_editor(page, base, relay.function)
    page.click("#save-deploy-button")  # nothing changed: the dialog opens on LATEST
    dialog = page.locator("#deploy-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#deploy-rights")).to_contain_text(
        "Deploying needs Source Admin as well as Functions Admin"
    )
    expect(dialog.locator("tr.deploy-instance")).to_have_count(2)
    expect(dialog.locator(f"#deploy-instance-{relay.prod.pk}")).to_be_disabled()
    expect(dialog.locator("#deploy-submit")).to_be_hidden()


def test_diff_two_versions_and_restore_one(relay: Relay, asgi_live_server: str, page: Page) -> None:
    olivia = relay.world.users["olivia"]
    off_loop(function_update, function=relay.function, actor=olivia, code=V2)
    off_loop(
        function_update,
        function=relay.function,
        actor=olivia,
        code=V3,
        settings_schema=[{"label": "Tag", "type": "string"}],
    )
    base = asgi_live_server
    sign_in(page, base, "adam")
    open_editor(page, base, relay.function)
    page.click("#tab-versions")

    versions = page.locator("#vp-list li")
    expect(versions).to_have_count(3)
    v3 = page.locator('#vp-list li[data-version="3"]')
    expect(v3).to_contain_text("LATEST")
    expect(v3).to_contain_text("Code changed")
    expect(v3).to_contain_text("Settings added: tag")
    expect(page.locator('#vp-list li[data-version="1"]')).to_contain_text("DEPLOYED")
    expect(page.locator('#vp-list li[data-version="1"]')).to_contain_text("First version")
    # Adam may edit, not deploy: Restore is offered, rollback is not.
    expect(page.locator("#vp-list [data-action=restore]")).to_have_count(2)
    expect(page.locator("#vp-instances [data-action=rollback]")).to_have_count(0)

    page.select_option("#vp-compare-left", "1")
    page.select_option("#vp-compare-right", "2")
    page.click("#vp-compare button[type=submit]")
    dialog = page.locator("#diff-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#diff-dialog-title")).to_contain_text("Version 1")
    expect(dialog.locator("#diff-dialog-title")).to_contain_text("Version 2")
    expect(dialog.locator(".monaco-diff-editor")).to_be_visible()
    expect(dialog.locator(".editor.original .view-lines")).to_contain_text("version one")
    expect(dialog.locator(".editor.modified .view-lines")).to_contain_text("version two")
    screenshot(page, "versions-diff")
    dialog.locator("[data-diff-mode=settings]").click()
    expect(dialog.locator(".editor.modified .view-lines")).to_contain_text("[]")
    dialog.locator("[data-diff-close]").click()
    expect(dialog).to_be_hidden()

    page.locator('#vp-list li[data-version="1"] [data-action=restore]').click()
    expect(page.locator("#toasts")).to_contain_text("Restored version 1 as version 4")
    latest = page.locator("#vp-list li").first
    expect(latest).to_have_attribute("data-version", "4")
    expect(latest).to_contain_text("LATEST")
    expect(latest).not_to_contain_text("DEPLOYED")
    expect(latest).to_contain_text("restored from v1")
    # The draft had no changes, so it now shows the restored code.
    expect(page.locator("#code-editor .view-lines")).to_contain_text("version one")
    expect(page.locator("#version-badge")).to_have_text("v4")
    expect(page.locator("#save-state")).to_have_text("Saved as version 4")
    version = relay.function.versions.get(number=4)
    assert version.restored_from == 1 and version.code == V1
    assert deployed(relay.prod) == 1 and deployed(relay.staging) == 1
    screenshot(page, "versions-restored")


def test_roll_back_one_destination(relay: Relay, asgi_live_server: str, page: Page) -> None:
    olivia = relay.world.users["olivia"]
    off_loop(function_update, function=relay.function, actor=olivia, code=V2)
    off_loop(
        function_deploy,
        function=relay.function,
        version=relay.function.versions.get(number=2),
        instances=[relay.prod, relay.staging],
        actor=olivia,
    )
    base = asgi_live_server
    sign_in(page, base, "dana")
    open_editor(page, base, relay.function)
    page.click("#tab-versions")

    prod = page.locator(f'#vp-instances li[data-instance="{relay.prod.pk}"]')
    expect(prod).to_contain_text("v2")
    button = prod.locator("[data-action=rollback]")
    expect(button).to_have_text("Roll back to v1")
    button.click()
    expect(page.locator("#toasts")).to_contain_text("Rolled Relay (prod) back to version 1")
    expect(prod).to_contain_text("v1")
    expect(prod.locator("[data-action=rollback]")).to_have_text("Roll back to v2")
    staging = page.locator(f'#vp-instances li[data-instance="{relay.staging.pk}"]')
    expect(staging).to_contain_text("v2")
    assert deployed(relay.prod) == 1
    assert deployed(relay.staging) == 2
    screenshot(page, "versions-rolled-back")
