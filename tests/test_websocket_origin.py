"""The websocket handshake's origin check, against the real ASGI application on both routes:
only the site's own origin (scheme, host and port) or a trusted one may open a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from functions_ide.asgi import application
from functions_ide.websocket_origin import parse_origin
from tests.conftest import World, build_world

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "127.0.0.1:8000"
ROUTES: dict[str, Callable[[World], str]] = {
    "function events": lambda w: f"/ws/w/acme/functions/{w.function.pk}/events/",
    "test runs": lambda w: "/ws/w/acme/test-runs/",
}


@pytest.fixture
async def aworld() -> AsyncIterator[World]:
    yield await sync_to_async(build_world)()
    await sync_to_async(connections.close_all)()


def _session_cookie(user: object) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def _with_scheme(scheme: str) -> Any:
    """The application as a server speaking ``scheme`` (ws or wss) would call it."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await application({**scope, "scheme": scheme}, receive, send)

    return app


async def _handshake(
    world: World,
    route: str,
    *,
    origin: str | None,
    host: str = HOST,
    scheme: str = "ws",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> bool:
    cookie = await sync_to_async(_session_cookie)(world.users["olivia"])
    headers = [(b"host", host.encode()), (b"cookie", cookie), *(extra or [])]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    communicator = WebsocketCommunicator(_with_scheme(scheme), ROUTES[route](world), headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize("route", ROUTES)
async def test_the_sites_own_origin_is_accepted(aworld: World, route: str) -> None:
    assert await _handshake(aworld, route, origin=f"http://{HOST}")
    assert await _handshake(
        aworld, route, origin="https://localhost", host="localhost", scheme="wss"
    )
    # Browsers leave a default port out of the Origin; a Host header may spell it.
    assert await _handshake(aworld, route, origin="http://localhost", host="localhost:80")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("origin", "scheme"),
    [
        ("http://127.0.0.1:9999", "ws"),  # another port of the same host
        ("http://127.0.0.1", "ws"),  # the same host on port 80
        ("https://127.0.0.1:8000", "ws"),  # another scheme
        (f"http://{HOST}", "wss"),  # a plain-HTTP page opening the site's secure socket
        ("http://evil.example:8000", "ws"),
        ("null", "ws"),  # sandboxed frames and file: pages
        ("http://127.0.0.1:8000/path", "ws"),
        ("not an origin", "ws"),
    ],
)
async def test_another_origin_is_refused(
    aworld: World, route: str, origin: str, scheme: str
) -> None:
    assert not await _handshake(aworld, route, origin=origin, scheme=scheme)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_missing_origin_is_refused(aworld: World, route: str) -> None:
    assert not await _handshake(aworld, route, origin=None)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_host_outside_allowed_hosts_is_refused(aworld: World, route: str) -> None:
    # A page on a rebound DNS name sends a matching Host and Origin: ALLOWED_HOSTS decides.
    assert not await _handshake(aworld, route, origin="http://evil.example", host="evil.example")


@pytest.mark.parametrize("route", ROUTES)
async def test_a_trusted_origin_is_accepted(aworld: World, route: str, settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://functions.example.com", "https://*.corp.example"]
    assert await _handshake(aworld, route, origin="https://functions.example.com")
    assert await _handshake(aworld, route, origin="https://ide.corp.example")
    assert not await _handshake(aworld, route, origin="http://functions.example.com")
    assert not await _handshake(aworld, route, origin="https://functions.example.com:8443")
    assert not await _handshake(aworld, route, origin="https://corp.example.evil")


@pytest.mark.parametrize("route", ROUTES)
async def test_behind_a_proxy_the_forwarded_scheme_counts(
    aworld: World, route: str, settings
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    forwarded = [(b"x-forwarded-proto", b"https")]
    assert await _handshake(
        aworld, route, origin="https://localhost", host="localhost", extra=forwarded
    )
    assert not await _handshake(
        aworld, route, origin="http://localhost", host="localhost", extra=forwarded
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://Example.COM", ("http", "example.com", 80)),
        ("https://example.com:8443", ("https", "example.com", 8443)),
        ("http://[::1]:8000", ("http", "::1", 8000)),
        ("http://example.com:99999", None),
        ("ftp://example.com", None),
        ("http://user@example.com", None),
        ("http://", None),
        ("null", None),
    ],
)
def test_origins_are_parsed_strictly(value: str, expected: tuple[str, str, int] | None) -> None:
    parsed = parse_origin(value)
    assert (parsed and (parsed.scheme, parsed.host, parsed.port)) == expected
