from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from catalog.events import function_group_name
from catalog.selectors import function_get, function_latest_number
from workspaces.selectors import workspace_access_for_slug

# Close codes sent after a refused handshake (browsers only see 1006 before accept).
CLOSE_NOT_FOUND = 4404


async def _current_user(scope: dict[str, Any]) -> Any:
    """The session's user as it is now, read afresh: the session in the scope is cached
    from the handshake, and a logout since then must count."""
    session_key = getattr(scope.get("session"), "session_key", None)
    if not session_key:
        return AnonymousUser()
    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    return await get_user({"session": session_store(session_key)})


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
        user = await _current_user(self.scope)
        if (
            await _latest_version_if_visible(user, route["workspace_slug"], self.function_id)
            is None
        ):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        payload = {key: value for key, value in event.items() if key != "type"}
        await self.send_json({"type": "function.changed", **payload})
