"""Role x action x workspace table for the Config API, endpoint by endpoint.

Each row is one request on acme's objects; the expected status is listed per persona and
every persona not listed expects ``default``. gary owns the foreign workspace globex and
must get 404 on everything of acme's: never 403 (which would confirm it exists), never data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from catalog.services import function_deploy, function_update
from tests.conftest import ACME_PERSONAS, World

PERSONAS = [*ACME_PERSONAS, "gary"]
BASE = "/api/v1/workspaces/acme"

FUNCTION_ADMINS_ALL = {"olivia": 0, "adam": 0, "dana": 0}


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: Callable[[World], str]
    ok: int
    allowed: set[str]
    hidden: set[str] = field(default_factory=set)  # personas who get 404 (object not visible)
    body: Callable[[World], dict[str, Any]] | None = None


def _fn(w: World) -> str:
    return f"{BASE}/functions/{w.function.pk}/"


def _mailer(w: World) -> str:
    return f"{BASE}/functions/{w.other_function.pk}/"


SEE_WEBHOOK = {"olivia", "adam", "sally", "rita", "ruth", "dana"}
SEE_MAILER = {"olivia", "adam", "rita", "dana"}
EDIT_WEBHOOK = {"olivia", "adam", "sally", "dana"}
EDIT_MAILER = {"olivia", "adam", "dana"}
DEPLOYERS = {"olivia", "dana"}
SOURCE_ADMINS = {"olivia", "sam", "dana"}
MEMBERS = set(ACME_PERSONAS)
NOT_SEEING = lambda visible: MEMBERS - visible  # noqa: E731

ROWS = [
    Row("list functions", "get", lambda w: f"{BASE}/functions/", 200, MEMBERS),
    Row("get webhook", "get", _fn, 200, SEE_WEBHOOK, NOT_SEEING(SEE_WEBHOOK)),
    Row("get mailer", "get", _mailer, 200, SEE_MAILER, NOT_SEEING(SEE_MAILER)),
    Row(
        "create function",
        "post",
        lambda w: f"{BASE}/functions/",
        201,
        EDIT_WEBHOOK,
        body=lambda w: {"name": "New one"},
    ),
    Row(
        "save webhook",
        "patch",
        _fn,
        200,
        EDIT_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
        body=lambda w: {"code": "async function onTrack(e) {}"},
    ),
    Row(
        "save mailer",
        "patch",
        _mailer,
        200,
        EDIT_MAILER,
        NOT_SEEING(SEE_MAILER),
        body=lambda w: {"description": "changed"},
    ),
    Row("delete mailer", "delete", _mailer, 204, EDIT_MAILER, NOT_SEEING(SEE_MAILER)),
    # Webhook has a live destination: deleting it needs Source Admin too.
    Row("delete webhook", "delete", _fn, 204, DEPLOYERS, NOT_SEEING(SEE_WEBHOOK)),
    Row(
        "list versions",
        "get",
        lambda w: _fn(w) + "versions/",
        200,
        SEE_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
    ),
    Row(
        "get version",
        "get",
        lambda w: _fn(w) + "versions/1/",
        200,
        SEE_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
    ),
    Row(
        "restore version",
        "post",
        lambda w: _fn(w) + "versions/1/restore/",
        201,
        EDIT_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
    ),
    Row(
        "list deployments",
        "get",
        lambda w: _fn(w) + "deployments/",
        200,
        SEE_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
    ),
    Row(
        "deploy",
        "post",
        lambda w: _fn(w) + "deployments/",
        201,
        DEPLOYERS,
        NOT_SEEING(SEE_WEBHOOK),
        body=lambda w: {"instances": [w.instance.pk]},
    ),
    # Test runs execute code with the workspace's network access: Functions Admin on the
    # function (or, for unsaved code, the right to create one). So do their test data.
    Row(
        "preview new code",
        "post",
        lambda w: f"{BASE}/functions/preview/",
        200,
        EDIT_WEBHOOK,
        body=lambda w: {"code": PREVIEW_CODE, "payload": {"type": "track"}},
    ),
    Row(
        "preview webhook",
        "post",
        lambda w: _fn(w) + "preview/",
        200,
        EDIT_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
        body=lambda w: {"settings": {"apiKey": "k"}, "payload": {"type": "track"}},
    ),
    Row(
        "preview mailer",
        "post",
        lambda w: _mailer(w) + "preview/",
        200,
        EDIT_MAILER,
        NOT_SEEING(SEE_MAILER),
        body=lambda w: {"payload": {"type": "track"}},
    ),
    Row(
        "get test settings",
        "get",
        lambda w: _fn(w) + "test-settings/",
        200,
        EDIT_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
    ),
    Row(
        "get mailer test settings",
        "get",
        lambda w: _mailer(w) + "test-settings/",
        200,
        EDIT_MAILER,
        NOT_SEEING(SEE_MAILER),
    ),
    Row(
        "put test settings",
        "put",
        lambda w: _fn(w) + "test-settings/",
        200,
        EDIT_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
        body=lambda w: {"settings": {"region": "eu"}},
    ),
    Row(
        "list test cases",
        "get",
        lambda w: _fn(w) + "test-cases/",
        200,
        EDIT_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
    ),
    Row(
        "create test case",
        "post",
        lambda w: _fn(w) + "test-cases/",
        201,
        EDIT_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
        body=lambda w: {"name": "Case", "payload": {"type": "track"}},
    ),
    Row(
        "delete test case",
        "delete",
        lambda w: _test_case_path(w),
        204,
        EDIT_WEBHOOK,
        NOT_SEEING(SEE_WEBHOOK),
    ),
    Row("list instances", "get", lambda w: f"{BASE}/instances/", 200, MEMBERS),
    Row(
        "get instance",
        "get",
        lambda w: f"{BASE}/instances/{w.instance.pk}/",
        200,
        SEE_WEBHOOK | {"sam"},
        {"audrey"},
    ),
    Row(
        "connect instance",
        "post",
        lambda w: f"{BASE}/instances/",
        201,
        DEPLOYERS,
        NOT_SEEING(SEE_WEBHOOK),
        body=lambda w: {
            "name": "Second",
            "function": w.function.pk,
            "source": w.source.pk,
            "settings": {"apiKey": "k"},
        },
    ),
    Row(
        "disable instance",
        "patch",
        lambda w: f"{BASE}/instances/{w.instance.pk}/",
        200,
        DEPLOYERS,
        {"audrey"},
        body=lambda w: {"enabled": False},
    ),
    Row(
        "delete instance",
        "delete",
        lambda w: f"{BASE}/instances/{w.instance.pk}/",
        204,
        DEPLOYERS,
        {"audrey"},
    ),
    Row(
        "roll back instance",
        "post",
        lambda w: _rollback_path(w),
        200,
        DEPLOYERS,
        {"audrey"},
    ),
    # Batch settings: read as the instance, changed as the instance is.
    Row(
        "get instance batching",
        "get",
        lambda w: f"{BASE}/instances/{w.instance.pk}/batching/",
        200,
        SEE_WEBHOOK | {"sam"},
        {"audrey"},
    ),
    Row(
        "set instance batching",
        "put",
        lambda w: f"{BASE}/instances/{w.instance.pk}/batching/",
        200,
        DEPLOYERS,
        {"audrey"},
        body=lambda w: {"size": 50, "wait_ms": 5000},
    ),
    # Destination filters: read by whoever sees the instance, changed as the instance is;
    # testing them on an event changes nothing.
    Row(
        "get filters",
        "get",
        lambda w: f"{BASE}/instances/{w.instance.pk}/filters/",
        200,
        SEE_WEBHOOK | {"sam"},
        {"audrey"},
    ),
    Row(
        "set filters",
        "put",
        lambda w: f"{BASE}/instances/{w.instance.pk}/filters/",
        200,
        DEPLOYERS,
        {"audrey"},
        body=lambda w: {"rules": [{"action": "drop_fields", "fields": ["context.ip"]}]},
    ),
    Row(
        "preview filters",
        "post",
        lambda w: f"{BASE}/instances/{w.instance.pk}/filters/preview/",
        200,
        SEE_WEBHOOK | {"sam"},
        {"audrey"},
        body=lambda w: {"event": {"type": "track", "event": "x"}},
    ),
    # Event Delivery: whoever sees the instance (logs inside only for who sees the function).
    Row(
        "instance delivery",
        "get",
        lambda w: f"{BASE}/instances/{w.instance.pk}/delivery/",
        200,
        SEE_WEBHOOK | {"sam"},
        {"audrey"},
    ),
    Row(
        "instance delivery failures",
        "get",
        lambda w: f"{BASE}/instances/{w.instance.pk}/delivery/failures/",
        200,
        SEE_WEBHOOK | {"sam"},
        {"audrey"},
    ),
    Row(
        "replay instance",
        "post",
        lambda w: f"{BASE}/instances/{w.instance.pk}/replay/",
        200,
        DEPLOYERS,
        {"audrey"},
        body=lambda w: {"category": "bad_request"},
    ),
    Row("list sources", "get", lambda w: f"{BASE}/sources/", 200, MEMBERS),
    Row("get source", "get", lambda w: f"{BASE}/sources/{w.source.pk}/", 200, MEMBERS),
    Row(
        "create source",
        "post",
        lambda w: f"{BASE}/sources/",
        201,
        SOURCE_ADMINS,
        body=lambda w: {"name": "Mobile"},
    ),
    Row(
        "rename source",
        "patch",
        lambda w: f"{BASE}/sources/{w.source.pk}/",
        200,
        SOURCE_ADMINS,
        body=lambda w: {"name": "Web"},
    ),
    Row(
        "rotate write key",
        "post",
        lambda w: f"{BASE}/sources/{w.source.pk}/rotate-write-key/",
        200,
        SOURCE_ADMINS,
    ),
    Row(
        "delete a user",
        "post",
        lambda w: f"{BASE}/sources/{w.source.pk}/delete-user/",
        200,
        SOURCE_ADMINS,
        body=lambda w: {"userId": "u-1"},
    ),
    # Samples for test runs: whoever sees the source sees what it sent.
    Row(
        "recent events",
        "get",
        lambda w: f"{BASE}/sources/{w.source.pk}/recent-events/",
        200,
        MEMBERS,
    ),
    # Every member gets the usage of the functions they may see (none, for some).
    Row("usage", "get", lambda w: f"{BASE}/usage/", 200, MEMBERS),
    # Website feeds a live Webhook destination: deleting it needs what changing that needs.
    Row("delete source", "delete", lambda w: f"{BASE}/sources/{w.source.pk}/", 204, DEPLOYERS),
    Row("list members", "get", lambda w: f"{BASE}/members/", 200, {"olivia"}),
    Row("list invitations", "get", lambda w: f"{BASE}/invitations/", 200, {"olivia"}),
    Row(
        "invite",
        "post",
        lambda w: f"{BASE}/invitations/",
        201,
        {"olivia"},
        body=lambda w: {"note": "newbie", "roles": [{"role": "auditor"}]},
    ),
    Row(
        "revoke invitation",
        "delete",
        lambda w: f"{BASE}/invitations/{_invitation_id(w)}/",
        204,
        {"olivia"},
    ),
    Row(
        "change roles",
        "patch",
        lambda w: f"{BASE}/members/{_member_id(w, 'rita')}/",
        200,
        {"olivia"},
        body=lambda w: {"roles": [{"role": "functions_admin"}]},
    ),
    Row(
        "remove member",
        "delete",
        lambda w: f"{BASE}/members/{_member_id(w, 'rita')}/",
        204,
        {"olivia"},
    ),
    Row("list audit", "get", lambda w: f"{BASE}/audit-events/", 200, {"olivia", "audrey"}),
    Row("list tokens", "get", lambda w: f"{BASE}/tokens/", 200, MEMBERS),
    Row(
        "create token",
        "post",
        lambda w: f"{BASE}/tokens/",
        201,
        MEMBERS,
        body=lambda w: {"name": "ci"},
    ),
]


def _rollback_path(world: World) -> str:
    """The instance's rollback route, once it has run another version to roll back to."""
    olivia = world.users["olivia"]
    function_update(function=world.function, code="// v2", actor=olivia)
    version = world.function.versions.get(number=2)
    function_deploy(
        function=world.function, version=version, instances=[world.instance], actor=olivia
    )
    return f"{BASE}/instances/{world.instance.pk}/rollback/"


PREVIEW_CODE = "async function onTrack(event) { return 1 }"


def _test_case_path(world: World) -> str:
    from editor.services import test_case_create

    case = test_case_create(
        function=world.function,
        actor=world.users["olivia"],
        name="Saved",
        payload={"type": "track"},
    )
    return f"{BASE}/functions/{world.function.pk}/test-cases/{case.pk}/"


def _invitation_id(world: World) -> int:
    from workspaces.services import GrantSpec, invitation_create

    invitation, _code = invitation_create(
        workspace=world.acme, grants=[GrantSpec(role="auditor")], actor=world.users["olivia"]
    )
    return invitation.pk


def _member_id(world: World, username: str) -> int:
    return world.acme.memberships.get(user=world.users[username]).pk


def expected_status(row: Row, persona: str) -> int:
    if persona == "gary" or persona in row.hidden:
        return 404
    return row.ok if persona in row.allowed else 403


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_role_table(row: Row, persona: str, world: World, api) -> None:
    body = row.body(world) if row.body else None
    response = getattr(api(persona), row.method)(row.path(world), body, format="json")
    expected = expected_status(row, persona)
    assert response.status_code == expected, (row.name, persona, response.content[:300])
    if expected == 404:
        # A refusal must not leak the object: no names of acme's things in the body.
        assert b"Webhook" not in response.content and b"Mailer" not in response.content


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_anonymous_is_refused(row: Row, world: World, api) -> None:
    body = row.body(world) if row.body else None
    response = getattr(api(None), row.method)(row.path(world), body, format="json")
    assert response.status_code in (401, 403)
    assert b"Webhook" not in response.content


LISTS = {
    "functions": ("name", {"olivia": {"Webhook", "Mailer"}, "adam": {"Webhook", "Mailer"},
                           "sally": {"Webhook"}, "rita": {"Webhook", "Mailer"},
                           "ruth": {"Webhook"}, "sam": set(), "dana": {"Webhook", "Mailer"},
                           "audrey": set()}),
    "instances": ("name", {"olivia": {"Webhook (prod)"}, "sally": {"Webhook (prod)"},
                           "ruth": {"Webhook (prod)"}, "sam": {"Webhook (prod)"},
                           "audrey": set()}),
    "sources": ("name", {name: {"Website"} for name in ACME_PERSONAS}),
}  # fmt: skip


@pytest.mark.parametrize("resource", LISTS)
def test_lists_filter_by_scope(resource: str, world: World, api) -> None:
    key, expected_by_persona = LISTS[resource]
    for persona, expected in expected_by_persona.items():
        response = api(persona).get(f"{BASE}/{resource}/")
        assert response.status_code == 200
        assert {item[key] for item in response.json()["results"]} == expected, persona
    globex = api("gary").get(f"/api/v1/workspaces/globex/{resource}/").json()["results"]
    assert all("Globex" in item[key] for item in globex)


def test_foreign_ids_under_own_workspace_are_404(world: World, api) -> None:
    olivia = api("olivia")
    paths = [
        f"{BASE}/functions/{world.foreign_function.pk}/",
        f"{BASE}/functions/{world.foreign_function.pk}/versions/",
        f"{BASE}/instances/{world.foreign_instance.pk}/",
        f"{BASE}/sources/{world.foreign_source.pk}/",
        "/api/v1/workspaces/globex/functions/",
    ]
    for path in paths:
        assert olivia.get(path).status_code == 404, path
    response = olivia.post(
        f"{BASE}/instances/",
        {"name": "x", "function": world.function.pk, "source": world.foreign_source.pk},
        format="json",
    )
    assert response.status_code == 404
    response = olivia.post(
        f"{BASE}/functions/{world.function.pk}/deployments/",
        {"instances": [world.foreign_instance.pk]},
        format="json",
    )
    assert response.status_code == 404
