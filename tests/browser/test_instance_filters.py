"""The Filters tab in a real Chromium: build rules, save them, see an error next to its rule,
and test the filters on one of the source's recent events."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from pipeline.models import InstanceFilters
from pipeline.services import events_store, instance_filters_set
from tests.browser.helpers import screenshot, sign_in
from tests.conftest import build_world

pytestmark = pytest.mark.browser


def test_owner_builds_saves_and_tests_filters(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    debug = {"type": "track", "event": "Debug", "userId": "u-1", "messageId": "m-debug"}
    events_store(source=world.source, events=[debug], received_at=timezone.now())
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/w/acme/instances/{world.instance.pk}/filters/")
    page.wait_for_selector("html[data-filters-ready]")
    expect(page.locator("#filter-rules-empty")).to_be_visible()

    page.click("#add-condition-rule")
    first = page.locator('[data-rule="1"]')
    first.get_by_label("Operator").select_option("gt")
    first.get_by_label("Value").fill("soon")
    page.click("#add-drop-fields-rule")
    page.locator('[data-rule="2"] textarea').fill("properties.password\ncontext.ip")
    page.click("#save-filters")
    expect(first.locator(".filter-rule-error")).to_contain_text(
        "Rule #1, condition #1: gt needs a number or an ISO 8601 date"
    )
    assert not InstanceFilters.objects.filter(instance=world.instance).exists()

    first.get_by_label("Operator").select_option("equals")
    first.get_by_label("Value").fill("Debug")
    page.click("#save-filters")
    expect(page.locator("#filters-save-state")).to_have_text("Saved")
    expect(first.locator(".filter-rule-error")).to_be_empty()
    assert InstanceFilters.objects.get(instance=world.instance).rules == [
        {"action": "drop", "match": "all",
         "conditions": [{"field": "event", "op": "equals", "value": "Debug"}]},
        {"action": "drop_fields", "fields": ["properties.password", "context.ip"]},
    ]  # fmt: skip

    page.locator("#recent-event").select_option(index=1)
    expect(page.locator("#preview-event")).to_have_value(re.compile(r'"messageId": "m-debug"'))
    page.click("#run-preview")
    expect(page.locator("#preview-decision")).to_have_text("drop")
    expect(page.locator("#preview-reason")).to_have_text('by rule #1 (drop: event equals "Debug")')
    expect(first).to_have_class(re.compile(r"\bmatched\b"))
    screenshot(page, "instance-filters-drop")

    paid = '{"type": "track", "event": "Paid", "properties": {"password": "x", "plan": "pro"}}'
    page.fill("#preview-event", paid)
    page.click("#run-preview")
    expect(page.locator("#preview-decision")).to_have_text("send")
    expect(page.locator("#preview-output")).to_contain_text('"plan": "pro"')
    expect(page.locator("#preview-output")).not_to_contain_text("password")


def test_a_read_only_member_sees_the_rules_without_controls_and_may_test_them(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    rules = [{"action": "drop", "conditions": [{"field": "userId", "op": "not_exists"}]}]
    instance_filters_set(instance=world.instance, rules=rules, actor=world.users["olivia"])
    sign_in(page, live_server.url, "rita")
    page.goto(f"{live_server.url}/w/acme/instances/{world.instance.pk}/filters/")
    page.wait_for_selector("html[data-filters-ready]")
    rule = page.locator('[data-rule="1"]')
    expect(rule.get_by_label("Field")).to_have_value("userId")
    expect(rule.get_by_label("Field")).to_be_disabled()
    expect(page.locator("#filters-page button:has-text('Save filters')")).to_have_count(0)
    expect(rule.locator("button")).to_have_count(0)
    page.fill("#preview-event", '{"type": "track", "anonymousId": "a-1"}')
    page.click("#run-preview")
    expect(page.locator("#preview-decision")).to_have_text("drop")
    screenshot(page, "instance-filters-read-only")
