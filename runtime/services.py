"""The runtime's one entry point: run a function's code on an event or a batch.

    result = await function_invoke(
        code=source, settings={"apiKey": "..."}, payload=event,
        function_id="fn_1", version_id="v3",
    )
    result.outcome      # "success", "retry", ...
    result.retryable    # True only for "retry" and "timeout"

See runtime/README.md for the outcomes, limits and what user code can use.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from runtime import limits
from runtime.masking import secrets_from_settings
from runtime.pool import WorkerPool, get_pool, shutdown_pool

# Outcomes, named as Segment's delivery categories (plus `dropped` for DropEvent).
SUCCESS = "success"
BAD_REQUEST = "bad_request"
INVALID_SETTINGS = "invalid_settings"
MESSAGE_REJECTED = "message_rejected"
UNSUPPORTED_EVENT_TYPE = "unsupported_event_type"
RETRY = "retry"
TIMEOUT = "timeout"
DROPPED = "dropped"
OUTCOMES = (
    SUCCESS,
    BAD_REQUEST,
    INVALID_SETTINGS,
    MESSAGE_REJECTED,
    UNSUPPORTED_EVENT_TYPE,
    RETRY,
    TIMEOUT,
    DROPPED,
)
RETRYABLE_OUTCOMES = frozenset({RETRY, TIMEOUT})

HANDLER_BY_TYPE = {
    "identify": "onIdentify",
    "track": "onTrack",
    "page": "onPage",
    "screen": "onScreen",
    "group": "onGroup",
    "alias": "onAlias",
    "delete": "onDelete",
}
BATCH_HANDLER = "onBatch"
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class InvocationError:
    type: str
    message: str
    # Where in the function's code it was thrown (1-based), when the runtime knows.
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        where = {} if self.line is None else {"line": self.line, "column": self.column}
        return {"type": self.type, "message": self.message, **where}


@dataclass(slots=True)
class InvocationResult:
    """What one invocation produced.

    ``result`` is the handler's return value (JSON-decoded), ``logs`` the console
    output in order (``{"level", "message"}``), ``requests`` one trace per `fetch`.
    """

    outcome: str
    error: InvocationError | None = None
    result: Any = None
    logs: list[dict[str, str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def retryable(self) -> bool:
        return self.outcome in RETRYABLE_OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "error": self.error.to_dict() if self.error is not None else None,
            "result": self.result,
            "logs": self.logs,
            "requests": self.requests,
            "duration_ms": self.duration_ms,
        }


def handler_for(payload: dict[str, Any] | list[Any]) -> str | InvocationResult:
    """The handler name for a payload, or the result that rejects the payload."""
    if isinstance(payload, list):
        if not all(isinstance(e, dict) for e in payload):
            return _rejected(MESSAGE_REJECTED, "InvalidEventPayload", "a batch holds event objects")
        return BATCH_HANDLER
    if not isinstance(payload, dict):
        return _rejected(MESSAGE_REJECTED, "InvalidEventPayload", "an event must be an object")
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        return _rejected(MESSAGE_REJECTED, "InvalidEventPayload", "the event has no type")
    handler = HANDLER_BY_TYPE.get(event_type)
    if handler is None:
        return _rejected(
            UNSUPPORTED_EVENT_TYPE, "EventNotSupported", f"{event_type} is not supported"
        )
    return handler


def missing_settings(settings: dict[str, Any], required: Iterable[str]) -> list[str]:
    return [name for name in required if settings.get(name) in (None, "")]


def _rejected(outcome: str, type_: str, message: str) -> InvocationResult:
    return InvocationResult(outcome=outcome, error=InvocationError(type_, message))


# allow_nan=False: NaN/Infinity are not JSON and would not parse in the worker. One
# encoder for every call (json.dumps with options builds a new one each time).
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_ascii_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _encode(value: Any) -> bytes:
    text = _encoder.encode(value)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Lone surrogates (from JSON such as "\ud800"): as escapes, which JavaScript
        # reads back as the same string.
        return _ascii_encoder.encode(value).encode()


async def function_invoke(
    *,
    code: str,
    settings: dict[str, Any],
    payload: dict[str, Any] | list[dict[str, Any]],
    function_id: str,
    version_id: str,
    required_settings: Iterable[str] = (),
    timeout_ms: int | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    pool: WorkerPool | None = None,
    workspace_id: str = "",
) -> InvocationResult:
    """Run ``code``'s handler for ``payload`` (an event, or a list for ``onBatch``).

    ``function_id`` picks the worker (sticky: globals and ``cache`` persist between
    calls) and, with ``version_id``, names the loaded code: pass a new
    ``version_id`` whenever ``code`` changes. ``on_event`` is called, as they
    happen, with ``{"type": "log", "level", "message"}`` and
    ``{"type": "request", ...trace}``. ``workspace_id`` names the tenant: a
    workspace's functions share worker processes (and fetch slots) only with each
    other (see runtime/README.md, "Tenant isolation"). Never raises for anything the
    code does: every failure is an outcome.
    """
    started = time.perf_counter()
    prepared = function_prepare(
        code=code,
        settings=settings,
        function_id=function_id,
        version_id=version_id,
        required_settings=required_settings,
        timeout_ms=timeout_ms,
        on_event=on_event,
        pool=pool,
        workspace_id=workspace_id,
    )
    result = await prepared_invoke(prepared=prepared, payload=payload)
    result.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    return result


@dataclass(frozen=True, slots=True)
class PreparedFunction:
    """A function's code with one set of settings, checked and encoded once, to run any
    number of events (``prepared_invoke``, ``prepared_event_json_invoke``): a delivery
    worker prepares each instance once per round, not each of its events."""

    code: str
    function_id: str
    version_id: str
    workspace_id: str
    settings_json: bytes
    secrets: tuple[str, ...]
    timeout_ms: int
    pool: WorkerPool
    on_event: Callable[[dict[str, Any]], None] | None = None
    # The outcome of every call when the settings are unusable (then nothing runs).
    rejected: InvocationResult | None = None


def function_prepare(
    *,
    code: str,
    settings: dict[str, Any],
    function_id: str,
    version_id: str,
    required_settings: Iterable[str] = (),
    timeout_ms: int | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    pool: WorkerPool | None = None,
    workspace_id: str = "",
) -> PreparedFunction:
    """``code`` with ``settings``, ready to run (the arguments are ``function_invoke``'s).
    Settings that are not an object, miss a required value or are not JSON make every
    call of it end ``invalid_settings`` without running code."""
    pool = pool or get_pool()
    timeout = timeout_ms if timeout_ms is not None else pool.config.default_timeout_ms
    prepared = partial(
        PreparedFunction,
        code=code,
        function_id=function_id,
        version_id=version_id,
        workspace_id=workspace_id,
        timeout_ms=max(1, min(int(timeout), limits.MAX_TIMEOUT_MS)),
        pool=pool,
        on_event=on_event,
    )
    rejected = _settings_rejected(settings, required_settings)
    if rejected is not None:
        return prepared(settings_json=b"", secrets=(), rejected=rejected)
    try:
        settings_json = _encode(settings)
    except (TypeError, ValueError, RecursionError) as exc:
        rejected = _rejected(
            INVALID_SETTINGS, "InvalidSettings", f"settings are not valid JSON: {exc}"
        )
        return prepared(settings_json=b"", secrets=(), rejected=rejected)
    return prepared(settings_json=settings_json, secrets=secrets_from_settings(settings))


def _settings_rejected(
    settings: dict[str, Any], required_settings: Iterable[str]
) -> InvocationResult | None:
    if not isinstance(settings, dict):
        return _rejected(INVALID_SETTINGS, "InvalidSettings", "settings must be an object")
    missing = missing_settings(settings, required_settings)
    if missing:
        return _rejected(
            INVALID_SETTINGS,
            "InvalidSettings",
            "Invalid Settings: missing required setting(s): " + ", ".join(missing),
        )
    return None


async def prepared_invoke(
    *, prepared: PreparedFunction, payload: dict[str, Any] | list[dict[str, Any]]
) -> InvocationResult:
    """Run ``prepared``'s handler for ``payload`` (an event, or a list for ``onBatch``).
    Its ``duration_ms`` is the invocation's, from sending to answer."""
    if prepared.rejected is not None:
        return _copy(prepared.rejected)
    handler = handler_for(payload)
    if isinstance(handler, InvocationResult):
        return handler
    try:
        payload_json = _encode(payload)
    except (TypeError, ValueError, RecursionError) as exc:
        return _rejected(MESSAGE_REJECTED, "InvalidEventPayload", f"not valid JSON: {exc}")
    return await _run(prepared, handler, payload_json)


async def prepared_event_json_invoke(
    *, prepared: PreparedFunction, event_json: str, event_type: str
) -> InvocationResult:
    """Run ``prepared``'s handler for one event given as the JSON text of an object (as
    stored) and its ``type``: sent as it is, never decoded and encoded again."""
    if prepared.rejected is not None:
        return _copy(prepared.rejected)
    handler = HANDLER_BY_TYPE.get(event_type)
    if handler is None or "\n" in event_json or "\t" in event_json:
        # An unknown type says so as any event would; raw newlines and tabs, which JSON
        # allows between tokens, would break the worker's line protocol.
        return await prepared_invoke(prepared=prepared, payload=json.loads(event_json))
    return await _run(prepared, handler, event_json.encode())


async def _run(prepared: PreparedFunction, handler: str, payload_json: bytes) -> InvocationResult:
    if len(payload_json) > MAX_PAYLOAD_BYTES:
        return _rejected(MESSAGE_REJECTED, "InvalidEventPayload", "the payload is too large")
    started = time.perf_counter()
    raw, streamed_logs, requests = await prepared.pool.invoke(
        function_id=prepared.function_id,
        version_id=prepared.version_id,
        code=prepared.code,
        handler=handler,
        workspace_id=prepared.workspace_id,
        settings_json=prepared.settings_json,
        payload_json=payload_json,
        timeout_ms=prepared.timeout_ms,
        on_event=prepared.on_event,
        secrets=prepared.secrets,
    )
    error = raw.get("e")
    outcome = raw.get("o")
    return InvocationResult(
        outcome=outcome if outcome in OUTCOMES else BAD_REQUEST,
        error=_error(error) if error else None,
        result=raw.get("r"),
        logs=raw.get("l") or streamed_logs,
        requests=requests,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )


def _copy(result: InvocationResult) -> InvocationResult:
    # Results are mutable (function_invoke sets duration_ms): each call gets its own.
    return InvocationResult(outcome=result.outcome, error=result.error)


def _error(error: dict[str, Any]) -> InvocationError:
    return InvocationError(
        str(error["type"]), str(error["message"]), error.get("line"), error.get("column")
    )


class VersionLike(Protocol):
    """What the runtime reads of a catalog FunctionVersion (no ORM access in async code)."""

    pk: Any
    function_id: Any
    code: str
    settings_schema: list[dict[str, Any]]


async def function_version_invoke(
    *,
    version: VersionLike,
    settings: dict[str, Any],
    payload: dict[str, Any] | list[dict[str, Any]],
    timeout_ms: int | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    pool: WorkerPool | None = None,
    workspace_id: str = "",
) -> InvocationResult:
    """Run a saved function version: its code, its required settings, its identity (so
    that a new version loads fresh code while globals stay per function). Pass the
    function's ``timeout_ms``; only the version's own fields are read."""
    return await function_invoke(
        payload=payload,
        **_version_call(version, settings, timeout_ms, on_event, pool, workspace_id),
    )


def function_version_prepare(
    *,
    version: VersionLike,
    settings: dict[str, Any],
    timeout_ms: int | None = None,
    pool: WorkerPool | None = None,
    workspace_id: str = "",
) -> PreparedFunction:
    """A saved function version with ``settings``, ready to run many events (what
    ``function_version_invoke`` runs, checked and encoded once)."""
    call = _version_call(version, settings, timeout_ms, None, pool, workspace_id)
    return function_prepare(**call)


def _version_call(
    version: VersionLike,
    settings: dict[str, Any],
    timeout_ms: int | None,
    on_event: Callable[[dict[str, Any]], None] | None,
    pool: WorkerPool | None,
    workspace_id: str,
) -> dict[str, Any]:
    return {
        "code": version.code,
        "settings": settings,
        "function_id": f"fn_{version.function_id}",
        "version_id": f"v_{version.pk}",
        "required_settings": [s["name"] for s in version.settings_schema if s.get("required")],
        "timeout_ms": timeout_ms,
        "on_event": on_event,
        "pool": pool,
        "workspace_id": workspace_id,
    }


def function_invoke_sync(**kwargs: Any) -> InvocationResult:
    """Blocking wrapper for management commands and scripts (not inside a running loop):
    runs :func:`function_invoke` on a private event loop and stops its workers."""

    async def run() -> InvocationResult:
        try:
            return await function_invoke(**kwargs)
        finally:
            await shutdown_pool()

    return asyncio.run(run())
