"""The Test tab in a real Chromium, over a real websocket (Daphne) and the real runtime:
logs and request traces stream in before the outcome, an endless function times out, a
JSON array runs onBatch, and a read-only member's forged Run is refused by the server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from catalog.models import Function
from catalog.services import function_create
from editor.models import SavedTestCase, TestSettings
from tests.browser.helpers import screenshot, sign_in
from tests.conftest import World, build_world
from tests.pipeline.conftest import basic_auth
from tests.runtime.conftest import loopback_server

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_page_errors")]

SLOW_ANSWER_S = 2.5


def open_test_tab(page: Page, base_url: str, function: Function) -> None:
    page.goto(f"{base_url}/w/acme/functions/{function.pk}/")
    expect(page.locator("#code-editor .monaco-editor")).to_be_visible()
    page.click("#tab-test")
    expect(page.locator("#test-panel")).to_be_visible()


class SlowHandler(BaseHTTPRequestHandler):
    """Answers /fast at once and /slow after SLOW_ANSWER_S: the run's outcome comes that
    long after its first log line and request trace."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.startswith("/slow"):
            time.sleep(SLOW_ANSWER_S)
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    with loopback_server(SlowHandler) as url:
        yield url


@pytest.fixture
def world(transactional_db: None) -> World:
    return build_world()


def test_logs_and_requests_stream_in_before_the_outcome(
    world: World, asgi_live_server: str, page: Page, slow_server: str
) -> None:
    code = (
        "async function onTrack(event, settings) {\n"
        "  console.log('sending ' + event.event);\n"
        f"  const first = await fetch('{slow_server}/fast', {{\n"
        "    method: 'POST',\n"
        "    headers: { 'Content-Type': 'application/json' },\n"
        "    body: JSON.stringify({ event: event.event }),\n"
        "  });\n"
        "  console.warn('first answered ' + first.status);\n"
        f"  const second = await fetch('{slow_server}/slow');\n"
        "  return { second: second.status };\n"
        "}\n"
    )
    function = function_create(
        workspace=world.acme, name="Streamer", actor=world.users["olivia"], code=code
    )
    base = asgi_live_server
    sign_in(page, base, "adam")
    open_test_tab(page, base, function)

    # The sample picker offers every spec type; track is the default.
    expect(page.locator("#tp-sample-type")).to_have_value("track")
    expect(page.locator("#tp-sample-preview")).to_contain_text("Order Completed")

    page.click("#tp-run")
    logs = page.locator("#tp-logs")
    requests = page.locator("#tp-requests")
    outcome = page.locator("#tp-outcome")
    expect(logs).to_contain_text("sending Order Completed")
    expect(logs).to_contain_text("first answered 200")
    expect(requests).to_contain_text(f"{slow_server}/fast")
    expect(requests).to_contain_text("POST")
    # The slow answer is still pending: the outcome has not arrived yet.
    assert outcome.is_hidden(), "the outcome arrived before the slow request was answered"
    expect(page.locator("#tp-cancel")).to_be_visible()
    expect(page.locator("#tp-status")).to_contain_text("Running")
    screenshot(page, "test-panel-streaming")

    expect(outcome).to_be_visible(timeout=SLOW_ANSWER_S * 1000 + 10_000)
    expect(outcome).to_contain_text("Success")
    expect(outcome).to_contain_text('"second": 200')
    expect(requests.locator("li")).to_have_count(2)
    expect(page.locator("#tp-cancel")).to_be_hidden()
    expect(page.locator("#tp-error")).to_contain_text("No errors")
    # Log lines keep their order and level.
    assert logs.locator(".tp-log-level").all_text_contents() == ["log", "warn"]

    # A second Run replaces the first; Cancel stops one.
    page.click("#tp-run")
    expect(logs).to_contain_text("first answered 200")
    page.click("#tp-run")
    expect(outcome).to_contain_text("Success", timeout=SLOW_ANSWER_S * 1000 + 10_000)
    expect(logs.locator("li", has_text="sending")).to_have_count(1)
    page.click("#tp-run")
    expect(logs).to_contain_text("first answered 200")
    page.click("#tp-cancel")
    expect(page.locator("#tp-status")).to_have_text("Cancelled.")
    expect(outcome).to_be_hidden()
    expect(page.locator("#tp-cancel")).to_be_hidden()

    page.click("#tp-run")
    expect(outcome).to_contain_text("Success", timeout=SLOW_ANSWER_S * 1000 + 10_000)
    # A request trace opens on its headers and bodies.
    first = requests.locator("li").first
    first.locator("summary").click()
    expect(first).to_contain_text("Request body")
    expect(first).to_contain_text('"event": "Order Completed"')
    expect(first).to_contain_text("Response body")
    expect(first).to_contain_text('"path": "/fast"')
    screenshot(page, "test-panel-outcome")


def test_an_endless_function_stops_at_its_time_limit(
    world: World, asgi_live_server: str, page: Page
) -> None:
    function = function_create(
        workspace=world.acme,
        name="Endless",
        actor=world.users["olivia"],
        code="async function onTrack(event) {\n  console.log('looping');\n  while (true) {}\n}\n",
        timeout_ms=500,
    )
    base = asgi_live_server
    sign_in(page, base, "adam")
    open_test_tab(page, base, function)

    page.click("#tp-run")
    outcome = page.locator("#tp-outcome")
    expect(outcome).to_contain_text("Timeout", timeout=15_000)
    expect(page.locator("#tp-error")).not_to_contain_text("Waiting")
    expect(page.locator("#tp-cancel")).to_be_hidden()
    expect(page.locator("#tp-status")).not_to_contain_text("Running")
    screenshot(page, "test-panel-timeout")

    # The panel is ready for the next run straight away.
    page.click("#tp-run")
    expect(outcome).to_contain_text("Timeout", timeout=15_000)


def test_a_json_array_runs_on_batch(world: World, asgi_live_server: str, page: Page) -> None:
    function = function_create(
        workspace=world.acme,
        name="Batcher",
        actor=world.users["olivia"],
        code=(
            "async function onTrack(event) {\n  return 'single';\n}\n"
            "async function onBatch(events) {\n"
            "  console.log('batch of ' + events.length);\n"
            "  return events.map((e) => e.event);\n"
            "}\n"
        ),
    )
    base = asgi_live_server
    sign_in(page, base, "adam")
    open_test_tab(page, base, function)

    page.click("#tp-mode-manual")
    editor = page.locator("#tp-json-editor .monaco-editor")
    expect(editor).to_be_visible()
    expect(page.locator("#tp-manual")).to_contain_text("onBatch")
    editor.locator(".view-lines").click()
    # Keys go to Monaco only once it has focus: its input element (an EditContext element
    # in recent Chromium, a textarea before) is focused directly if the click did not.
    editor.locator(".native-edit-context, textarea.inputarea").first.focus()
    expect(editor).to_have_class(re.compile(r"\bfocused\b"))
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(
        '[{"type": "track", "event": "First"}, {"type": "track", "event": "Second"}]'
    )
    expect(editor.locator(".view-lines")).to_contain_text("Second")

    page.click("#tp-run")
    outcome = page.locator("#tp-outcome")
    expect(outcome).to_contain_text("Success", timeout=15_000)
    expect(page.locator("#tp-logs")).to_contain_text("batch of 2")
    expect(outcome).to_contain_text('"First"')
    expect(outcome).to_contain_text('"Second"')

    # Broken JSON is explained, not sent.
    editor.locator(".view-lines").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text('[{"type": "track",')
    page.click("#tp-run")
    expect(page.locator("#tp-json-error")).to_contain_text("Not valid JSON")
    screenshot(page, "test-panel-batch")


FORGED_RUN = """
async ({ url, functionId }) => {
  const ws = new WebSocket(url);
  const messages = [];
  let closeCode = null;
  await new Promise((resolve) => {
    ws.onopen = () => {
      ws.send(JSON.stringify({
        type: 'run', run_id: 'forged', function_id: functionId,
        code: "async function onTrack() { console.log('ran'); return 1 }",
        settings_schema: [], settings: {}, payload: { type: 'track', event: 'X' },
      }));
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      messages.push(message);
      if (message.type === 'error' || message.type === 'outcome') resolve();
    };
    ws.onclose = (event) => { closeCode = event.code; resolve(); };
    setTimeout(resolve, 8000);
  });
  ws.close();
  return { messages, closeCode };
}
"""


def test_a_read_only_members_forged_run_is_refused(
    world: World, asgi_live_server: str, page: Page
) -> None:
    base = asgi_live_server
    sign_in(page, base, "rita")
    open_test_tab(page, base, world.function)
    expect(page.locator("#tp-run")).to_be_hidden()
    expect(page.locator("#tp-no-run")).to_be_visible()
    expect(page.locator("#tp-cases")).to_be_hidden()
    screenshot(page, "test-panel-read-only")

    config = json.loads(page.locator("#editor-config").text_content() or "{}")
    url = base.replace("http://", "ws://") + config["urls"]["ws_test_runs"]
    answer = page.evaluate(FORGED_RUN, {"url": url, "functionId": world.function.pk})
    types = [m["type"] for m in answer["messages"]]
    assert "outcome" not in types and "log" not in types, answer
    errors = [m for m in answer["messages"] if m["type"] == "error"]
    assert errors, answer
    assert "Functions Admin" in errors[0]["message"]


SECRET = "sk_test_0123456789"


def test_test_settings_and_saved_test_cases(
    world: World, asgi_live_server: str, page: Page
) -> None:
    function = function_create(
        workspace=world.acme,
        name="Keyed",
        actor=world.users["olivia"],
        settings_schema=[
            {"label": "API Key", "type": "string", "required": True, "encrypted": True},
            {"label": "Region", "type": "string"},
        ],
        code=(
            "async function onTrack(event, settings) {\n"
            # The check does not spell the secret out: the code is on the page.
            "  if (settings.apiKey !== 'sk_' + 'test_' + '0123456789') throw new Error('bad');\n"
            "  return 'region ' + (settings.region || 'none');\n"
            "}\n"
        ),
    )
    base = asgi_live_server
    sign_in(page, base, "adam")
    open_test_tab(page, base, function)

    form = page.locator("#tp-settings-form")
    form.locator("input[name=apiKey]").fill(SECRET)
    form.locator("input[name=region]").fill("eu")
    page.click("#tp-settings-save")
    expect(page.locator("#tp-settings-status")).to_have_text("Test settings saved.")
    stored = TestSettings.objects.get(user=world.users["adam"], function=function)
    assert stored.settings == {"region": "eu"}
    assert SECRET in stored.encrypted_settings  # decrypted by the field

    # The secret never comes back to the browser: after a reload it is shown masked.
    open_test_tab(page, base, function)
    assert SECRET not in page.content()
    expect(form.locator("input[name=apiKey]")).to_have_value("")
    expect(form).to_contain_text("••••6789")
    expect(form.locator("input[name=region]")).to_have_value("eu")

    # A run uses the stored secret.
    page.click("#tp-run")
    outcome = page.locator("#tp-outcome")
    expect(outcome).to_contain_text("Success", timeout=15_000)
    expect(outcome).to_contain_text("region eu")

    # Save two cases: one expecting what happened, one expecting something else.
    expect(page.locator("#tp-case-expected")).to_have_value("success")
    page.fill("#tp-case-name", "EU works")
    page.click("#tp-case-save")
    cases = page.locator("#tp-case-list")
    expect(cases).to_contain_text("EU works")
    page.fill("#tp-case-name", "Expects a drop")
    page.select_option("#tp-case-expected", "dropped")
    page.click("#tp-case-save")
    expect(cases.locator("li")).to_have_count(2)

    page.click("#tp-run-all")
    expect(page.locator("#tp-cases-summary")).to_have_text(
        "1 of 2 test cases pass with the draft.", timeout=20_000
    )
    expect(cases.locator("li", has_text="EU works")).to_contain_text("Pass")
    expect(cases.locator("li", has_text="Expects a drop")).to_contain_text("Fail: got Success")
    screenshot(page, "test-panel-cases")

    drop = cases.locator("li", has_text="Expects a drop")
    drop.locator("[data-action=delete-case]").click()
    expect(drop.locator("[data-action=delete-case]")).to_have_text("Really delete?")
    drop.locator("[data-action=delete-case]").click()
    expect(cases.locator("li")).to_have_count(1)
    assert list(SavedTestCase.objects.filter(function=function).values_list("name", flat=True)) == [
        "EU works"
    ]


def test_a_new_function_can_be_tested_before_it_is_created(
    world: World, asgi_live_server: str, page: Page
) -> None:
    base = asgi_live_server
    sign_in(page, base, "adam")
    page.goto(f"{base}/w/acme/functions/new/build/?template=default")
    expect(page.locator("#code-editor .monaco-editor")).to_be_visible()
    page.click("#tab-test")
    # Nothing is stored for a function that does not exist yet.
    expect(page.locator("#tp-cases")).to_be_hidden()
    page.select_option("#tp-sample-type", "identify")
    expect(page.locator("#tp-sample-preview")).to_contain_text('"type": "identify"')
    page.select_option("#tp-source", label="Website")
    expect(page.locator("#tp-source-empty")).to_have_text("No events received from Website yet.")
    page.select_option("#tp-source", "")
    page.click("#tp-run")
    expect(page.locator("#tp-outcome")).to_be_visible(timeout=15_000)
    assert Function.objects.filter(workspace=world.acme).count() == 2
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot(page, "test-panel-new-function-1920")


def test_a_test_secret_stays_write_only_after_the_schema_stops_encrypting_it(
    world: World, asgi_live_server: str, page: Page
) -> None:
    from editor.selectors import test_settings_secret_values

    adam = world.users["adam"]
    function = function_create(
        workspace=world.acme,
        name="Keyed",
        actor=adam,
        settings_schema=[{"label": "API Key"}, {"label": "Region"}],
    )
    # The value was entered while apiKey was encrypted (the schema has changed since).
    TestSettings.objects.create(
        user=adam, function=function, encrypted_settings=json.dumps({"apiKey": SECRET})
    )
    base = asgi_live_server
    sign_in(page, base, "adam")
    open_test_tab(page, base, function)

    form = page.locator("#tp-settings-form")
    assert SECRET not in page.content()
    expect(form.locator("input[name=apiKey]")).to_have_value("")
    expect(form).to_contain_text("••••6789")
    expect(form).to_contain_text("Entered while this setting was encrypted")
    # Saving the others keeps it, still encrypted.
    form.locator("input[name=region]").fill("eu")
    page.click("#tp-settings-save")
    expect(page.locator("#tp-settings-status")).to_have_text("Test settings saved.")
    stored = TestSettings.objects.get(user=adam, function=function)
    assert stored.settings == {"region": "eu"}
    assert test_settings_secret_values(test_settings=stored) == {"apiKey": SECRET}


def test_the_recent_events_of_a_source_can_be_tested(
    world: World, asgi_live_server: str, page: Page
) -> None:
    """An event sent through the Tracking API is offered as a sample for the next Run."""
    base = asgi_live_server
    sent = httpx.post(
        f"{base}/v1/track",
        json={"event": "Order Completed", "userId": "u-42", "properties": {"total": 30}},
        headers={"Authorization": basic_auth(world.source.write_key)},
    )
    assert sent.json() == {"success": True}
    sign_in(page, base, "adam")
    open_test_tab(page, base, world.function)
    page.select_option("#tp-source", label="Website")
    picker = page.locator("#tp-sample-type")
    expect(picker).to_be_enabled()
    expect(picker.locator("option")).to_have_count(1)
    expect(picker.locator("option")).to_contain_text("track · Order Completed")
    expect(page.locator("#tp-source-empty")).to_be_hidden()
    preview = page.locator("#tp-sample-preview")
    expect(preview).to_contain_text('"userId": "u-42"')
    expect(preview).to_contain_text('"messageId"')
    screenshot(page, "test-panel-source-events")
    page.click("#tp-edit-sample")
    expect(page.locator("#tp-manual")).to_be_visible()
