"""The preview service: rights, input checks, the runtime identity of test runs, error
locations, truncation and the per-user rate limit. Real Node workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError

from catalog import preview
from runtime import pool as pool_module
from runtime.pool import shutdown_pool
from runtime.services import function_version_invoke
from tests.conftest import SCHEMA, SECRET_API_KEY, World
from workspaces.permissions import WorkspaceAccess
from workspaces.selectors import workspace_access_for_slug

TRACK = {"type": "track", "event": "Signed Up", "userId": "u1"}
ECHO = "async function onTrack(event, settings) { console.log('got', event.event); return 1 }"
COUNTER = "let n = 0;\nasync function onTrack(event) { n += 1; return n }"


@pytest.fixture
def access(world: World) -> dict[str, WorkspaceAccess]:
    return {
        name: workspace_access_for_slug(user=world.users[name], slug="acme")
        for name in ("olivia", "adam", "sally", "rita", "ruth", "sam")
    }


@pytest.fixture
async def pool_stopped() -> AsyncIterator[None]:
    yield
    await shutdown_pool()


async def _run(access: WorkspaceAccess, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "function_id": None,
        "code": ECHO,
        "settings_schema": [],
        "settings": {},
        "payload": TRACK,
    }
    return await preview.function_preview_run(access=access, **(args | kwargs))


@pytest.mark.parametrize(
    ("message", "where"),
    [
        ("Unexpected token ';' (line 2, column 11)", (2, 11)),
        ("import() is not available in functions (line 4); use the provided globals", (4, None)),
        ("boom\n    at onTrack (handler.js:7:13)\n    at lib:lodash:1:2", (7, 13)),
        ("Cannot read properties of undefined (reading 'x')", None),
        ("request to http://line.example failed (line up)", None),
    ],
)
def test_error_location_is_read_from_the_message(message: str, where: Any) -> None:
    assert preview.error_location(message) == where


def test_preview_identity_is_apart_from_deliveries_and_other_users() -> None:
    keys = {
        preview.preview_function_key(function_id=12, user_id=1),
        preview.preview_function_key(function_id=12, user_id=2),
        preview.preview_function_key(function_id=None, user_id=1),
        preview.preview_function_key(function_id=13, user_id=1),
    }
    assert len(keys) == 4
    assert not any(key.startswith("fn_") for key in keys)
    same = preview.preview_version_key(code="a", settings_schema=[])
    assert same == preview.preview_version_key(code="a", settings_schema=[])
    assert same != preview.preview_version_key(code="b", settings_schema=[])
    assert same != preview.preview_version_key(code="a", settings_schema=[{"name": "x"}])


async def test_a_run_returns_the_invocation_result_with_truncated(
    access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    started: list[bool] = []
    events: list[dict[str, Any]] = []
    result = await _run(
        access["olivia"], on_event=events.append, on_start=lambda: started.append(not events)
    )
    assert result["outcome"] == "success"
    assert result["result"] == 1
    assert result["logs"] == [{"level": "log", "message": "got Signed Up"}]
    assert result["truncated"] is False
    assert set(result) == {
        "outcome", "error", "result", "logs", "requests", "duration_ms", "truncated",
    }  # fmt: skip
    assert started == [True]  # once, before anything was streamed
    assert events == [{"type": "log", "level": "log", "message": "got Signed Up"}]


async def test_globals_are_kept_apart_from_deliveries_and_per_user(
    world: World, access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    fid = world.function.pk
    settings = {"apiKey": SECRET_API_KEY}
    for expected in (1, 2):
        result = await _run(
            access["olivia"],
            function_id=fid,
            code=COUNTER,
            settings_schema=SCHEMA,
            settings=settings,
        )
        assert result["result"] == expected
    adam = await _run(
        access["adam"], function_id=fid, code=COUNTER, settings_schema=SCHEMA, settings=settings
    )
    assert adam["result"] == 1
    version = SimpleNamespace(pk=999, function_id=fid, code=COUNTER, settings_schema=[])
    delivery = await function_version_invoke(version=version, settings={}, payload=TRACK)
    assert delivery.result == 1


async def test_a_missing_required_setting_is_the_invalid_settings_outcome(
    access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    result = await _run(access["olivia"], settings_schema=SCHEMA, settings={"region": "eu"})
    assert result["outcome"] == "invalid_settings"
    assert "apiKey" in result["error"]["message"]


async def test_a_syntax_error_says_where(
    access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    result = await _run(access["olivia"], code="async function onTrack(e) {\n  let x = ;\n}")
    assert result["outcome"] == "bad_request"
    assert result["error"]["type"] == "SyntaxError"
    assert (result["error"]["line"], result["error"]["column"]) == (2, 11)


async def test_capped_logs_are_flagged_truncated(
    access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    code = (
        "async function onTrack() { for (let i = 0; i < 5000; i++) console.log('x'.repeat(100)) }"
    )
    result = await _run(access["olivia"], code=code)
    assert result["outcome"] == "success"
    assert result["truncated"] is True
    assert result["logs"][-1]["message"] == preview.LOG_TRUNCATED_MARKER


async def test_an_endless_function_times_out(
    access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    code = "async function onTrack() { await null; while (true) {} }"
    result = await _run(access["olivia"], code=code, timeout_ms=200)
    assert result["outcome"] == "timeout"


@pytest.mark.parametrize(
    ("persona", "function"),
    [("rita", "function"), ("ruth", "function"), ("sally", "other_function"), ("sam", None)],
)
async def test_runs_need_functions_admin_on_the_function(
    world: World, access: dict[str, WorkspaceAccess], persona: str, function: str | None
) -> None:
    function_id = getattr(world, function).pk if function else None
    with pytest.raises(PermissionDenied):
        await _run(access[persona], function_id=function_id)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": 5}, "code"),
        ({"code": "x" * (600 * 1024)}, "code"),
        ({"code": "ok\x00"}, "code"),
        ({"settings_schema": [{"label": "A", "type": "float"}]}, "settings_schema"),
        ({"settings_schema": "nope"}, "settings_schema"),
        ({"settings": {"nope": "x"}}, "settings"),
        ({"settings_schema": SCHEMA, "settings": {"region": 5}}, "settings"),
        ({"settings": []}, "settings"),
        ({"payload": "track"}, "payload"),
        ({"payload": {"type": "track", "event": "\x00"}}, "payload"),
    ],
)
async def test_malformed_input_is_refused_before_running(
    access: dict[str, WorkspaceAccess], changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await _run(access["olivia"], **changes)
    assert field in caught.value.message_dict


async def test_runs_are_rate_limited_per_user(
    access: dict[str, WorkspaceAccess],
    pool_stopped: None,
    monkeypatch: pytest.MonkeyPatch,
    rate_window_middle: float,
) -> None:
    monkeypatch.setattr(preview, "PREVIEW_RATE_LIMIT", 2)
    for _ in range(2):
        assert (await _run(access["olivia"]))["outcome"] == "success"
    with pytest.raises(preview.PreviewRateLimited) as caught:
        await _run(access["olivia"])
    assert caught.value.retry_after_s == rate_window_middle
    assert str(caught.value).startswith("Too many test runs")
    assert f"Try again in {caught.value.retry_after_s} s" in str(caught.value)
    # Malformed input is refused before it counts; another user has a budget of their own.
    with pytest.raises(ValidationError):
        await _run(access["olivia"], payload="x")
    assert (await _run(access["adam"]))["outcome"] == "success"


async def test_encrypted_values_are_masked_in_logs_results_and_errors(
    access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    code = """async function onTrack(event, settings) {
  console.log('key is', settings.apiKey);
  return { key: settings.apiKey, [settings.apiKey]: 1, region: settings.region };
}
async function onIdentify(event, settings) { throw new Error('bad key ' + settings.apiKey) }"""
    events: list[dict[str, Any]] = []
    settings = {"apiKey": SECRET_API_KEY, "region": "europe-west"}
    result = await _run(
        access["olivia"],
        code=code,
        settings_schema=SCHEMA,
        settings=settings,
        on_event=events.append,
    )
    assert result["outcome"] == "success"
    assert SECRET_API_KEY not in repr(result) + repr(events)
    assert result["logs"][0]["message"].startswith("key is ••")
    assert events == [{"type": "log", **result["logs"][0]}]
    # Plain settings are the code's to show.
    assert result["result"]["region"] == "europe-west"
    failed = await _run(
        access["olivia"],
        code=code,
        settings_schema=SCHEMA,
        settings=settings,
        payload={"type": "identify", "userId": "u1"},
    )
    assert failed["outcome"] == "bad_request"
    assert SECRET_API_KEY not in failed["error"]["message"]


def test_the_sync_variant_stops_the_workers_of_its_private_loop(
    access: dict[str, WorkspaceAccess],
) -> None:
    before = set(pool_module._live_pids)
    result = preview.function_preview_run_sync(
        access=access["olivia"],
        function_id=None,
        code=ECHO,
        settings_schema=[],
        settings={},
        payload=TRACK,
    )
    assert result["outcome"] == "success"
    assert set(pool_module._live_pids) == before


async def test_the_sync_variant_runs_on_the_servers_loop_under_asgi(
    access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    # As a sync view under ASGI: a thread started by sync_to_async, below a running loop.
    result = await sync_to_async(preview.function_preview_run_sync)(
        access=access["olivia"],
        function_id=None,
        code=ECHO,
        settings_schema=[],
        settings={},
        payload=TRACK,
    )
    assert result["outcome"] == "success"
    pool = pool_module._pools.get(asyncio.get_running_loop())
    assert pool is not None and not pool.closed  # warm, shared with websocket runs


async def test_test_runs_run_in_their_workspaces_partition(
    world: World, access: dict[str, WorkspaceAccess], pool_stopped: None
) -> None:
    """Tenant isolation: a test run shares worker processes only with its workspace."""
    result = await _run(access["olivia"])
    assert result["outcome"] == "success"
    pool = pool_module._pools[asyncio.get_running_loop()]
    assert set(pool.partitions) == {f"ws_{world.acme.pk}"}
