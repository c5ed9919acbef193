"""Named personas over a seeded database: one per role, plus a member of another workspace.

``acme`` is the workspace under test; ``globex`` is a foreign workspace whose owner must never
see or touch anything of acme's (and vice versa).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from catalog.models import DestinationInstance, Function, Source
from catalog.services import function_create, instance_create, source_create
from workspaces.models import Role, Workspace
from workspaces.services import GrantSpec, member_add, workspace_create

PASSWORD = "correct-horse-battery-staple"

SECRET_API_KEY = "sk_live_0123456789abcdefWXYZ"


@dataclass
class World:
    acme: Workspace
    globex: Workspace
    users: dict[str, AbstractBaseUser]
    function: Function  # acme's "Webhook" function, inside sally's and ruth's subsets
    other_function: Function  # acme's "Mailer", outside every subset
    source: Source
    instance: DestinationInstance
    foreign_function: Function
    foreign_source: Source
    foreign_instance: DestinationInstance


# persona -> roles in acme; a role name with "*" is limited to the Webhook function.
ACME_PERSONAS: dict[str, list[str]] = {
    "olivia": [Role.OWNER],
    "adam": [Role.FUNCTIONS_ADMIN],
    "sally": [Role.FUNCTIONS_ADMIN + "*"],
    "rita": [Role.FUNCTIONS_READONLY],
    "ruth": [Role.FUNCTIONS_READONLY + "*"],
    "sam": [Role.SOURCE_ADMIN],
    "dana": [Role.FUNCTIONS_ADMIN, Role.SOURCE_ADMIN],
    "audrey": [Role.AUDITOR],
}

SCHEMA = [
    {"label": "API Key", "type": "string", "required": True, "encrypted": True},
    {"label": "Region", "type": "string"},
]


def make_user(username: str) -> AbstractBaseUser:
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD
    )


def build_world() -> World:
    users = {name: make_user(name) for name in [*ACME_PERSONAS, "gary"]}
    acme = workspace_create(name="Acme", owner=users["olivia"])
    globex = workspace_create(name="Globex", owner=users["gary"])
    olivia = users["olivia"]
    function = function_create(workspace=acme, name="Webhook", actor=olivia, settings_schema=SCHEMA)
    other_function = function_create(workspace=acme, name="Mailer", actor=olivia)
    for name, roles in ACME_PERSONAS.items():
        if name == "olivia":
            continue
        grants = [
            GrantSpec(
                role=role.rstrip("*"),
                all_functions=not role.endswith("*"),
                function_ids=frozenset({function.pk}) if role.endswith("*") else frozenset(),
            )
            for role in roles
        ]
        member_add(workspace=acme, username=name, grants=grants, actor=olivia)
    source = source_create(workspace=acme, name="Website", actor=olivia)
    instance = instance_create(
        function=function,
        source=source,
        name="Webhook (prod)",
        settings={"apiKey": SECRET_API_KEY, "region": "eu"},
        actor=olivia,
    )
    gary = users["gary"]
    foreign_function = function_create(
        workspace=globex, name="Globex Hook", actor=gary, settings_schema=SCHEMA
    )
    foreign_source = source_create(workspace=globex, name="Globex App", actor=gary)
    foreign_instance = instance_create(
        function=foreign_function,
        source=foreign_source,
        name="Globex Hook (prod)",
        settings={"apiKey": SECRET_API_KEY},
        actor=gary,
    )
    return World(
        acme=acme,
        globex=globex,
        users=users,
        function=function,
        other_function=other_function,
        source=source,
        instance=instance,
        foreign_function=foreign_function,
        foreign_source=foreign_source,
        foreign_instance=foreign_instance,
    )


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def login(client: Client):
    """``login("olivia")`` returns a Django test client signed in as that persona."""

    def _login(username: str) -> Client:
        c = Client()
        assert c.login(username=username, password=PASSWORD)
        return c

    return _login


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness buys nothing in tests and costs seconds per persona.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Sign-in failure counters live in the cache; one test's failures must not block another.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def rate_window_middle(monkeypatch: pytest.MonkeyPatch) -> float:
    """Pins the test-run rate limiter's clock 30 s into a window, so that a test's runs
    never straddle a window boundary (where the counts start again) and Retry-After
    is known: the seconds returned."""
    from catalog import preview

    now = 1_000 * preview.PREVIEW_RATE_WINDOW_S + 30.0
    monkeypatch.setattr(preview, "time", SimpleNamespace(time=lambda: now))
    return preview.PREVIEW_RATE_WINDOW_S - 30.0


# --- a real ASGI server (Daphne), for websockets and the Tracking API ------------------------
# Django's live_server is WSGI: it cannot answer websockets, nor the Tracking API (an ASGI
# application of its own, routed by functions_ide/asgi.py). This runs Daphne in a thread
# of the test process against the test database (the in-memory SQLite database is shared
# by the connections of one process; a subprocess would not see it), serving pages, the
# API, static files and websockets from one origin. Twisted's reactor cannot be started
# twice in a process, so the server lives for the whole session; tests using it need
# `transactional_db` (the server's connections only see committed rows). Its runtime pool
# may reach 127.0.0.1, for the loopback servers that tests answer functions' fetches with.


@pytest.fixture(scope="session")
def asgi_live_server(django_db_setup: None) -> Iterator[str]:
    import asyncio
    import dataclasses
    import threading
    import time

    from asgiref.sync import SyncToAsync
    from daphne.server import Server
    from django.db import connections
    from twisted.internet import reactor

    from functions_ide.asgi import application
    from runtime import pool as runtime_pool
    from runtime.egress import EgressPolicy

    server = Server(
        application,
        endpoints=["tcp:port=0:interface=127.0.0.1"],
        signal_handlers=False,
        verbosity=0,
    )
    thread = threading.Thread(target=server.run, name="test-daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.listening_addresses:
        assert time.monotonic() < deadline, "Daphne did not start listening"
        assert thread.is_alive(), "Daphne stopped while starting"
        time.sleep(0.05)
    host, port = server.listening_addresses[0]
    loop = reactor._asyncioEventloop  # type: ignore[attr-defined]

    async def pool_with_loopback() -> None:
        # The server loop's pool is made now, while the override is in place; other
        # pools (other tests' loops) keep the settings' allowlist.
        config = dataclasses.replace(
            runtime_pool.PoolConfig.from_settings(),
            egress=EgressPolicy.from_allowlist(["127.0.0.1"]),
        )
        runtime_pool.configure(config)
        try:
            runtime_pool.get_pool()
        finally:
            runtime_pool.configure(None)

    asyncio.run_coroutine_threadsafe(pool_with_loopback(), loop).result(timeout=15)
    yield f"http://{host}:{port}"

    async def stop_pool() -> None:
        await runtime_pool.shutdown_pool()

    try:
        asyncio.run_coroutine_threadsafe(stop_pool(), loop).result(timeout=15)
        # The Tracking API's database work runs on asgiref's one thread-sensitive thread
        # (pipeline/group_commit.py), whose connection would keep PostgreSQL from
        # dropping the test database.
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=15)
    finally:
        reactor.callFromThread(reactor.stop)  # type: ignore[attr-defined]
        thread.join(timeout=15)
