"""Posting to the Tracking API as a sender does: real requests through Django's stack."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import World

Post = Callable[..., HttpResponse]


def basic_auth(write_key: str) -> str:
    """HTTP Basic auth as Segment's libraries send it: the write key as user name."""
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def encoded(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def post(world: World) -> Post:
    """``post("/v1/track", body)`` sends ``body`` (an object, or raw bytes) with the write
    key of acme's Website source; ``key=None`` sends none, ``key="..."`` another one."""
    client = Client()

    def _post(
        path: str,
        body: Any,
        *,
        key: str | None = world.source.write_key,
        content_type: str = "application/json",
        **headers: str,
    ) -> HttpResponse:
        if key is not None:
            headers.setdefault("HTTP_AUTHORIZATION", basic_auth(key))
        return client.post(path, data=encoded(body), content_type=content_type, **headers)

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
