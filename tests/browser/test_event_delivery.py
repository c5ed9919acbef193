"""The Event Delivery tab in a real Chromium: a failure is listed with its error, logs and
request trace, and its Replay button queues it for delivery again."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pipeline.models import DeliveryJob, JobState
from tests.browser.helpers import screenshot, sign_in
from tests.conftest import build_world
from tests.pipeline.test_event_delivery import run_round

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_page_errors")]


def test_a_failure_is_listed_and_replayed(
    transactional_db: None, live_server: Any, page: Page
) -> None:
    world = build_world()
    _delivered, failed = run_round(world.instance, ["success", "bad_request"])
    base = live_server.url
    sign_in(page, base, "dana")
    page.goto(f"{base}/w/acme/instances/{world.instance.pk}/")
    page.click(".tabs >> text=Event Delivery")

    expect(page.locator("#total-delivered")).to_have_text("1")
    expect(page.locator("#total-discarded")).to_have_text("1")
    expect(page.locator("#delivery-errors")).to_contain_text("bad_request")
    failure = page.locator(f'.delivery-failure[data-job="{failed}"]')
    expect(failure).to_contain_text("failed: bad_request")
    failure.locator("summary", has_text="Attempts").click()
    expect(failure.locator(".delivery-logs")).to_contain_text("user alice@example.com")
    expect(failure.locator(".delivery-request summary")).to_contain_text(
        "POST https://api.example.com/"
    )
    screenshot(page, "event-delivery")

    failure.get_by_role("button", name="Replay").click()

    expect(page.locator("#replay-status")).to_have_text("Queued 1 job for delivery again.")
    expect(failure).to_have_class("delivery-failure replayed")
    assert DeliveryJob.objects.get(pk=failed).state == JobState.PENDING
    # Nothing else is discarded now: replaying all of the range queues nothing.
    page.click("#replay-all")
    expect(page.locator("#replay-status")).to_have_text(
        "Nothing to replay: no discarded job matches."
    )
