"""The function events websocket: origin checks, authorization, and live notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from catalog.services import function_update
from functions_ide.asgi import application
from tests.conftest import World, build_world

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://127.0.0.1"


def _session_cookie(user: object) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(
    world: World, username: str | None, function_id: int, origin: bytes | None = ORIGIN
) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"host", b"127.0.0.1")]
    if origin is not None:
        headers.append((b"origin", origin))
    if username is not None:
        cookie = await sync_to_async(_session_cookie)(world.users[username])
        headers.append((b"cookie", cookie))
    path = f"/ws/w/acme/functions/{function_id}/events/"
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.fixture
async def aworld() -> AsyncIterator[World]:
    yield await sync_to_async(build_world)()
    # sync_to_async ran the ORM in a worker thread; close its connection so the test
    # database can be dropped at the end of the run.
    await sync_to_async(connections.close_all)()


async def test_member_who_sees_the_function_gets_live_saves(aworld: World) -> None:
    communicator, connected = await _connect(aworld, "ruth", aworld.function.pk)
    assert connected
    assert await communicator.receive_json_from() == {"type": "hello", "latest_version": 1}
    await sync_to_async(function_update)(
        function=aworld.function, code="// v2", actor=aworld.users["adam"]
    )
    event = await communicator.receive_json_from(timeout=2)
    assert event == {
        "type": "function.changed",
        "change": "function.saved",
        "version": 2,
        "actor": "adam",
    }
    await communicator.send_json_to({"type": "anything"})
    assert (await communicator.receive_json_from())["type"] == "error"
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("username", "which"),
    [
        ("gary", "function"),  # foreign workspace
        ("ruth", "other_function"),  # outside her subset
        ("audrey", "function"),  # no function role
        (None, "function"),  # anonymous
    ],
)
async def test_handshake_is_refused_without_access(
    aworld: World, username: str | None, which: str
) -> None:
    communicator, connected = await _connect(aworld, username, getattr(aworld, which).pk)
    assert not connected
    await communicator.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", None])
async def test_handshake_is_refused_from_foreign_or_missing_origin(
    aworld: World, origin: bytes | None
) -> None:
    communicator, connected = await _connect(aworld, "olivia", aworld.function.pk, origin)
    assert not connected
    await communicator.disconnect()


def _save_then_roll_back(world: World) -> None:
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        function_update(function=world.function, code="// doomed", actor=world.users["adam"])
        raise RuntimeError("roll back")


async def test_a_rolled_back_save_is_never_announced(aworld: World) -> None:
    communicator, connected = await _connect(aworld, "olivia", aworld.function.pk)
    assert connected
    await communicator.receive_json_from()
    await sync_to_async(_save_then_roll_back)(aworld)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


def _remove_member(world: World, username: str) -> None:
    from workspaces.services import member_remove

    member_remove(
        membership=world.acme.memberships.get(user=world.users[username]),
        actor=world.users["olivia"],
    )


def _log_out_everywhere(world: World, username: str) -> None:
    from django.contrib.sessions.models import Session

    user_id = str(world.users[username].pk)
    for session in Session.objects.all():
        if session.get_decoded().get("_auth_user_id") == user_id:
            session.delete()


@pytest.mark.parametrize("lose_access", [_remove_member, _log_out_everywhere])
async def test_losing_access_ends_the_stream(aworld: World, lose_access) -> None:
    communicator, connected = await _connect(aworld, "ruth", aworld.function.pk)
    assert connected
    await communicator.receive_json_from()
    await sync_to_async(lose_access)(aworld, "ruth")
    await sync_to_async(function_update)(
        function=aworld.function, code="// after", actor=aworld.users["adam"]
    )
    output = await communicator.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4404}
