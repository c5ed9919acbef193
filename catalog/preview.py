"""Test runs: a function's unsaved draft, or a saved version, run once on a test event.

The one service behind the Config API's preview endpoints and the IDE's test-run websocket:

    result = await function_preview_run(
        access=access, function_id=12, code=draft, settings_schema=schema,
        settings={"apiKey": "..."}, payload={"type": "track", ...}, on_event=forward,
    )
    result["outcome"], result["error"], result["truncated"]

It checks the caller's rights (a test run executes code with the workspace's network
access: Functions Admin on that function, or the right to create functions for a draft
that has no function yet), validates the input, counts the run against the caller's rate
limit and runs it through the runtime under an identity of its own, so that test runs
never share globals or ``cache`` with deliveries, nor one user's with another's.

It reads no database rows: callers resolve the function (``catalog.selectors.function_get``)
and any stored test values first, so it can run on the event loop of a websocket.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError

from catalog.services import MAX_CODE_BYTES
from catalog.settings_schema import (
    contains_bad_text,
    json_depth_check,
    setting_values_clean,
    settings_schema_clean,
)
from runtime.masking import MIN_SECRET_CHARS, masker_for
from runtime.pool import MAX_LOG_LINES, MAX_REQUESTS, shutdown_pool
from runtime.services import function_invoke
from workspaces.permissions import WorkspaceAccess

# Test runs per user, over a fixed window, shared by the API and the websocket.
# Test runs per user and minute (FUNCTIONS_TEST_RUNS_PER_MINUTE), API and websocket together.
PREVIEW_RATE_LIMIT: int = django_settings.FUNCTIONS_TEST_RUNS_PER_MINUTE
PREVIEW_RATE_WINDOW_S = 60
PREVIEW_RATE_KEY = "preview-runs:{user_id}:{window}"

PREVIEW_REFUSED = "Test runs need Functions Admin for this function."
PREVIEW_NEW_REFUSED = "Test runs of a new function need the Functions Admin role."

# What the worker logs in place of the rest when a run's console output hits its cap
# (runtime/js/worker.js, pushLog).
LOG_TRUNCATED_MARKER = "[runtime] log output truncated"

# Where user-code errors say they happened: the runtime describes syntax errors as
# "... (line 2, column 11)" (or "(line 2)" for import()), and stack frames of the
# function's code read "handler.js:LINE:COLUMN".
_LINE_COLUMN = re.compile(r"\(line (\d+)(?:, column (\d+))?\)")
_STACK_FRAME = re.compile(r"handler\.js:(\d+):(\d+)")

EventCallback = Callable[[dict[str, Any]], None]


class PreviewRateLimited(Exception):
    """Too many test runs in the current window; ``retry_after_s`` until the next one."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"Too many test runs: at most {PREVIEW_RATE_LIMIT} every {PREVIEW_RATE_WINDOW_S} s. "
            f"Try again in {retry_after_s} s."
        )


def preview_function_key(*, function_id: int | None, user_id: int) -> str:
    """The runtime identity of a user's test runs of a function (or of a new function):
    never ``fn_<id>``, the identity deliveries use."""
    return f"preview:{function_id if function_id is not None else 'new'}:{user_id}"


def preview_version_key(*, code: str, settings_schema: list[dict[str, Any]]) -> str:
    """Names the loaded code: the same draft reuses its context, any change loads anew."""
    digest = hashlib.sha256(code.encode())
    digest.update(b"\0" + json.dumps(settings_schema, sort_keys=True).encode())
    return digest.hexdigest()[:24]


def error_location(message: str) -> tuple[int, int | None] | None:
    """(line, column) of a user-code error from its message, when it says."""
    match = _LINE_COLUMN.search(message)
    if match:
        return int(match[1]), int(match[2]) if match[2] else None
    match = _STACK_FRAME.search(message)
    if match:
        return int(match[1]), int(match[2])
    return None


def result_truncated(result: dict[str, Any]) -> bool:
    """Whether the runtime capped this run's console output or its requests."""
    logs = result.get("logs") or []
    if len(logs) > MAX_LOG_LINES:
        return True
    if any(entry.get("message") == LOG_TRUNCATED_MARKER for entry in logs):
        return True
    return len(result.get("requests") or []) >= MAX_REQUESTS


def preview_secrets(*, settings_schema: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """The values of encrypted settings, longest first: masked wherever a run shows them."""
    found = {
        values[s["name"]]
        for s in settings_schema
        if s["encrypted"]
        and isinstance(values.get(s["name"]), str)
        and len(values[s["name"]]) >= MIN_SECRET_CHARS
    }
    return sorted(found, key=len, reverse=True)


def masked(value: Any, secrets: list[str]) -> Any:
    """``value`` (JSON) with every occurrence of a secret replaced by the runtime's mask.
    The runtime masks traces itself; logs, errors and results are the code's own words.
    Iterative: a result may nest as deep as the code likes."""
    if not secrets:
        return value
    text = masker_for(tuple(secrets)).mask  # the runtime's masker: linear in the text

    top: list[Any] = [None]
    # (value to copy, container of its copy, key of its copy there)
    pending: list[tuple[Any, Any, Any]] = [(value, top, 0)]
    while pending:
        item, parent, key = pending.pop()
        if isinstance(item, str):
            parent[key] = text(item)
        elif isinstance(item, dict):
            copy: dict[Any, Any] = {}
            for k, v in item.items():
                new_key = text(k) if isinstance(k, str) else k
                copy[new_key] = None
                pending.append((v, copy, new_key))
            parent[key] = copy
        elif isinstance(item, list):
            parent[key] = items = [None] * len(item)
            pending.extend((v, items, i) for i, v in enumerate(item))
        else:
            parent[key] = item
    return top[0]


def _preview_result(raw: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    result = masked(raw, secrets)
    error = result.get("error")
    if error is not None:
        error = dict(error)
        where = error_location(str(error.get("message", "")))
        if where is not None:
            error["line"] = where[0]
            if where[1] is not None:
                error["column"] = where[1]
        result["error"] = error
    result["truncated"] = result_truncated(result)
    return result


def _clean_code(code: Any) -> str:
    if not isinstance(code, str):
        raise ValidationError({"code": "Code must be text."})
    if contains_bad_text(code):
        raise ValidationError({"code": "Code cannot contain NUL characters or lone surrogates."})
    if len(code.encode()) > MAX_CODE_BYTES:
        raise ValidationError({"code": f"Code is larger than {MAX_CODE_BYTES // 1024} KB."})
    return code


def preview_input_clean(
    *, code: Any, settings_schema: Any, settings: Any, payload: Any
) -> tuple[str, list[dict[str, Any]], dict[str, Any], list[str]]:
    """Validate a test run's input: (code, schema, setting values, required names).

    Values are type-checked against the schema; a required setting left out is not an
    error here: the runtime answers it as the ``invalid_settings`` outcome, as a delivery
    would.
    """
    code = _clean_code(code)
    schema = settings_schema_clean([] if settings_schema is None else settings_schema)
    optional = [{**setting, "required": False} for setting in schema]
    plain, secret = setting_values_clean(schema=optional, values=settings)
    if not isinstance(payload, dict | list):
        raise ValidationError({"payload": "Must be an event object or an array of events."})
    json_depth_check(payload, field="payload")
    if contains_bad_text(payload):
        raise ValidationError(
            {"payload": "The event cannot contain NUL characters or lone surrogates."}
        )
    required = [s["name"] for s in schema if s["required"]]
    return code, schema, plain | secret, required


def preview_authorize(*, access: WorkspaceAccess, function_id: int | None) -> None:
    """Raise PermissionDenied unless ``access`` may run tests of that function (or of a
    new one). ``function_id`` must be one the caller resolved within ``access``."""
    if function_id is None:
        if not access.can_create_function:
            raise PermissionDenied(PREVIEW_NEW_REFUSED)
    elif not access.can_edit_function(function_id):
        raise PermissionDenied(PREVIEW_REFUSED)


async def preview_rate_limit_take(*, user_id: int) -> None:
    """Count one test run for ``user_id``; raise PreviewRateLimited over the limit."""
    now = time.time()
    window = int(now // PREVIEW_RATE_WINDOW_S)
    key = PREVIEW_RATE_KEY.format(user_id=user_id, window=window)
    await cache.aadd(key, 0, timeout=PREVIEW_RATE_WINDOW_S + 1)
    try:
        count = await cache.aincr(key)
    except ValueError:  # expired between the two calls
        await cache.aset(key, 1, timeout=PREVIEW_RATE_WINDOW_S + 1)
        count = 1
    if count > PREVIEW_RATE_LIMIT:
        retry_after = max(1, math.ceil((window + 1) * PREVIEW_RATE_WINDOW_S - now))
        raise PreviewRateLimited(retry_after)


async def function_preview_run(
    *,
    access: WorkspaceAccess,
    function_id: int | None,
    code: str,
    settings_schema: list[dict[str, Any]] | None,
    settings: dict[str, Any],
    payload: dict[str, Any] | list[dict[str, Any]],
    timeout_ms: int | None = None,
    on_event: EventCallback | None = None,
    on_start: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run ``code`` once on ``payload`` (an event, or an array for ``onBatch``) as a test.

    ``access`` is the caller's ``WorkspaceAccess``; ``function_id`` the function being
    tested, already resolved within it (None: a new, unsaved function). ``timeout_ms`` is
    the function's own limit (None: the platform default). ``on_event`` receives the
    runtime's streamed ``log`` and ``request`` events as they happen; ``on_start`` is
    called once the run is accepted, just before the code runs.

    Returns ``InvocationResult.to_dict()`` plus ``truncated``, with ``line`` and
    ``column`` in ``error`` when the error says where it happened; values of encrypted
    settings are masked in everything it returns or streams. Raises
    PermissionDenied, ValidationError (malformed input) or PreviewRateLimited; anything
    the code itself does is an outcome.
    """
    preview_authorize(access=access, function_id=function_id)
    code, schema, values, required = preview_input_clean(
        code=code, settings_schema=settings_schema, settings=settings, payload=payload
    )
    await preview_rate_limit_take(user_id=access.user_id)
    secrets = preview_secrets(settings_schema=schema, values=values)
    forward = on_event
    if on_event is not None and secrets:

        def forward(event: dict[str, Any]) -> None:
            on_event(masked(event, secrets))

    if on_start is not None:
        on_start()
    result = await function_invoke(
        code=code,
        settings=values,
        payload=payload,
        function_id=preview_function_key(function_id=function_id, user_id=access.user_id),
        version_id=preview_version_key(code=code, settings_schema=schema),
        required_settings=required,
        timeout_ms=timeout_ms,
        on_event=forward,
        # Test runs share worker processes only with the workspace's own functions.
        workspace_id=f"ws_{access.workspace.pk}",
    )
    return _preview_result(result.to_dict(), secrets)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the ASGI server above this thread, if any (asgiref records it in
    the threads that run sync views under ASGI)."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    if loop is None or pid != os.getpid() or loop.is_closed():
        return None
    return loop


def function_preview_run_sync(**kwargs: Any) -> dict[str, Any]:
    """:func:`function_preview_run` for sync code (the API views).

    Under ASGI it runs on the server's event loop, with its warm worker pool; with no loop
    above this thread (WSGI, tests, scripts) it runs on a private loop whose workers are
    stopped afterwards, as ``runtime.services.function_invoke_sync`` does.
    """
    if _server_loop() is not None:
        return async_to_sync(function_preview_run)(**kwargs)

    async def run_then_stop() -> dict[str, Any]:
        try:
            return await function_preview_run(**kwargs)
        finally:
            await shutdown_pool()

    return async_to_sync(run_then_stop, force_new_loop=True)()
