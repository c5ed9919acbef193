"""End-to-end through a real Chromium: sign in, build a function, save it, see the trail."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Function
from tests.browser.helpers import (
    editor_code,
    replace_code,
    screenshot,
    sign_in,
    wait_for_editor,
)
from tests.conftest import SECRET_API_KEY, build_world

pytestmark = pytest.mark.browser


def test_owner_builds_saves_and_audits_a_function(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    build_world()
    sign_in(page, live_server.url, "olivia")
    expect(page).to_have_url(f"{live_server.url}/w/acme/")
    expect(page.locator("h1")).to_have_text("Acme")

    page.click("nav >> text=Catalog")
    page.click(".tabs >> text=Functions")
    expect(page.locator("#functions-table")).to_contain_text("Webhook")

    page.click("text=New Function")
    page.click("text=Destination Function")
    page.locator("[data-template='default']").get_by_role("link", name="Build").click()
    wait_for_editor(page)
    assert "onTrack" in editor_code(page)
    page.click("#configure-button")
    page.fill("#configure-name", "Browser Hook")
    page.fill("#configure-description", "Made in a real browser")
    page.click("#create-button")

    page.wait_for_url(f"{live_server.url}/w/acme/functions/*/")
    function = Function.objects.get(name="Browser Hook")
    expect(page).to_have_url(f"{live_server.url}/w/acme/functions/{function.pk}/")
    wait_for_editor(page)
    replace_code(page, "async function onTrack(event, settings) {\n  return event.event;\n}\n")
    page.click("#save-button")
    expect(page.locator(".toasts")).to_contain_text("Saved version 2")
    expect(page.locator("#version-badge")).to_have_text("v2")
    assert "return event.event" in editor_code(page)
    page.goto(f"{live_server.url}/w/acme/functions/{Function.objects.get(name='Webhook').pk}/")
    wait_for_editor(page)
    assert SECRET_API_KEY not in page.content()
    screenshot(page, "smoke-editor")

    page.click("nav >> text=Audit Trail")
    table = page.locator("#audit-events")
    expect(table).to_contain_text("function.created")
    expect(table).to_contain_text("function.saved")
    expect(table).to_contain_text("Browser Hook")


def test_read_only_member_sees_only_her_subset(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    build_world()
    sign_in(page, live_server.url, "ruth")
    expect(page).to_have_url(f"{live_server.url}/w/acme/")
    expect(page.locator("nav")).not_to_contain_text("Audit Trail")

    page.click("nav >> text=Catalog")
    table = page.locator("#functions-table")
    expect(table).to_contain_text("Webhook")
    expect(table).not_to_contain_text("Mailer")
    expect(page.locator("text=New Function")).to_have_count(0)

    table.locator("a", has_text="Webhook").click()
    wait_for_editor(page)
    expect(page.locator("h1")).to_contain_text("Webhook")
    expect(page.locator("#read-only-badge")).to_be_visible()
    expect(page.locator("#save-button")).to_have_count(0)
    expect(page.locator("button:has-text('Restore')")).to_have_count(0)
    assert SECRET_API_KEY not in page.content()
