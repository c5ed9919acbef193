"""The Config API's preview endpoints: unsaved code and saved versions, run on the real
runtime. Rights are also in test_permissions.py's role table."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from catalog import preview
from catalog.services import function_update
from tests.conftest import SECRET_API_KEY, World

A = "/api/v1/workspaces/acme"
NEW = f"{A}/functions/preview/"
TRACK = {"type": "track", "event": "Signed Up", "userId": "u1"}
ECHO = """async function onTrack(event, settings) {
  console.log('track', event.event);
  return { event: event.event, region: settings.region || null };
}
async function onBatch(events, settings) {
  console.info('batch of', events.length);
  return events.map(() => ({ status: 200 }));
}"""


def _saved(world: World) -> str:
    return f"{A}/functions/{world.function.pk}/preview/"


def test_unsaved_code_runs_on_a_single_event(world: World, api) -> None:
    response = api("sally").post(
        NEW,
        {
            "code": ECHO,
            "settings_schema": [{"label": "Region"}],
            "settings": {"region": "eu"},
            "payload": TRACK,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outcome"] == "success"
    assert body["error"] is None
    assert body["result"] == {"event": "Signed Up", "region": "eu"}
    assert body["logs"] == [{"level": "log", "message": "track Signed Up"}]
    assert body["requests"] == [] and body["truncated"] is False
    assert body["duration_ms"] > 0


def test_an_array_runs_on_batch(world: World, api) -> None:
    response = api("olivia").post(
        NEW, {"code": ECHO, "payload": [TRACK, TRACK, TRACK]}, format="json"
    )
    body = response.json()
    assert body["outcome"] == "success"
    assert body["result"] == [{"status": 200}] * 3
    assert body["logs"] == [{"level": "info", "message": "batch of 3"}]


def test_a_syntax_error_has_line_and_column(world: World, api) -> None:
    code = "async function onTrack(event) {\n  return {;\n}"
    response = api("olivia").post(NEW, {"code": code, "payload": TRACK}, format="json")
    assert response.status_code == 200
    error = response.json()["error"]
    assert response.json()["outcome"] == "bad_request"
    assert error["type"] == "SyntaxError"
    assert (error["line"], error["column"]) == (2, 11)


def test_a_missing_required_setting_is_invalid_settings(world: World, api) -> None:
    # Webhook's LATEST requires apiKey.
    response = api("adam").post(_saved(world), {"payload": TRACK}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "invalid_settings"
    assert "apiKey" in body["error"]["message"]
    assert "line" not in body["error"]


def test_a_saved_version_runs_latest_by_default_or_the_one_asked(world: World, api) -> None:
    function_update(function=world.function, code=ECHO, actor=world.users["olivia"])
    adam = api("adam")
    settings = {"apiKey": SECRET_API_KEY, "region": "eu"}
    latest = adam.post(_saved(world), {"settings": settings, "payload": TRACK}, format="json")
    assert latest.json()["result"] == {"event": "Signed Up", "region": "eu"}
    first = adam.post(
        _saved(world), {"version": 1, "settings": settings, "payload": TRACK}, format="json"
    )
    # Version 1 is the default template: whatever it does, it is not ECHO.
    assert first.status_code == 200
    assert first.json()["result"] != latest.json()["result"]
    missing = adam.post(_saved(world), {"version": 9, "payload": TRACK}, format="json")
    assert missing.status_code == 404
    assert SECRET_API_KEY not in latest.content.decode() + first.content.decode()


def test_previews_write_no_audit_rows(world: World, api) -> None:
    before = AuditEvent.objects.count()
    api("olivia").post(NEW, {"code": ECHO, "payload": TRACK}, format="json")
    api("olivia").post(_saved(world), {"payload": TRACK}, format="json")
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payload": TRACK}, "code"),
        ({"code": 5, "payload": TRACK}, "code"),
        ({"code": ECHO}, "payload"),
        ({"code": ECHO, "payload": "track"}, "payload"),
        ({"code": ECHO, "payload": TRACK, "settings_schema": [{"label": "A", "type": "x"}]},
         "settings_schema"),
        ({"code": ECHO, "payload": TRACK, "settings": {"nope": "x"}}, "settings"),
        ({"code": "x" * (600 * 1024), "payload": TRACK}, "code"),
    ],
)  # fmt: skip
def test_malformed_input_is_400(world: World, api, body: dict, field: str) -> None:
    response = api("olivia").post(NEW, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_malformed_saved_preview_input_is_400(world: World, api) -> None:
    olivia = api("olivia")
    for body in ({}, {"payload": 5}, {"payload": TRACK, "version": 0}, {"payload": TRACK,
                 "settings": {"region": 5}}):  # fmt: skip
        assert olivia.post(_saved(world), body, format="json").status_code == 400, body
    raw = olivia.post(_saved(world), "{not json", content_type="application/json")
    assert raw.status_code == 400


@pytest.mark.parametrize(
    ("persona", "path", "status"),
    [
        ("rita", "webhook", 403),  # read-only: sees it, may not run it
        ("ruth", "webhook", 403),
        ("sally", "mailer", 404),  # outside her subset: not even visible
        ("sam", "webhook", 404),
        ("audrey", "new", 403),
        ("rita", "new", 403),
        ("gary", "new", 404),  # another workspace
        ("gary", "webhook", 404),
    ],
)
def test_no_rights_no_run(world: World, api, persona: str, path: str, status: int) -> None:
    url = {
        "new": NEW,
        "webhook": _saved(world),
        "mailer": f"{A}/functions/{world.other_function.pk}/preview/",
    }[path]
    body = {"code": ECHO, "payload": TRACK} if path == "new" else {"payload": TRACK}
    response = api(persona).post(url, body, format="json")
    assert response.status_code == status
    assert "outcome" not in response.json()


def test_over_the_rate_limit_is_429(
    world: World, api, monkeypatch: pytest.MonkeyPatch, rate_window_middle: float
) -> None:
    monkeypatch.setattr(preview, "PREVIEW_RATE_LIMIT", 2)
    olivia = api("olivia")
    body = {"code": ECHO, "payload": TRACK}
    assert [olivia.post(NEW, body, format="json").status_code for _ in range(2)] == [200, 200]
    refused = olivia.post(NEW, body, format="json")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Too many test runs")
    assert int(refused["Retry-After"]) == rate_window_middle
    # The saved-version endpoint shares the budget; another user has their own.
    assert olivia.post(_saved(world), {"payload": TRACK}, format="json").status_code == 429
    assert api("adam").post(NEW, body, format="json").status_code == 200


def test_preview_endpoints_are_in_the_openapi_schema(world: World, api) -> None:
    schema = api("olivia").get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = json.loads(schema.content)["paths"]
    new = paths["/api/v1/workspaces/{workspace_slug}/functions/preview/"]["post"]
    saved = paths["/api/v1/workspaces/{workspace_slug}/functions/{function_id}/preview/"]["post"]
    for operation in (new, saved):
        assert {"200", "429"} <= set(operation["responses"])
