"""The template gallery: every template loads, and runs through the real runtime.

Each template's code is invoked with its own sample event on real Node workers, against a
loopback HTTP server standing in for the destination (the pool allowlists 127.0.0.1, as
FUNCTIONS_EGRESS_ALLOWLIST would). The tests assert what the destination received and the
outcome, including the retry paths the templates promise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

import pytest
import pytest_asyncio

from catalog.function_templates import (
    DEFAULT_TEMPLATE_SLUG,
    TEMPLATE_SLUGS,
    TEMPLATES_DIR,
    FunctionTemplate,
    template_default,
    template_file_stem,
    template_get,
    template_list,
)
from catalog.sample_events import EVENT_TYPES, sample_batch, sample_event, sample_events
from catalog.services import function_default_code
from catalog.settings_schema import setting_name_from_label, settings_schema_clean
from runtime.pool import WorkerPool
from runtime.services import HANDLER_BY_TYPE, InvocationResult, function_invoke
from tests.runtime.conftest import loopback_server, make_pool

HANDLERS = (*HANDLER_BY_TYPE.values(), "onBatch")


# ------------------------------------------------------------------ the loopback destination


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})


class Destination:
    """What the loopback server received, and what it answers, per test.

    Each test gets its own path prefix (``base``); answers are scripted per path (a list is
    served in order, its last answer repeated), anything else gets 200 ``{"ok": true}``.
    """

    def __init__(self, server_url: str) -> None:
        self.prefix = f"/{uuid.uuid4().hex}"
        self.base = server_url + self.prefix
        self._answers: dict[str, list[Answer]] = {}
        self._received: list[Received] = []
        self._lock = threading.Lock()

    def answer(self, path: str, *answers: Answer) -> None:
        self._answers[self.prefix + path] = list(answers)

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if path is None or r.path == self.prefix + path]

    def handle(self, request: Received) -> Answer:
        with self._lock:
            self._received.append(request)
            queue = self._answers.get(request.path.split("?")[0], [])
            return queue.pop(0) if len(queue) > 1 else (queue[0] if queue else Answer())


_destinations: dict[str, Destination] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Received(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        destination = _destinations.get(self.path.split("/")[1])
        answer = destination.handle(request) if destination else Answer(404, {})
        payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body)
        data = payload if isinstance(payload, bytes) else payload.encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _route


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with loopback_server(Handler) as url:
        yield url


@pytest.fixture
def dest(server: str) -> Iterator[Destination]:
    destination = Destination(server)
    _destinations[destination.prefix.lstrip("/")] = destination
    yield destination
    _destinations.pop(destination.prefix.lstrip("/"), None)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    p = make_pool(allow=["127.0.0.1"])
    yield p
    await p.shutdown()


def template(slug: str) -> FunctionTemplate:
    found = template_get(slug)
    assert found is not None, slug
    return found


async def invoke(
    pool: WorkerPool,
    slug: str,
    settings: dict[str, Any],
    payload: dict[str, Any] | list[dict[str, Any]] | None = None,
    *,
    function_id: str | None = None,
) -> InvocationResult:
    """Run template ``slug`` (its sample event by default) the way a deployed instance runs:
    with the schema's required settings checked first."""
    tpl = template(slug)
    return await function_invoke(
        code=tpl.code,
        settings=settings,
        payload=tpl.sample_event if payload is None else payload,
        function_id=function_id or f"fn_{slug}_{uuid.uuid4().hex}",
        version_id="v1",
        required_settings=[s["name"] for s in tpl.settings_schema if s["required"]],
        pool=pool,
    )


TOKEN = Answer(200, {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600})


def settings_for(slug: str, dest: Destination) -> dict[str, Any]:
    """Settings for each template pointing at the loopback destination (which, for the
    token template, starts issuing tokens: a test may script other answers afterwards)."""
    if slug == "token-refresh":
        dest.answer("/oauth/token", TOKEN)
    return {
        "default": {"url": f"{dest.base}/events"},
        "json-webhook": {"url": f"{dest.base}/hook", "sharedSecret": "whsec_test_0123456789"},
        "batch-webhook": {"url": f"{dest.base}/batch", "apiKey": "bk_test_0123456789"},
        "hmac-webhook": {"url": f"{dest.base}/signed", "signingSecret": "hmac_secret_0123456789"},
        "slack-message": {"webhookUrl": f"{dest.base}/slack", "channel": "#growth"},
        "crm-upsert": {
            "baseUrl": f"{dest.base}/api/v2/",
            "username": "segment-sync",
            "password": "pa55:word-0123456789",
        },
        "token-refresh": {
            "tokenUrl": f"{dest.base}/oauth/token",
            "clientId": "client_abc",
            "clientSecret": "cs_test_0123456789",
            "scope": "events:write",
            "apiUrl": f"{dest.base}/v1/events",
        },
    }[slug]


# ------------------------------------------------------------------ registry and files


def test_registry_lists_every_template_file_in_gallery_order() -> None:
    slugs = [t.slug for t in template_list()]
    assert slugs == list(TEMPLATE_SLUGS)
    assert slugs[0] == DEFAULT_TEMPLATE_SLUG == template_default().slug
    on_disk = {p.stem for p in TEMPLATES_DIR.glob("*.json")}
    assert on_disk == {template_file_stem(s) for s in slugs}
    assert {p.stem for p in TEMPLATES_DIR.glob("*.js")} == on_disk
    assert template_get("no-such-template") is None
    assert template_list()[1] is template_get(slugs[1])  # read once, cached


@pytest.mark.parametrize("slug", TEMPLATE_SLUGS)
def test_each_template_is_complete_with_a_clean_schema(slug: str) -> None:
    tpl = template(slug)
    assert tpl.name.strip() and len(tpl.description) > 20
    assert settings_schema_clean(tpl.settings_schema) == tpl.settings_schema
    for setting in tpl.settings_schema:
        # Names are what the Settings tab generates from the label, and documented.
        assert setting["name"] == setting_name_from_label(setting["label"])
        assert setting["description"]
        assert f"settings.{setting['name']}" in tpl.code, setting["name"]
        if re.search(r"secret|password|key|token|webhook", setting["name"], re.I):
            assert setting["encrypted"] or setting["name"] in {"secretHeader", "tokenUrl"}
    events = tpl.sample_event if isinstance(tpl.sample_event, list) else [tpl.sample_event]
    assert events and all(e["type"] in EVENT_TYPES and e["messageId"] for e in events)
    assert tpl.to_dict()["settings_schema"] == tpl.settings_schema
    assert tpl.to_dict()["settings_schema"] is not tpl.settings_schema


def test_default_code_is_the_default_template_with_all_eight_handlers() -> None:
    code = function_default_code()
    assert code == template_default().code
    assert template_default().name == "Default destination"
    declared = re.findall(r"^async function (on\w+)\((event|events), settings\)", code, re.M)
    assert sorted(name for name, _ in declared) == sorted(HANDLERS)
    assert ("onBatch", "events") in declared
    for word in ("settings.", "Settings tab", "RetryError", "ValidationError", "retried"):
        assert word in code


def test_sample_events_cover_the_spec() -> None:
    events = sample_events()
    assert list(events) == list(EVENT_TYPES)
    for kind, event in events.items():
        assert event["type"] == kind
        assert event["messageId"] and event["timestamp"].endswith("Z") and event["userId"]
        context = event["context"]
        assert context["library"]["name"] and context["ip"] and context["userAgent"]
    assert events["track"]["event"] and events["track"]["properties"]["revenue"]
    assert events["identify"]["traits"]["email"] == "jane.kim@example.com"
    assert events["group"]["groupId"] and events["alias"]["previousId"]
    assert events["page"]["name"] and events["screen"]["context"]["device"]
    events["track"]["event"] = "changed"
    assert sample_event("track")["event"] == "Order Completed"  # copies, not shared
    batch = sample_batch()
    assert [e["type"] for e in batch] == ["track", "identify", "track", "page"]
    assert len({e["messageId"] for e in batch}) == len(batch)


# ------------------------------------------------------------------ each template, end to end

pytestmark_async = pytest.mark.asyncio(loop_scope="module")


@pytestmark_async
async def test_default_template_posts_track_and_identify(pool, dest) -> None:
    r = await invoke(pool, "default", settings_for("default", dest))
    assert (r.outcome, r.error) == ("success", None)
    (got,) = dest.received("/events")
    assert got.method == "POST" and got.headers["content-type"] == "application/json"
    assert got.json() == sample_event("track")

    r = await invoke(pool, "default", settings_for("default", dest), sample_event("identify"))
    assert r.outcome == "success", r.error
    sent = dest.received("/events")[1].json()
    assert sent["type"] == "identify" and sent["traits"] == sample_event("identify")["traits"]

    dest.answer("/events", Answer(503))
    r = await invoke(pool, "default", settings_for("default", dest))
    assert r.outcome == "retry" and "503" in r.error.message


@pytestmark_async
async def test_default_template_gives_every_spec_event_a_clean_outcome(pool, dest) -> None:
    settings = settings_for("default", dest)
    outcomes = {}
    for kind, event in sample_events().items():
        r = await invoke(pool, "default", settings, event)
        outcomes[kind] = r.outcome
        assert r.outcome in ("success", "unsupported_event_type"), (kind, r.error)
        if r.outcome == "unsupported_event_type":
            assert r.error.type == "EventNotSupported"
    assert outcomes["track"] == outcomes["identify"] == "success"
    batch = await invoke(pool, "default", settings, sample_batch())
    assert batch.outcome == "unsupported_event_type" and batch.error.type == "EventNotSupported"


@pytestmark_async
async def test_json_webhook_posts_the_event_with_its_secret_header(pool, dest) -> None:
    settings = settings_for("json-webhook", dest)
    r = await invoke(pool, "json-webhook", settings)
    assert (r.outcome, r.result) == ("success", {"status": 200}), r.error
    (got,) = dest.received("/hook")
    assert got.method == "POST" and got.headers["content-type"] == "application/json"
    assert got.headers["x-webhook-secret"] == settings["sharedSecret"]
    assert got.json() == template("json-webhook").sample_event
    assert r.requests[0]["request_headers"]["X-Webhook-Secret"] == "••••••"  # masked trace

    r = await invoke(pool, "json-webhook", {**settings, "secretHeader": "X-Auth"})
    assert dest.received("/hook")[1].headers["x-auth"] == settings["sharedSecret"]
    r = await invoke(pool, "json-webhook", {"url": settings["url"]}, sample_event("delete"))
    assert r.outcome == "success" and "x-webhook-secret" not in dest.received("/hook")[2].headers


@pytestmark_async
@pytest.mark.parametrize(
    ("status", "outcome"), [(500, "retry"), (429, "retry"), (400, "bad_request")]
)
async def test_json_webhook_retries_server_errors_only(pool, dest, status, outcome) -> None:
    dest.answer("/hook", Answer(status, {"error": "nope"}))
    r = await invoke(pool, "json-webhook", settings_for("json-webhook", dest))
    assert r.outcome == outcome, r.error
    assert len(dest.received("/hook")) == 1


@pytestmark_async
async def test_json_webhook_network_error_is_retried(pool) -> None:
    r = await invoke(pool, "json-webhook", {"url": "http://127.0.0.1:9/unreachable"})
    assert r.outcome == "retry" and r.error.type == "RetryError"
    assert "Could not reach" in r.error.message


@pytestmark_async
async def test_batch_webhook_groups_by_type_and_reports_per_event(pool, dest) -> None:
    settings = settings_for("batch-webhook", dest)
    batch = template("batch-webhook").sample_event
    assert [e["type"] for e in batch] == ["track", "identify", "track", "page"]
    r = await invoke(pool, "batch-webhook", settings)
    assert r.outcome == "success", r.error
    assert r.result == [{"status": 200}] * 4
    groups = {g.json()["type"]: g for g in dest.received("/batch")}
    assert sorted(groups) == ["identify", "page", "track"]  # one request per type
    for kind, got in groups.items():
        assert got.method == "POST" and got.headers["authorization"] == "Bearer bk_test_0123456789"
        assert got.headers["x-event-type"] == kind
        assert got.json()["events"] == [e for e in batch if e["type"] == kind]  # order kept
    assert any("3 group(s)" in log["message"] for log in r.logs)


@pytestmark_async
async def test_batch_webhook_failed_group_fails_only_its_events(pool, dest) -> None:
    # The server answers in arrival order; the groups go concurrently, so which group gets
    # the 500 is not known in advance: the results must name exactly that group's events.
    dest.answer("/batch", Answer(500, {"error": "down"}), Answer(200), Answer(200))
    batch = sample_batch()
    r = await invoke(pool, "batch-webhook", settings_for("batch-webhook", dest), batch)
    assert r.outcome == "success", r.error
    arrived = dest.received("/batch")
    failed_type = arrived[0].json()["type"]
    for event, result in zip(batch, r.result, strict=True):
        if event["type"] == failed_type:
            assert result["status"] == 500 and "500" in result["errormessage"]
        else:
            assert result == {"status": 200}


@pytestmark_async
async def test_batch_webhook_single_events_delegate_and_retry(pool, dest) -> None:
    settings = settings_for("batch-webhook", dest)
    r = await invoke(pool, "batch-webhook", settings, sample_event("screen"))
    assert r.outcome == "success", r.error
    (got,) = dest.received("/batch")
    assert got.json() == {"type": "screen", "events": [sample_event("screen")]}
    dest.answer("/batch", Answer(502))
    r = await invoke(pool, "batch-webhook", settings, sample_event("track"))
    assert r.outcome == "retry" and r.error.type == "RetryError"


@pytestmark_async
async def test_hmac_webhook_signature_verifies_in_python(pool, dest) -> None:
    settings = settings_for("hmac-webhook", dest)
    before = int(time.time())
    r = await invoke(pool, "hmac-webhook", settings)
    assert r.outcome == "success", r.error
    (got,) = dest.received("/signed")
    assert got.method == "POST" and got.json() == template("hmac-webhook").sample_event
    timestamp = got.headers["x-signature-timestamp"]
    assert before - 1 <= int(timestamp) <= int(time.time()) + 1
    expected = hmac.new(
        settings["signingSecret"].encode(), timestamp.encode() + b"." + got.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(got.headers["x-signature"], f"sha256={expected}")
    # A signature over the raw body: any other secret gives another one.
    wrong = hmac.new(b"other", timestamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-signature"] != f"sha256={wrong}"

    dest.answer("/signed", Answer(500))
    assert (await invoke(pool, "hmac-webhook", settings)).outcome == "retry"
    dest.answer("/signed", Answer(401))
    r = await invoke(pool, "hmac-webhook", settings)
    assert r.outcome == "invalid_settings" and r.error.type == "InvalidSettings"
    r = await invoke(pool, "hmac-webhook", {"url": settings["url"]})
    assert r.outcome == "invalid_settings" and "signingSecret" in r.error.message


@pytestmark_async
async def test_slack_message_builds_text_and_blocks(pool, dest) -> None:
    settings = settings_for("slack-message", dest)
    r = await invoke(pool, "slack-message", settings)
    assert r.outcome == "success", r.error
    (got,) = dest.received("/slack")
    body = got.json()
    assert got.method == "POST" and got.headers["content-type"] == "application/json"
    assert body["channel"] == "#growth"
    assert body["text"] == ":bell: *Order Completed* by user_7f3a9c21"
    assert body["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": body["text"]},
    }
    fields = {f["text"] for f in body["blocks"][1]["fields"]}
    assert "*order_id*\n50314b8e9bcf000000000000" in fields and "*revenue*\n25" in fields
    assert not any(f.startswith("*products*") for f in fields)  # nested values left out

    r = await invoke(pool, "slack-message", settings, sample_event("identify"))
    assert r.outcome == "success", r.error
    body = dest.received("/slack")[1].json()
    assert body["text"] == ":wave: New or updated user *Jane Kim*"
    assert "*email*\njane.kim@example.com" in {f["text"] for f in body["blocks"][1]["fields"]}

    r = await invoke(pool, "slack-message", {**settings, "events": ["Signed Up"]})
    assert r.outcome == "dropped" and len(dest.received("/slack")) == 2
    r = await invoke(pool, "slack-message", settings, sample_event("page"))
    assert r.outcome == "unsupported_event_type"
    dest.answer("/slack", Answer(429))
    assert (await invoke(pool, "slack-message", settings)).outcome == "retry"
    dest.answer("/slack", Answer(404, b"no_service"))
    assert (await invoke(pool, "slack-message", settings)).outcome == "invalid_settings"


@pytestmark_async
async def test_crm_upsert_sends_contact_with_basic_auth(pool, dest) -> None:
    settings = settings_for("crm-upsert", dest)
    dest.answer("/api/v2/contacts/upsert", Answer(200, {"id": "c_981", "created": True}))
    r = await invoke(pool, "crm-upsert", settings)
    assert r.outcome == "success", r.error
    assert r.result == {"id": "c_981", "created": True}
    (got,) = dest.received("/api/v2/contacts/upsert")
    assert got.method == "POST"
    scheme, credentials = got.headers["authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == "segment-sync:pa55:word-0123456789"
    body = got.json()
    assert body["match"] == "email"
    contact = body["contact"]
    assert contact["email"] == "jane.kim@example.com" and contact["externalId"] == "user_7f3a9c21"
    assert (contact["firstName"], contact["lastName"], contact["company"]) == (
        "Jane",
        "Kim",
        "Acme Inc.",
    )
    assert contact["customFields"] == {"name": "Jane Kim", "plan": "pro", "logins": 14,
                                       "createdAt": "2024-01-15T09:30:00.000Z"}  # fmt: skip
    assert "contact jane.kim@example.com created" in r.logs[0]["message"]


@pytestmark_async
@pytest.mark.parametrize(
    ("status", "outcome"),
    [(500, "retry"), (503, "retry"), (429, "retry"), (401, "invalid_settings"),
     (422, "message_rejected")],
)  # fmt: skip
async def test_crm_upsert_maps_answers_to_outcomes(pool, dest, status, outcome) -> None:
    dest.answer("/api/v2/contacts/upsert", Answer(status, {"error": "e"}))
    r = await invoke(pool, "crm-upsert", settings_for("crm-upsert", dest))
    assert r.outcome == outcome, r.error


@pytestmark_async
async def test_crm_upsert_rejects_identify_without_email(pool, dest) -> None:
    event = sample_event("identify")
    del event["traits"]["email"]
    r = await invoke(pool, "crm-upsert", settings_for("crm-upsert", dest), event)
    assert r.outcome == "message_rejected" and r.error.type == "ValidationError"
    assert "email" in r.error.message and dest.received() == []
    r = await invoke(pool, "crm-upsert", settings_for("crm-upsert", dest), sample_event("track"))
    assert r.outcome == "unsupported_event_type"


@pytestmark_async
async def test_token_refresh_fetches_one_token_for_two_calls(pool, dest) -> None:
    settings = settings_for("token-refresh", dest)
    dest.answer(
        "/oauth/token",
        TOKEN,
        Answer(200, {"access_token": "tok-2", "token_type": "Bearer", "expires_in": 3600}),
    )
    function_id = f"fn_token_{uuid.uuid4().hex}"  # one function: its cache is shared
    for _ in range(2):
        r = await invoke(pool, "token-refresh", settings, function_id=function_id)
        assert r.outcome == "success", r.error
    (token_request,) = dest.received("/oauth/token")
    assert token_request.method == "POST"
    assert parse_qs(token_request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["events:write"],
    }
    client = base64.b64decode(token_request.headers["authorization"].removeprefix("Basic "))
    assert client == b"client_abc:cs_test_0123456789"
    calls = dest.received("/v1/events")
    assert [c.headers["authorization"] for c in calls] == ["Bearer tok-1"] * 2
    assert calls[0].json() == template("token-refresh").sample_event

    # The API revokes the token: the call is retried and the token dropped from the cache,
    # so the next call fetches a new one.
    dest.answer("/v1/events", Answer(401, {"error": "invalid_token"}), Answer(200))
    r = await invoke(pool, "token-refresh", settings, function_id=function_id)
    assert r.outcome == "retry" and r.error.type == "RetryError"
    r = await invoke(pool, "token-refresh", settings, function_id=function_id)
    assert r.outcome == "success", r.error
    assert len(dest.received("/oauth/token")) == 2
    assert dest.received("/v1/events")[-1].headers["authorization"] == "Bearer tok-2"


@pytestmark_async
async def test_token_refresh_retries_server_errors_and_refused_clients(pool, dest) -> None:
    settings = settings_for("token-refresh", dest)
    dest.answer("/v1/events", Answer(500))
    assert (await invoke(pool, "token-refresh", settings)).outcome == "retry"
    dest.answer("/oauth/token", Answer(401, {"error": "invalid_client"}))
    r = await invoke(pool, "token-refresh", settings)
    assert r.outcome == "invalid_settings" and r.error.type == "InvalidSettings"


@pytestmark_async
@pytest.mark.parametrize("slug", TEMPLATE_SLUGS)
async def test_no_template_crashes_on_any_spec_event(pool, dest, slug) -> None:
    """Every template, every spec event type and a batch: a deliberate outcome, never a
    TypeError from an event it did not expect (Bad Request)."""
    settings = settings_for(slug, dest)
    for kind, event in sample_events().items():
        r = await invoke(pool, slug, settings, event)
        assert r.outcome in ("success", "unsupported_event_type", "dropped"), (kind, r.error)
    r = await invoke(pool, slug, settings, sample_batch())
    expected = "success" if slug == "batch-webhook" else "unsupported_event_type"
    assert r.outcome == expected, r.error
