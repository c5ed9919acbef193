"""Posting to the Tracking API as a sender does: real requests through the server's ASGI
application; and a destination on loopback that records what functions post to it."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import pytest_asyncio
from rest_framework.test import APIClient

from runtime.pool import WorkerPool
from tests.asgi_client import AsgiAnswer, AsgiClient
from tests.conftest import World
from tests.runtime.conftest import loopback_server, make_pool

Post = Callable[..., AsgiAnswer]


def basic_auth(write_key: str) -> str:
    """HTTP Basic auth as Segment's libraries send it: the write key as user name."""
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def encoded(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def tracking() -> AsgiClient:
    """Requests to the Tracking API, as a sender's reach the server."""
    return AsgiClient()


@pytest.fixture
def post(world: World, tracking: AsgiClient) -> Post:
    """``post("/v1/track", body)`` sends ``body`` (an object, or raw bytes) with the write
    key of acme's Website source; ``key=None`` sends none, ``key="..."`` another one."""

    def _post(
        path: str,
        body: Any,
        *,
        key: str | None = world.source.write_key,
        content_type: str = "application/json",
        **headers: str,
    ) -> AsgiAnswer:
        if key is not None:
            headers.setdefault("HTTP_AUTHORIZATION", basic_auth(key))
        return tracking.post(path, data=encoded(body), content_type=content_type, **headers)

    return _post


def track(**fields: Any) -> dict[str, Any]:
    """A valid track call, with ``fields`` added or replaced."""
    return {"type": "track", "event": "Signed Up", "userId": "u-1", **fields}


@pytest.fixture
def api(world: World) -> Callable[[str], APIClient]:
    """``api("olivia")`` returns a DRF client authenticated as that persona."""

    def _client(username: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=world.users[username])
        return client

    return _client


class JsonRecorder(BaseHTTPRequestHandler):
    """A destination: records each JSON body posted to it (in ``received``); answers 200."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        JsonRecorder.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder_url() -> Iterator[str]:
    """The URL of a JsonRecorder on loopback, its ``received`` emptied."""
    JsonRecorder.received = []
    with loopback_server(JsonRecorder) as url:
        yield url


@pytest_asyncio.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    """A runtime pool of one Node worker whose functions may reach loopback servers."""
    p = make_pool(allow=["127.0.0.1"], workers=1)
    yield p
    await p.shutdown()


def quiet_world() -> World:
    """The test world with its default instance disabled: only the instances a test
    connects receive its events."""
    from catalog.services import instance_update
    from tests.conftest import build_world

    world = build_world()
    instance_update(instance=world.instance, actor=world.users["olivia"], enabled=False)
    return world
