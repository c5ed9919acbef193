"""Live tails over websockets: a source's events (the Source Debugger) and an instance's
invocations (Function Logs).

The delivery workers and the web servers are separate processes, and the default channel
layer is in memory, so group messages from a worker would never arrive: each socket
instead polls the database every POLL_S for the latest rows (a cheap indexed query) and
sends those it has not sent. The window is re-read whole rather than "ids above the last
one", because ids are taken at insert and a transaction that commits later may carry a
lower one. Access is checked on connect and again every ACCESS_CHECK_S, with the session
read afresh: a member removed, narrowed or signed out since stops receiving.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from catalog.models import Source
from catalog.selectors import instance_get, source_get
from pipeline.models import DeliveryAttempt, Event
from pipeline.selectors import instance_attempts_recent, source_recent_events
from pipeline.tracking import iso
from workspaces.selectors import workspace_access_for_slug
from workspaces.sockets import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    socket_user_now,
)

POLL_S = 1.0
ACCESS_CHECK_S = 5.0
WINDOW = 50  # rows read per poll, and sent on connect


def event_row(event: Event) -> dict[str, Any]:
    payload = event.payload
    return {
        "id": event.pk,
        "type": event.type,
        "name": payload.get("event") or payload.get("name") or "",
        "userId": payload.get("userId"),
        "anonymousId": payload.get("anonymousId"),
        "receivedAt": iso(event.received_at),
        "event": payload,
    }


def attempt_row(attempt: DeliveryAttempt) -> dict[str, Any]:
    event = attempt.job.event
    return {
        "id": attempt.pk,
        "attempt": attempt.number,
        "outcome": attempt.outcome,
        "error_type": attempt.error_type,
        "error_message": attempt.error_message,
        "logs": attempt.logs,
        "requests": attempt.requests,
        "duration_ms": attempt.duration_ms,
        "finished_at": iso(attempt.finished_at) if attempt.finished_at else None,
        "event": {
            "type": event.type,
            "messageId": event.message_id,
            "name": event.payload.get("event") or "",
        },
    }


class _LiveTail(AsyncJsonWebsocketConsumer):
    """Sends ``hello`` with the latest rows, then ``new`` with rows as they appear."""

    _task: asyncio.Task[None] | None = None

    def _authorize(self, user: Any, route: dict[str, Any]) -> int | None:
        """None when ``user`` may watch, else the close code; sets what it watches."""
        raise NotImplementedError

    def _latest(self) -> list[dict[str, Any]]:
        """The latest rows, newest first, as sent."""
        raise NotImplementedError

    async def _refusal(self, user: Any) -> int | None:
        if not user.is_authenticated:
            return CLOSE_UNAUTHENTICATED
        route = self.scope["url_route"]["kwargs"]
        return await database_sync_to_async(self._authorize)(user, route)

    async def connect(self) -> None:
        refusal = await self._refusal(self.scope["user"])
        if refusal is not None:
            await self.close(code=refusal)
            return
        await self.accept()
        rows = await database_sync_to_async(self._latest)()
        self._sent = {row["id"] for row in rows}
        await self.send_json({"type": "hello", "items": rows})
        self._task = asyncio.create_task(self._tail())

    async def _tail(self) -> None:
        loop = asyncio.get_running_loop()
        checked_at = loop.time()
        while True:
            await asyncio.sleep(POLL_S)
            if loop.time() - checked_at >= ACCESS_CHECK_S:
                checked_at = loop.time()
                refusal = await self._refusal(await socket_user_now(self.scope))
                if refusal is not None:
                    await self.close(code=refusal)
                    return
            rows = await database_sync_to_async(self._latest)()
            new = [row for row in rows if row["id"] not in self._sent]
            # The window is what can still appear: the ids below it are forgotten.
            self._sent = {row["id"] for row in rows}
            if new:
                await self.send_json({"type": "new", "items": new})

    async def disconnect(self, code: int) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json({"type": "error", "message": "This channel is read-only."})


class SourceDebuggerConsumer(_LiveTail):
    """The Source Debugger: a source's events as they arrive, for whoever sees sources."""

    source: Source

    def _authorize(self, user: Any, route: dict[str, Any]) -> int | None:
        try:
            access = workspace_access_for_slug(user=user, slug=route["workspace_slug"])
            source = source_get(access=access, source_id=int(route["source_id"]))
        except Http404:
            return CLOSE_NOT_FOUND
        if not access.can_view_sources:
            return CLOSE_FORBIDDEN
        self.source = source
        return None

    def _latest(self) -> list[dict[str, Any]]:
        events = source_recent_events(source=self.source, limit=WINDOW)
        return [event_row(event) for event in events]


class InstanceLogsConsumer(_LiveTail):
    """Function Logs: an instance's invocations as they finish, for whoever may view its
    function (logs may show what the code handles)."""

    instance_id = 0

    def _authorize(self, user: Any, route: dict[str, Any]) -> int | None:
        try:
            access = workspace_access_for_slug(user=user, slug=route["workspace_slug"])
            instance = instance_get(access=access, instance_id=int(route["instance_id"]))
        except Http404:
            return CLOSE_NOT_FOUND
        if not access.can_view_function(instance.function_id):
            return CLOSE_FORBIDDEN
        self.instance_id = instance.pk
        return None

    def _latest(self) -> list[dict[str, Any]]:
        attempts = instance_attempts_recent(instance_id=self.instance_id, limit=WINDOW)
        return [attempt_row(attempt) for attempt in attempts]
