"""The IDE's websockets: function events (origin checks, authorization, live notifications)
and test runs (authorized per message, streamed, cancellable, rate-limited)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from catalog.models import Function
from catalog.services import MAX_CODE_BYTES, function_update
from functions_ide.asgi import application
from runtime.pool import shutdown_pool
from tests.conftest import SCHEMA, SECRET_API_KEY, World, build_world
from tests.runtime.conftest import loopback_server

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


# --- the test-run websocket ------------------------------------------------------------------

SLOW_TRACK = {"type": "track", "event": "Signed Up", "userId": "u1"}
QUICK = "async function onTrack(event) { console.log('quick'); return 'done' }"
SLEEPY = "async function onTrack() { await new Promise((r) => setTimeout(r, 1000)); return 'late' }"


class _GatedHandler(BaseHTTPRequestHandler):
    """Answers /<name> once the test opens the gate of that name; counts requests."""

    gates: dict[str, threading.Event] = {}
    hits: list[str] = []

    def do_GET(self) -> None:
        name = self.path.strip("/").split("?")[0]
        self.hits.append(self.path)
        gate = self.gates.get(name)
        if gate is not None:
            gate.wait(timeout=5)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gated_server(settings) -> Iterator[tuple[str, type[_GatedHandler]]]:
    # Egress to 127.0.0.1 is refused unless allowed, as FUNCTIONS_EGRESS_ALLOWLIST does;
    # the pool of each test's event loop is created after this.
    settings.FUNCTIONS_EGRESS_ALLOWLIST = ["127.0.0.1"]
    handler = type("Handler", (_GatedHandler,), {"gates": {}, "hits": []})
    with loopback_server(handler) as url:
        yield url, handler
    for gate in handler.gates.values():
        gate.set()


@pytest.fixture
async def runtime_pool() -> AsyncIterator[None]:
    yield
    await shutdown_pool()


async def _runs(
    world: World, username: str | None, origin: bytes | None = ORIGIN
) -> tuple[WebsocketCommunicator, bool, Any]:
    headers = [(b"host", b"127.0.0.1")]
    if origin is not None:
        headers.append((b"origin", origin))
    if username is not None:
        cookie = await sync_to_async(_session_cookie)(world.users[username])
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/w/acme/test-runs/", headers=headers)
    connected, detail = await communicator.connect()
    return communicator, connected, detail


def _run(run_id: str, code: str = QUICK, function_id: int | None = None, **extra: Any) -> dict:
    return {
        "type": "run",
        "run_id": run_id,
        "function_id": function_id,
        "code": code,
        "settings_schema": [],
        "settings": {},
        "payload": SLOW_TRACK,
    } | extra


def _deep_run(field: str, depth: int) -> str:
    """A run message with ``field`` nested ``depth`` levels deep, as text (too deep for
    json.dumps here)."""
    deep = {
        "payload": '{"deep": DEEP}',
        "settings": '{"region": DEEP}',
        "settings_schema": '[{"label": "A", "description": DEEP}]',
    }[field].replace("DEEP", "[" * depth + "]" * depth)
    message = json.dumps({**_run("r1"), field: "DEEP"})
    return message.replace('"DEEP"', deep)


async def _receive(communicator: WebsocketCommunicator) -> dict[str, Any]:
    return await communicator.receive_json_from(timeout=5)


async def test_anonymous_users_are_refused_with_4401(aworld: World) -> None:
    communicator, connected, code = await _runs(aworld, None)
    assert not connected and code == 4401
    await communicator.disconnect()


async def test_members_of_another_workspace_are_refused_with_4404(aworld: World) -> None:
    communicator, connected, code = await _runs(aworld, "gary")
    assert not connected and code == 4404
    await communicator.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", None])
async def test_a_foreign_or_missing_origin_is_refused(aworld: World, origin: bytes | None) -> None:
    communicator, connected, _ = await _runs(aworld, "olivia", origin)
    assert not connected
    await communicator.disconnect()


async def test_a_run_streams_logs_and_requests_before_its_outcome(
    aworld: World, gated_server: tuple[str, type[_GatedHandler]], runtime_pool: None
) -> None:
    url, handler = gated_server
    first = handler.gates["first"] = threading.Event()
    second = handler.gates["second"] = threading.Event()
    code = f"""async function onTrack(event) {{
  console.log('calling');
  const res = await fetch('{url}/first', {{ method: 'GET' }});
  console.warn('first answered', res.status);
  const again = await fetch('{url}/second');
  return again.status;
}}"""
    communicator, connected, _ = await _runs(aworld, "sally")
    assert connected
    await communicator.send_json_to(_run("r1", code, aworld.function.pk))
    assert await _receive(communicator) == {"type": "run.started", "run_id": "r1"}
    # The server has not answered yet: this log line can only have been streamed.
    assert await _receive(communicator) == {
        "type": "log", "run_id": "r1", "level": "log", "message": "calling",
    }  # fmt: skip
    first.set()
    trace = await _receive(communicator)
    assert trace["type"] == "request" and trace["run_id"] == "r1"
    assert trace["method"] == "GET" and trace["url"] == f"{url}/first"
    assert trace["status"] == 200 and trace["error"] is None
    assert {"duration_ms", "request_headers", "request_body", "response_headers",
            "response_body"} <= set(trace)  # fmt: skip
    log = await _receive(communicator)
    assert (log["level"], log["message"]) == ("warn", "first answered 200")
    # The second request is still held: no outcome can have been produced.
    assert await communicator.receive_nothing(timeout=0.2)
    second.set()
    assert (await _receive(communicator))["type"] == "request"
    outcome = await _receive(communicator)
    assert outcome == {
        "type": "outcome",
        "run_id": "r1",
        "outcome": "success",
        "error": None,
        "result": 200,
        "duration_ms": outcome["duration_ms"],
        "truncated": False,
    }
    await communicator.disconnect()


async def test_an_endless_function_ends_at_its_time_limit(
    aworld: World, runtime_pool: None
) -> None:
    await sync_to_async(Function.objects.filter(pk=aworld.function.pk).update)(timeout_ms=300)
    communicator, connected, _ = await _runs(aworld, "adam")
    assert connected
    endless = "async function onTrack() { await null; while (true) {} }"
    await communicator.send_json_to(_run("r1", endless, aworld.function.pk))
    assert (await _receive(communicator))["type"] == "run.started"
    outcome = await _receive(communicator)
    assert outcome["type"] == "outcome" and outcome["outcome"] == "timeout"
    assert outcome["error"]["type"] == "Timeout"
    await communicator.disconnect()


@pytest.mark.parametrize(("first", "second"), [("r1", "r2"), ("same", "same")])
async def test_a_second_run_cancels_the_first(
    aworld: World, runtime_pool: None, first: str, second: str
) -> None:
    communicator, connected, _ = await _runs(aworld, "olivia")
    assert connected
    if first == second:  # a run that already answered is not cancelled again
        await communicator.send_json_to(_run(first))
        assert [(await _receive(communicator))["type"] for _ in range(3)][-1] == "outcome"
    await communicator.send_json_to(_run(first, SLEEPY))
    assert await _receive(communicator) == {"type": "run.started", "run_id": first}
    await communicator.send_json_to(_run(second))
    assert await _receive(communicator) == {"type": "run.cancelled", "run_id": first}
    assert await _receive(communicator) == {"type": "run.started", "run_id": second}
    assert (await _receive(communicator))["run_id"] == second  # its log line
    outcome = await _receive(communicator)
    assert (outcome["type"], outcome["run_id"], outcome["result"]) == ("outcome", second, "done")
    # Nothing of the first comes after its cancellation.
    assert await communicator.receive_nothing(timeout=1.3)
    await communicator.disconnect()


async def test_a_cancel_message_cancels_the_run(aworld: World, runtime_pool: None) -> None:
    communicator, connected, _ = await _runs(aworld, "olivia")
    assert connected
    await communicator.send_json_to({"type": "cancel"})  # nothing running: nothing to say
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.send_json_to(_run("r1", SLEEPY))
    assert (await _receive(communicator))["type"] == "run.started"
    await communicator.send_json_to({"type": "cancel"})
    assert await _receive(communicator) == {"type": "run.cancelled", "run_id": "r1"}
    assert await communicator.receive_nothing(timeout=1.3)
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("username", "function"),
    [
        ("rita", "function"),  # read-only on every function
        ("rita", None),  # and no right to create one
        ("ruth", "function"),  # read-only on Webhook
        ("sally", "other_function"),  # Functions Admin outside her subset
        ("sam", None),  # no function role at all
        ("olivia", "foreign_function"),  # another workspace's function
    ],
)
async def test_runs_without_the_right_are_refused_and_nothing_runs(
    aworld: World,
    gated_server: tuple[str, type[_GatedHandler]],
    runtime_pool: None,
    username: str,
    function: str | None,
) -> None:
    url, handler = gated_server
    communicator, connected, _ = await _runs(aworld, username)
    assert connected  # a member: each run is judged on its own
    function_id = getattr(aworld, function).pk if function else None
    code = f"async function onTrack() {{ await fetch('{url}/hit'); console.log('ran') }}"
    await communicator.send_json_to(_run("r1", code, function_id))
    error = await _receive(communicator)
    assert error["type"] == "error" and error["run_id"] == "r1"
    assert error["message"]
    assert await communicator.receive_nothing(timeout=0.5)
    assert handler.hits == []
    await communicator.disconnect()


async def test_each_run_is_authorized_afresh(aworld: World, runtime_pool: None) -> None:
    communicator, connected, _ = await _runs(aworld, "adam")
    assert connected
    await communicator.send_json_to(_run("r1"))
    assert (await _receive(communicator))["type"] == "run.started"
    await _receive(communicator)
    assert (await _receive(communicator))["outcome"] == "success"
    await sync_to_async(_remove_member)(aworld, "adam")
    await communicator.send_json_to(_run("r2"))
    assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": 4404}


async def test_a_signed_out_session_is_closed_on_its_next_run(
    aworld: World, runtime_pool: None
) -> None:
    communicator, connected, _ = await _runs(aworld, "adam")
    assert connected
    await sync_to_async(_log_out_everywhere)(aworld, "adam")
    await communicator.send_json_to(_run("r1"))
    assert await communicator.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}


async def test_runs_over_the_rate_limit_are_refused_with_a_message(
    aworld: World, runtime_pool: None, monkeypatch: pytest.MonkeyPatch, rate_window_middle: float
) -> None:
    from catalog import preview

    monkeypatch.setattr(preview, "PREVIEW_RATE_LIMIT", 1)
    communicator, connected, _ = await _runs(aworld, "olivia")
    assert connected
    await communicator.send_json_to(_run("r1"))
    assert [(await _receive(communicator))["type"] for _ in range(3)] == [
        "run.started", "log", "outcome",
    ]  # fmt: skip
    await communicator.send_json_to(_run("r2"))
    error = await _receive(communicator)
    assert (error["type"], error["run_id"]) == ("error", "r2")
    assert error["message"].startswith("Too many test runs")
    assert f"Try again in {rate_window_middle:.0f} s" in error["message"]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("not json", "not valid JSON"),
        ([1, 2], "Unknown message"),
        ({"type": "launch"}, "Unknown message"),
        ({**_run("r1"), "run_id": ""}, "run_id"),
        ({**_run("r1"), "run_id": 7}, "run_id"),
        ({**_run("r1"), "function_id": "12"}, "function_id"),
        ({**_run("r1"), "settings": ["a"]}, "settings"),
        ({**_run("r1"), "code": None}, "Code must be text"),
        ({**_run("r1"), "code": "x" * (MAX_CODE_BYTES + 1)}, "larger than"),
        ({**_run("r1"), "payload": None}, "event object"),
        ({**_run("r1"), "payload": "track"}, "event object"),
        ({**_run("r1"), "settings_schema": [{"type": "x"}]}, "label"),
        ({**_run("r1"), "settings": {"nope": "1"}}, "Unknown settings"),
        *(
            (_deep_run(field, 900), "nested deeper than 64 levels")
            for field in ("payload", "settings", "settings_schema")
        ),
    ],
)
async def test_malformed_messages_are_answered_with_an_error(
    aworld: World, runtime_pool: None, message: Any, words: str
) -> None:
    communicator, connected, _ = await _runs(aworld, "olivia")
    assert connected
    if isinstance(message, str):
        await communicator.send_to(text_data=message)
    else:
        await communicator.send_json_to(message)
    error = await _receive(communicator)
    assert error["type"] == "error" and words in error["message"], error
    assert await communicator.receive_nothing(timeout=0.2)
    # The connection stays usable.
    await communicator.send_json_to(_run("ok"))
    assert (await _receive(communicator))["type"] == "run.started"
    await communicator.disconnect()


def _store_test_secret(world: World) -> int:
    from editor import services

    olivia = world.users["olivia"]
    services.test_settings_update(
        user=olivia, function=world.function, settings={"apiKey": SECRET_API_KEY}
    )
    case = services.test_case_create(
        function=world.function,
        actor=olivia,
        name="EU",
        payload={"type": "identify", "userId": "u9"},
        settings={"region": "eu"},
    )
    return case.pk


async def test_stored_encrypted_test_values_fill_in_and_never_come_back(
    aworld: World, gated_server: tuple[str, type[_GatedHandler]], runtime_pool: None
) -> None:
    url, handler = gated_server
    case_id = await sync_to_async(_store_test_secret)(aworld)
    code = f"""async function onTrack(event, settings) {{
  await fetch('{url}/echo?key=' + settings.apiKey);
  console.log('key', settings.apiKey);
  return settings.apiKey === '{SECRET_API_KEY}';
}}
async function onIdentify(event, settings) {{
  return [event.userId, settings.region, settings.apiKey === '{SECRET_API_KEY}'];
}}"""
    communicator, connected, _ = await _runs(aworld, "olivia")
    assert connected
    await communicator.send_json_to(
        _run("r1", code, aworld.function.pk, settings_schema=SCHEMA, settings={"region": "us"})
    )
    received = [await _receive(communicator) for _ in range(4)]
    assert [m["type"] for m in received] == ["run.started", "request", "log", "outcome"]
    assert received[-1]["result"] is True
    assert handler.hits == [f"/echo?key={SECRET_API_KEY}"]  # it was really used
    assert SECRET_API_KEY not in json.dumps(received)  # and masked in the trace and logs
    # A saved case: its event and values, the author's secret.
    await communicator.send_json_to(
        _run("r2", code, aworld.function.pk, settings_schema=SCHEMA, payload=None,
             test_case_id=case_id)
    )  # fmt: skip
    received = [await _receive(communicator) for _ in range(2)]
    assert received[-1]["result"] == ["u9", "eu", True]
    await communicator.disconnect()


async def test_closing_the_page_cancels_the_run(
    aworld: World, gated_server: tuple[str, type[_GatedHandler]], runtime_pool: None
) -> None:
    url, handler = gated_server
    gate = handler.gates["first"] = threading.Event()
    code = f"""async function onTrack() {{
  await fetch('{url}/first');
  await fetch('{url}/after');
}}"""
    communicator, connected, _ = await _runs(aworld, "olivia")
    assert connected
    await communicator.send_json_to(_run("r1", code))
    assert (await _receive(communicator))["type"] == "run.started"
    for _ in range(50):
        if handler.hits:
            break
        await asyncio.sleep(0.02)
    await communicator.disconnect()
    gate.set()
    await asyncio.sleep(0.5)
    # The run was cancelled with the connection: its next request never went out.
    assert handler.hits == ["/first"]
