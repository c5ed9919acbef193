from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from catalog.events import function_group_name
from catalog.preview import PreviewRateLimited, function_preview_run, preview_authorize
from catalog.selectors import function_get, function_latest_number
from catalog.services import MAX_CODE_BYTES
from catalog.settings_schema import settings_schema_clean
from editor.selectors import test_run_input
from runtime.services import MAX_PAYLOAD_BYTES
from workspaces.selectors import workspace_access_for_slug
from workspaces.sockets import CLOSE_NOT_FOUND, socket_user_now


@database_sync_to_async
def _latest_version_if_visible(user: Any, slug: str, function_id: int) -> int | None:
    try:
        access = workspace_access_for_slug(user=user, slug=slug)
        function = function_get(access=access, function_id=function_id)
    except Http404:
        return None
    return function_latest_number(function=function)


class FunctionEventsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes saves, restores, deploys and deletes of one function to its open editors,
    so that two people editing the same function see each other's new versions."""

    group: str = ""
    function_id: int = 0

    async def connect(self) -> None:
        route = self.scope["url_route"]["kwargs"]
        function_id = int(route["function_id"])
        latest = await _latest_version_if_visible(
            self.scope["user"], route["workspace_slug"], function_id
        )
        if latest is None:
            # Same answer for "no such function" and "not yours": nothing to learn here.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.function_id = function_id
        self.group = function_group_name(function_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "latest_version": latest})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The channel is one-way; changes go through the API and pages, which check roles.
        await self.send_json({"type": "error", "message": "This channel is read-only."})

    async def function_changed(self, event: dict[str, Any]) -> None:
        # Access is checked again for every event: a member removed, narrowed in scope or
        # signed out since connecting must stop hearing about the function.
        route = self.scope["url_route"]["kwargs"]
        user = await socket_user_now(self.scope)
        if (
            await _latest_version_if_visible(user, route["workspace_slug"], self.function_id)
            is None
        ):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        payload = {key: value for key, value in event.items() if key != "type"}
        await self.send_json({"type": "function.changed", **payload})


# --- test runs -----------------------------------------------------------------------------

CLOSE_UNAUTHENTICATED = 4401
# Bigger than any valid run message (code, payload and settings at their limits): refused
# before it is parsed.
MAX_RUN_MESSAGE_CHARS = MAX_CODE_BYTES + MAX_PAYLOAD_BYTES + 256 * 1024
MAX_RUN_ID_CHARS = 64
OUTCOME_FIELDS = ("outcome", "error", "result", "duration_ms", "truncated")

logger = logging.getLogger(__name__)


class _Close(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class _RunRequest:
    run_id: str
    function_id: int | None
    code: Any
    settings_schema: Any
    settings: dict[str, Any]
    payload: Any
    test_case_id: int | None


def _optional_id(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused(f"{name} must be a number or null.")
    return value


def _run_request(content: dict[str, Any]) -> _RunRequest:
    """Shape checks of a run message; the preview service checks the rest."""
    run_id = content.get("run_id")
    if not isinstance(run_id, str) or not 0 < len(run_id) <= MAX_RUN_ID_CHARS:
        raise _Refused(f"run_id must be a text of 1 to {MAX_RUN_ID_CHARS} characters.")
    settings = content.get("settings")
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise _Refused("settings must be an object of setting values.")
    return _RunRequest(
        run_id=run_id,
        function_id=_optional_id(content.get("function_id"), "function_id"),
        code=content.get("code"),
        settings_schema=content.get("settings_schema"),
        settings=settings,
        payload=content.get("payload"),
        test_case_id=_optional_id(content.get("test_case_id"), "test_case_id"),
    )


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "Refused."


@database_sync_to_async
def _is_member(user: Any, slug: str) -> bool:
    try:
        workspace_access_for_slug(user=user, slug=slug)
    except Http404:
        return False
    return True


@database_sync_to_async
def _prepare_run(user: Any, slug: str, request: _RunRequest) -> dict[str, Any]:
    """Authorize one run afresh and fill in stored test values: the keyword arguments of
    ``function_preview_run``. Raises _Close, PermissionDenied, ValidationError, _Refused."""
    if not user.is_authenticated:
        raise _Close(CLOSE_UNAUTHENTICATED)
    try:
        access = workspace_access_for_slug(user=user, slug=slug)
    except Http404:
        raise _Close(CLOSE_NOT_FOUND) from None
    function = None
    if request.function_id is not None:
        try:
            function = function_get(access=access, function_id=request.function_id)
        except Http404:
            raise _Refused("No such function.") from None
    preview_authorize(access=access, function_id=request.function_id)
    schema = settings_schema_clean(
        [] if request.settings_schema is None else request.settings_schema
    )
    try:
        run_input = test_run_input(
            user=user,
            function=function,
            settings_schema=schema,
            settings=request.settings,
            payload=request.payload,
            test_case_id=request.test_case_id,
        )
    except Http404:
        raise _Refused("No such test case.") from None
    return {
        "access": access,
        "function_id": request.function_id,
        "code": request.code,
        "settings_schema": schema,
        "settings": run_input.settings,
        "payload": run_input.payload,
        "timeout_ms": function.timeout_ms if function is not None else None,
    }


class TestRunConsumer(AsyncJsonWebsocketConsumer):
    """Runs test runs of a workspace's functions (drafts included) and streams their logs,
    request traces and outcome. Every run message is authorized afresh: Functions Admin on
    the function (``function_id``), or the right to create one (``function_id`` null).

    One run at a time: a new run, a ``cancel`` message or a disconnect cancels the one in
    progress (the runtime still stops its code at the time limit).
    """

    __test__ = False  # not a pytest test class

    run_task: asyncio.Task[None] | None = None
    run_id: str = ""
    run_answered = False  # the current run's outcome (or error) has been sent

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await _is_member(user, self.scope["url_route"]["kwargs"]["workspace_slug"]):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self._cancel_run(notify=False)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if text_data is None:
            await self._error("Send JSON text messages.")
            return
        if len(text_data) > MAX_RUN_MESSAGE_CHARS:
            await self._error("The message is too large.")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._error("The message is not valid JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "cancel":
            await self._cancel_run(notify=True)
            return
        if kind != "run":
            await self._error('Unknown message: send {"type": "run", ...} or {"type": "cancel"}.')
            return
        run_id = content.get("run_id") if isinstance(content.get("run_id"), str) else None
        try:
            request = _run_request(content)
            user = await socket_user_now(self.scope)
            slug = self.scope["url_route"]["kwargs"]["workspace_slug"]
            prepared = await _prepare_run(user, slug, request)
        except _Close as exc:
            await self._cancel_run(notify=False)
            await self.close(code=exc.code)
            return
        except (_Refused, PermissionDenied, ValidationError) as exc:
            await self._error(_refusal(exc), run_id=run_id)
            return
        await self._cancel_run(notify=True)
        self.run_id, self.run_answered = request.run_id, False
        self.run_task = asyncio.create_task(self._run(request.run_id, prepared))

    async def _error(self, message: str, run_id: str | None = None) -> None:
        error: dict[str, Any] = {"type": "error", "message": message}
        if run_id is not None:
            error["run_id"] = run_id
        await self.send_json(error)

    async def _cancel_run(self, *, notify: bool) -> None:
        task, run_id = self.run_task, self.run_id
        self.run_task = None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if notify and not self.run_answered:
            await self.send_json({"type": "run.cancelled", "run_id": run_id})

    async def _run(self, run_id: str, prepared: dict[str, Any]) -> None:
        """Run the preview as a task of its own and forward what it streams, in order."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        live = True

        def push(message: dict[str, Any] | None) -> None:
            # The runtime calls back on this event loop (a pool belongs to one loop).
            if live:
                queue.put_nowait(message)

        def on_event(event: dict[str, Any]) -> None:
            push({**event, "run_id": run_id})

        async def invoke() -> None:
            try:
                result = await function_preview_run(
                    **prepared,
                    on_event=on_event,
                    on_start=lambda: push({"type": "run.started", "run_id": run_id}),
                )
            except (PermissionDenied, ValidationError, PreviewRateLimited) as exc:
                push({"type": "error", "run_id": run_id, "message": _refusal(exc)})
            except Exception:
                logger.exception("test run failed")
                push({"type": "error", "run_id": run_id, "message": "The test run failed."})
            else:
                outcome = {key: result[key] for key in OUTCOME_FIELDS}
                push({"type": "outcome", "run_id": run_id, **outcome})
            push(None)

        invocation = asyncio.ensure_future(invoke())
        try:
            while (message := await queue.get()) is not None:
                if message["type"] in ("outcome", "error"):
                    self.run_answered = True
                await self.send_json(message)
        finally:
            live = False
            invocation.cancel()
