"""What every websocket consumer shares: who is connected now, and how a refusal closes."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope  # the stubs' name for a consumer's scope

# Close codes sent after a refused handshake (browsers only see 1006 before accept).
CLOSE_NOT_FOUND = 4404  # no such thing, or not in a workspace of the user's
CLOSE_FORBIDDEN = 4403  # a member whose roles do not allow it
CLOSE_UNAUTHENTICATED = 4401


async def socket_user_now(scope: _ChannelScope) -> Any:
    """The session's user as it is now, read afresh: the session in the scope is cached
    from the handshake, and a logout since then must count."""
    session_key = getattr(scope.get("session"), "session_key", None)
    if not session_key:
        return AnonymousUser()
    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    return await get_user({**scope, "session": session_store(session_key)})
