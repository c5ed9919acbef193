"""The live tails (pipeline/consumers.py): the Source Debugger's events and Function Logs'
attempts, origin-checked, authorized on connect and again while open, pushed as they come."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client
from django.utils import timezone

from functions_ide.asgi import application
from pipeline import consumers
from pipeline.models import DeliveryAttempt, DeliveryJob, JobState
from pipeline.services import events_store
from tests.conftest import World, build_world
from tests.pipeline.conftest import track
from workspaces.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://127.0.0.1"
WAIT_S = 20  # the longest a push may take on a loaded machine; not a timing assertion


@pytest.fixture(autouse=True)
def _quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumers, "POLL_S", 0.05)
    monkeypatch.setattr(consumers, "ACCESS_CHECK_S", 0.05)


@pytest.fixture
async def aworld() -> AsyncIterator[World]:
    yield await sync_to_async(build_world)()
    await sync_to_async(connections.close_all)()


def _cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(
    world: World, username: str | None, path: str, origin: bytes = ORIGIN
) -> tuple[WebsocketCommunicator, bool, int | None]:
    headers = [(b"host", b"127.0.0.1"), (b"origin", origin)]
    if username is not None:
        headers.append((b"cookie", await sync_to_async(_cookie)(world.users[username])))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


def _debugger(world: World) -> str:
    return f"/ws/w/acme/sources/{world.source.pk}/debugger/"


def _logs(world: World) -> str:
    return f"/ws/w/acme/instances/{world.instance.pk}/logs/"


def _store(world: World, **fields: Any) -> None:
    event = {**track(**fields), "messageId": fields.get("messageId", "m")}
    events_store(source=world.source, events=[event], received_at=timezone.now())


def _finish_attempt(world: World, message_id: str) -> None:
    _store(world, messageId=message_id)
    job = DeliveryJob.objects.get(event__message_id=message_id, instance=world.instance)
    DeliveryAttempt.objects.create(
        job=job,
        instance_id=job.instance_id,
        number=1,
        worker="w",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        outcome="success",
        logs=[{"level": "log", "message": f"sent {message_id}"}],
        duration_ms=3,
    )
    DeliveryJob.objects.filter(pk=job.pk).update(state=JobState.DELIVERED)


async def test_the_debugger_sends_the_latest_events_then_new_ones(aworld: World) -> None:
    await sync_to_async(_store)(aworld, messageId="before", event="Old One")
    communicator, connected, _ = await _connect(aworld, "rita", _debugger(aworld))
    assert connected
    hello = await communicator.receive_json_from(timeout=WAIT_S)
    assert hello["type"] == "hello" and [i["name"] for i in hello["items"]] == ["Old One"]
    await sync_to_async(_store)(aworld, messageId="after", event="Live One", userId="u-9")
    pushed = await communicator.receive_json_from(timeout=WAIT_S)
    assert pushed["type"] == "new"
    [item] = pushed["items"]
    assert (item["type"], item["name"], item["userId"]) == ("track", "Live One", "u-9")
    assert item["event"]["messageId"] == "after" and item["receivedAt"].endswith("Z")
    await communicator.disconnect()


async def test_function_logs_push_a_new_attempt(aworld: World) -> None:
    communicator, connected, _ = await _connect(aworld, "ruth", _logs(aworld))
    assert connected
    assert await communicator.receive_json_from(timeout=WAIT_S) == {"type": "hello", "items": []}
    await sync_to_async(_finish_attempt)(aworld, "m-1")
    pushed = await communicator.receive_json_from(timeout=WAIT_S)
    [item] = pushed["items"]
    assert item["outcome"] == "success" and item["event"]["messageId"] == "m-1"
    assert item["logs"] == [{"level": "log", "message": "sent m-1"}]
    await communicator.send_json_to({"type": "anything"})
    assert (await communicator.receive_json_from(timeout=WAIT_S))["type"] == "error"
    await communicator.disconnect()


@pytest.mark.parametrize("which", [_debugger, _logs])
@pytest.mark.parametrize(
    ("username", "origin", "code"),
    [
        ("olivia", b"http://evil.example", None),  # refused at the handshake
        (None, ORIGIN, consumers.CLOSE_UNAUTHENTICATED),
        ("gary", ORIGIN, consumers.CLOSE_NOT_FOUND),
    ],
)
async def test_refused_sockets(
    aworld: World, which: Any, username: str | None, origin: bytes, code: int | None
) -> None:
    communicator, connected, close_code = await _connect(aworld, username, which(aworld), origin)
    assert not connected
    if code is not None:
        assert close_code == code
    await communicator.disconnect()


async def test_logs_need_the_right_to_view_the_function(aworld: World) -> None:
    # Mailer is outside ruth's subset; its logs are not hers to read.
    from catalog.services import instance_create

    def mailer_instance() -> int:
        return instance_create(
            function=aworld.other_function,
            source=aworld.source,
            name="Mailer (prod)",
            actor=aworld.users["olivia"],
        ).pk

    instance_id = await sync_to_async(mailer_instance)()
    path = f"/ws/w/acme/instances/{instance_id}/logs/"
    _, connected, code = await _connect(aworld, "ruth", path)
    assert not connected and code in (consumers.CLOSE_FORBIDDEN, consumers.CLOSE_NOT_FOUND)
    # sam administers sources: he sees the instance, not what its code logs.
    _, connected, code = await _connect(aworld, "sam", path)
    assert not connected and code == consumers.CLOSE_FORBIDDEN


async def test_a_member_removed_while_watching_is_cut_off(aworld: World) -> None:
    communicator, connected, _ = await _connect(aworld, "rita", _debugger(aworld))
    assert connected
    await communicator.receive_json_from(timeout=WAIT_S)
    await sync_to_async(
        Membership.objects.filter(workspace=aworld.acme, user=aworld.users["rita"]).delete
    )()
    output = await communicator.receive_output(timeout=WAIT_S)
    assert output == {"type": "websocket.close", "code": consumers.CLOSE_NOT_FOUND}
