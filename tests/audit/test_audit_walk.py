"""Walk every mutating route and check that each successful request writes exactly one
audit row, and that no route escapes the walk: a new route must be listed here, either as
read-only or with a recipe that exercises it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from audit.models import AuditEvent
from catalog.services import function_deploy, function_update
from tests.asgi_client import AsgiClient
from tests.conftest import PASSWORD, World

MUTATING = ("post", "put", "patch", "delete")
A = "/api/v1/workspaces/acme"
W = "/w/acme"


@dataclass(frozen=True)
class Recipe:
    method: str
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] | None = None
    persona: str | None = "olivia"  # None: an anonymous client (sign-in)
    api: bool = True
    expect_action: str = ""


def _member(w: World, name: str) -> int:
    return w.acme.memberships.get(user=w.users[name]).pk


def _token_id(w: World) -> int:
    return (
        w.users["olivia"]
        .api_tokens.create(workspace=w.acme, name="t", prefix="fnide_x", token_hash="h" * 64)
        .pk
    )


def _invitation(w: World) -> tuple[int, str]:
    """A pending invitation to acme (made before the walk counts rows): its id and code."""
    from workspaces.services import GrantSpec, invitation_create

    invitation, code = invitation_create(
        workspace=w.acme, grants=[GrantSpec(role="auditor")], actor=w.users["olivia"]
    )
    return invitation.pk, code


def _rollback_path(w: World) -> str:
    """Gives the instance a version to roll back to (before the walk counts rows)."""
    olivia = w.users["olivia"]
    function_update(function=w.function, code="// v2", actor=olivia)
    version = w.function.versions.get(number=2)
    function_deploy(function=w.function, version=version, instances=[w.instance], actor=olivia)
    return f"{A}/instances/{w.instance.pk}/rollback/"


def _replay_path(w: World) -> str:
    """Gives the instance a discarded job to replay (before the walk counts rows)."""
    from pipeline.models import DeliveryJob, Event, JobState

    now = timezone.now()
    event = Event.objects.create(
        source=w.source, type="track", message_id="walked", received_at=now, payload={}
    )
    DeliveryJob.objects.create(
        instance=w.instance, event=event, state=JobState.DISCARDED, attempts=1,
        next_attempt_at=now, last_attempt_at=now, last_outcome="bad_request",
    )  # fmt: skip
    return f"{A}/instances/{w.instance.pk}/replay/"


def _test_case_path(w: World) -> str:
    """A saved test case of Webhook to delete (created before the walk counts rows)."""
    from editor.services import test_case_create

    case = test_case_create(
        function=w.function, actor=w.users["olivia"], name="Walked", payload={"type": "track"}
    )
    return f"{A}/functions/{w.function.pk}/test-cases/{case.pk}/"


RECIPES: dict[tuple[str, str], Recipe] = {
    ("api-functions", "post"): Recipe(
        "post", lambda w: f"{A}/functions/", lambda w: {"name": "Walked"},
        expect_action="function.created",
    ),
    ("api-function", "patch"): Recipe(
        "patch", lambda w: f"{A}/functions/{w.function.pk}/",
        lambda w: {"code": "async function onTrack() {}"}, expect_action="function.saved",
    ),
    ("api-function", "delete"): Recipe(
        "delete", lambda w: f"{A}/functions/{w.other_function.pk}/",
        expect_action="function.deleted",
    ),
    ("api-function-version-restore", "post"): Recipe(
        "post", lambda w: f"{A}/functions/{w.function.pk}/versions/1/restore/",
        expect_action="function.restored",
    ),
    ("api-function-deployments", "post"): Recipe(
        "post", lambda w: f"{A}/functions/{w.function.pk}/deployments/",
        lambda w: {"instances": [w.instance.pk]}, expect_action="function.deployed",
    ),
    ("api-instances", "post"): Recipe(
        "post", lambda w: f"{A}/instances/",
        lambda w: {"name": "Walk", "function": w.function.pk, "source": w.source.pk,
                   "settings": {"apiKey": "secret-value-123456"}},
        expect_action="instance.connected",
    ),
    ("api-instance", "patch"): Recipe(
        "patch", lambda w: f"{A}/instances/{w.instance.pk}/", lambda w: {"enabled": False},
        expect_action="instance.disabled",
    ),
    ("api-instance", "delete"): Recipe(
        "delete", lambda w: f"{A}/instances/{w.instance.pk}/", expect_action="instance.deleted"
    ),
    ("api-instance-batching", "put"): Recipe(
        "put", lambda w: f"{A}/instances/{w.instance.pk}/batching/",
        lambda w: {"size": 100, "wait_ms": 2000}, expect_action="instance.batching_changed",
    ),
    ("api-instance-rollback", "post"): Recipe(
        "post", lambda w: _rollback_path(w), expect_action="instance.rolled_back"
    ),
    ("api-instance-filters", "put"): Recipe(
        "put", lambda w: f"{A}/instances/{w.instance.pk}/filters/",
        lambda w: {"rules": [{"action": "drop_fields", "fields": ["properties.password"]}]},
        expect_action="instance.filters_changed",
    ),
    ("api-instance-replay", "post"): Recipe(
        "post", lambda w: _replay_path(w), lambda w: {"category": "bad_request"},
        expect_action="instance.replayed",
    ),
    ("api-function-test-settings", "put"): Recipe(
        "put", lambda w: f"{A}/functions/{w.function.pk}/test-settings/",
        lambda w: {"settings": {"apiKey": "secret-value-123456", "region": "eu"}},
        expect_action="test_settings.changed",
    ),
    ("api-function-test-cases", "post"): Recipe(
        "post", lambda w: f"{A}/functions/{w.function.pk}/test-cases/",
        lambda w: {"name": "Walk", "payload": {"type": "track"},
                   "settings": {"apiKey": "secret-value-123456"}},
        expect_action="test_case.created",
    ),
    ("api-function-test-case", "delete"): Recipe(
        "delete", lambda w: _test_case_path(w), expect_action="test_case.deleted"
    ),
    ("api-sources", "post"): Recipe(
        "post", lambda w: f"{A}/sources/", lambda w: {"name": "Mobile"},
        expect_action="source.created",
    ),
    ("api-source", "patch"): Recipe(
        "patch", lambda w: f"{A}/sources/{w.source.pk}/", lambda w: {"name": "Web"},
        expect_action="source.renamed",
    ),
    ("api-source", "delete"): Recipe(
        "delete", lambda w: f"{A}/sources/{w.source.pk}/", expect_action="source.deleted"
    ),
    ("api-source-rotate-write-key", "post"): Recipe(
        "post", lambda w: f"{A}/sources/{w.source.pk}/rotate-write-key/",
        expect_action="source.write_key_rotated",
    ),
    ("api-source-delete-user", "post"): Recipe(
        "post", lambda w: f"{A}/sources/{w.source.pk}/delete-user/",
        lambda w: {"userId": "u-1"}, expect_action="source.user_deleted",
    ),
    ("api-invitations", "post"): Recipe(
        "post", lambda w: f"{A}/invitations/",
        lambda w: {"note": "walker", "roles": [{"role": "auditor"}]},
        expect_action="invitation.created",
    ),
    ("api-invitation", "delete"): Recipe(
        "delete", lambda w: f"{A}/invitations/{_invitation(w)[0]}/",
        expect_action="invitation.revoked",
    ),
    ("api-member", "patch"): Recipe(
        "patch", lambda w: f"{A}/members/{_member(w, 'rita')}/",
        lambda w: {"roles": [{"role": "auditor"}]}, expect_action="member.roles_changed",
    ),
    ("api-member", "delete"): Recipe(
        "delete", lambda w: f"{A}/members/{_member(w, 'rita')}/", expect_action="member.removed"
    ),
    ("api-tokens", "post"): Recipe(
        "post", lambda w: f"{A}/tokens/", lambda w: {"name": "ci"},
        expect_action="api_token.created",
    ),
    ("api-token", "delete"): Recipe(
        "delete", lambda w: f"{A}/tokens/{_token_id(w)}/", expect_action="api_token.revoked"
    ),
    ("member-invite", "post"): Recipe(
        "post", lambda w: f"{W}/members/invite/",
        lambda w: {"note": "walker", "roles": "functions_readonly",
                   "functions_readonly_scope": "all"},
        api=False, expect_action="invitation.created",
    ),
    ("invitation-revoke", "post"): Recipe(
        "post", lambda w: f"{W}/members/invitations/{_invitation(w)[0]}/revoke/",
        api=False, expect_action="invitation.revoked",
    ),
    ("invitation", "post"): Recipe(
        "post", lambda w: f"/invitations/{_invitation(w)[1]}/",
        persona="gary", api=False, expect_action="invitation.accepted",
    ),
    ("member-roles", "post"): Recipe(
        "post", lambda w: f"{W}/members/{_member(w, 'rita')}/roles/",
        lambda w: {f"m{_member(w, 'rita')}-roles": "auditor"},
        api=False, expect_action="member.roles_changed",
    ),
    ("member-remove", "post"): Recipe(
        "post", lambda w: f"{W}/members/{_member(w, 'rita')}/remove/",
        api=False, expect_action="member.removed",
    ),
    ("token-create", "post"): Recipe(
        "post", lambda w: f"{W}/tokens/new/", lambda w: {"name": "CI"},
        api=False, expect_action="api_token.created",
    ),
    ("token-revoke", "post"): Recipe(
        "post", lambda w: f"{W}/tokens/{_token_id(w)}/revoke/",
        api=False, expect_action="api_token.revoked",
    ),
    ("source-create", "post"): Recipe(
        "post", lambda w: f"{W}/sources/new/", lambda w: {"name": "Mobile"},
        api=False, expect_action="source.created",
    ),
    ("source-delete", "post"): Recipe(
        "post", lambda w: f"{W}/sources/{w.source.pk}/delete/",
        api=False, expect_action="source.deleted",
    ),
    ("source-rotate-write-key", "post"): Recipe(
        "post", lambda w: f"{W}/sources/{w.source.pk}/rotate-write-key/",
        api=False, expect_action="source.write_key_rotated",
    ),
    ("instance-batching", "post"): Recipe(
        "post", lambda w: f"{W}/instances/{w.instance.pk}/batching/",
        lambda w: {"size": "50", "wait_ms": "2500"}, api=False,
        expect_action="instance.batching_changed",
    ),
    ("source-delete-user", "post"): Recipe(
        "post", lambda w: f"{W}/sources/{w.source.pk}/delete-user/",
        lambda w: {"userId": "u-1"}, api=False, expect_action="source.user_deleted",
    ),
    ("function-delete", "post"): Recipe(
        "post", lambda w: f"{W}/functions/{w.other_function.pk}/delete/",
        api=False, expect_action="function.deleted",
    ),
    ("login", "post"): Recipe(
        "post", lambda w: "/login/", lambda w: {"username": "adam", "password": PASSWORD},
        persona=None, api=False, expect_action="auth.login",
    ),
    ("logout", "post"): Recipe(
        "post", lambda w: "/logout/", api=False, expect_action="auth.logout"
    ),
}  # fmt: skip

# POST routes that change nothing, so write no audit row: test runs (previews) execute code
# and answer its outcome. Each has a request here that must succeed without an audit row.
CHANGE_NOTHING_POSTS: dict[tuple[str, str], Recipe] = {
    ("api-function-preview-new", "post"): Recipe(
        "post", lambda w: f"{A}/functions/preview/",
        lambda w: {"code": "async function onTrack() { return 1 }", "payload": {"type": "track"}},
    ),
    ("api-function-preview", "post"): Recipe(
        "post", lambda w: f"{A}/functions/{w.function.pk}/preview/",
        lambda w: {"settings": {"apiKey": "secret-value-123456"}, "payload": {"type": "track"}},
    ),
    ("api-instance-filters-preview", "post"): Recipe(
        "post", lambda w: f"{A}/instances/{w.instance.pk}/filters/preview/",
        lambda w: {"event": {"type": "track", "properties": {"password": "secret-value-123456"}},
                   "rules": [{"action": "drop_fields", "fields": ["properties.password"]}]},
    ),
    # The demo's echo endpoint (functions_ide/echo.py) answers what it got, keeps nothing.
    ("demo-echo", "post"): Recipe("post", lambda w: "/demo/echo/", lambda w: {"a": 1}),
}  # fmt: skip

# The Tracking API (an ASGI application of its own, not a Django route): it takes events,
# which change no configuration, so it writes no audit row. Each has a request here that
# must succeed (authenticated by the source's write key).
INGEST: dict[str, Recipe] = {
    "tracking-event": Recipe(
        "post", lambda w: "/v1/track",
        lambda w: {"event": "Walked", "userId": "u-1", "writeKey": w.source.write_key},
        persona=None, api=False,
    ),
    "tracking-batch": Recipe(
        "post", lambda w: "/v1/batch",
        lambda w: {"batch": [{"type": "identify", "userId": "u-1"}],
                   "writeKey": w.source.write_key},
        persona=None, api=False,
    ),
}  # fmt: skip

# Routes that never change anything (GET-only pages and endpoints).
READ_ONLY_ROUTES = {
    "api-schema", "api-docs", "api-workspaces", "api-function-versions", "api-function-version",
    "api-audit-events", "api-members", "home", "dashboard", "members", "member", "tokens",
    "catalog", "function-editor", "function-new", "function-build", "audit", "audit-export",
    "api-source-recent-events", "instance", "instance-new", "instance-configure", "usage",
    "api-usage", "instance-logs", "source-debugger",
    "api-instance-delivery", "api-instance-delivery-failures", "instance-delivery",
    "instance-filters",
}  # fmt: skip


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, entry.callback


def _mutating_methods(callback: Any) -> set[str]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None and issubclass(view_class, APIView):
        return {m for m in MUTATING if hasattr(view_class, m)}
    return set()


def test_every_route_is_classified() -> None:
    unclassified = []
    for name, callback in _walk(get_resolver().url_patterns):
        methods = _mutating_methods(callback)
        for method in methods:
            if (name, method) not in RECIPES and (name, method) not in CHANGE_NOTHING_POSTS:
                unclassified.append((name, method))
        recipe_methods = {m for (n, m) in RECIPES if n == name}
        classified = READ_ONLY_ROUTES | {n for n, _ in CHANGE_NOTHING_POSTS}
        if not methods and not recipe_methods and name not in classified:
            unclassified.append((name, "?"))
    assert not unclassified, f"add a recipe or mark read-only: {unclassified}"


@pytest.mark.parametrize("key", RECIPES, ids=lambda k: f"{k[0]}:{k[1]}")
def test_mutating_route_writes_one_audit_row(key: tuple[str, str], world: World) -> None:
    recipe = RECIPES[key]
    client: Client | APIClient = APIClient() if recipe.api else Client()
    if recipe.persona is not None:
        client.force_login(world.users[recipe.persona])
    path = recipe.path(world)
    body = recipe.body(world) if recipe.body else {}
    before = AuditEvent.objects.count()
    kwargs = {"format": "json"} if recipe.api else {}
    response = getattr(client, recipe.method)(path, body, **kwargs)
    assert response.status_code < 400, (key, response.status_code, response.content[:300])
    new_rows = list(AuditEvent.objects.order_by("-id")[: AuditEvent.objects.count() - before])
    assert len(new_rows) == 1, (key, [r.action for r in new_rows])
    assert new_rows[0].action == recipe.expect_action
    assert new_rows[0].ip_address == "127.0.0.1"
    assert "secret-value-123456" not in str(new_rows[0].changes)


@pytest.mark.parametrize("key", CHANGE_NOTHING_POSTS, ids=lambda k: f"{k[0]}:{k[1]}")
def test_change_nothing_posts_write_no_audit_row(key: tuple[str, str], world: World) -> None:
    recipe = CHANGE_NOTHING_POSTS[key]
    client = APIClient()
    client.force_login(world.users["olivia"])
    before = AuditEvent.objects.count()
    response = client.post(
        recipe.path(world), recipe.body(world) if recipe.body else {}, format="json"
    )
    assert response.status_code == 200, (key, response.status_code, response.content[:300])
    assert AuditEvent.objects.count() == before
    assert "secret-value-123456" not in response.content.decode()


@pytest.mark.parametrize("name", INGEST)
def test_ingest_routes_write_no_audit_row(name: str, world: World) -> None:
    recipe = INGEST[name]
    assert recipe.body is not None
    before = AuditEvent.objects.count()
    response = AsgiClient().post(recipe.path(world), json.dumps(recipe.body(world)).encode())
    assert response.status_code == 200, (name, response.status_code, response.content[:300])
    assert response.json() == {"success": True}
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("key", [k for k, r in RECIPES.items() if r.api and r.body])
def test_rejected_input_writes_no_audit_row(key: tuple[str, str], world: World) -> None:
    recipe = RECIPES[key]
    client = APIClient()
    client.force_login(world.users["olivia"])
    before = AuditEvent.objects.count()
    response = getattr(client, recipe.method)(recipe.path(world), {"name": ""}, format="json")
    assert response.status_code == 400
    assert "errors" in response.json()
    assert AuditEvent.objects.count() == before


READ_ONLY_PATHS: dict[str, Callable[[World], str]] = {
    "api-schema": lambda w: "/api/v1/schema/",
    "api-docs": lambda w: "/api/v1/docs/",
    "api-workspaces": lambda w: "/api/v1/workspaces/",
    "api-function-versions": lambda w: f"{A}/functions/{w.function.pk}/versions/",
    "api-function-version": lambda w: f"{A}/functions/{w.function.pk}/versions/1/",
    "api-audit-events": lambda w: f"{A}/audit-events/",
    "api-members": lambda w: f"{A}/members/",
    "home": lambda w: "/",
    "dashboard": lambda w: f"{W}/",
    "members": lambda w: f"{W}/members/",
    "member": lambda w: f"{W}/members/{_member(w, 'rita')}/",
    "tokens": lambda w: f"{W}/tokens/",
    "catalog": lambda w: f"{W}/catalog/",
    "function-editor": lambda w: f"{W}/functions/{w.function.pk}/",
    "function-new": lambda w: f"{W}/functions/new/",
    "function-build": lambda w: f"{W}/functions/new/build/?template=default",
    "audit": lambda w: f"{W}/audit/",
    "audit-export": lambda w: f"{W}/audit/export.csv",
    "api-source-recent-events": lambda w: f"{A}/sources/{w.source.pk}/recent-events/",
    "instance": lambda w: f"{W}/instances/{w.instance.pk}/",
    "api-instance-delivery": lambda w: f"{A}/instances/{w.instance.pk}/delivery/",
    "api-instance-delivery-failures": lambda w: f"{A}/instances/{w.instance.pk}/delivery/failures/",
    "instance-delivery": lambda w: f"{W}/instances/{w.instance.pk}/delivery/",
    "instance-filters": lambda w: f"{W}/instances/{w.instance.pk}/filters/",
    "instance-new": lambda w: f"{W}/instances/new/",
    "instance-configure": lambda w: f"{W}/instances/{w.instance.pk}/configure/",
    "usage": lambda w: f"{W}/usage/",
    "api-usage": lambda w: f"{A}/usage/",
    "instance-logs": lambda w: f"{W}/instances/{w.instance.pk}/logs/",
    "source-debugger": lambda w: f"{W}/sources/{w.source.pk}/debugger/",
}


def test_read_only_routes_change_nothing(world: World) -> None:
    assert set(READ_ONLY_PATHS) == READ_ONLY_ROUTES
    client = Client()
    client.force_login(world.users["olivia"])
    before = AuditEvent.objects.count()
    for name, path in READ_ONLY_PATHS.items():
        response = client.get(path(world))
        assert response.status_code in (200, 302), name
        if not name.startswith("api-"):
            assert client.post(path(world)).status_code == 405, name
    assert AuditEvent.objects.count() == before
