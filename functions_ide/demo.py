"""The demo workspace that `make run` creates: one user per role, and a source whose
enabled destination (the JSON webhook template) posts every event to this server's own
echo endpoint (functions_ide/echo.py). It composes workspaces and the catalog, so it lives
with the project, above both."""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction

from catalog.function_templates import template_get
from catalog.models import Source
from catalog.services import function_create, instance_create, source_create
from workspaces.models import Role, Workspace
from workspaces.services import GrantSpec, member_add, workspace_create

DEMO_SLUG = "demo"
DEMO_SOURCE = "Website"
ECHO_PATH = "/demo/echo/"
DEMO_TEMPLATE = "json-webhook"
DEMO_MEMBERS: dict[str, list[str]] = {
    "owner": [Role.OWNER],
    "functions-admin": [Role.FUNCTIONS_ADMIN],
    "functions-readonly": [Role.FUNCTIONS_READONLY],
    "source-admin": [Role.SOURCE_ADMIN],
    "auditor": [Role.AUDITOR],
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    roles: list[str]


def demo_base_url(*, host: str, port: int) -> str:
    """The URL this server is reached at on its own machine, for the address it binds
    (a wildcard address is reached on loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def demo_echo_url(*, host: str, port: int) -> str:
    return demo_base_url(host=host, port=port) + ECHO_PATH


def demo_curl_line(*, host: str, port: int) -> str | None:
    """A ready command that sends a track event to the demo source; None without it (or
    without a database to look in: serve still starts, and says what fails)."""
    try:
        source = Source.objects.filter(workspace__slug=DEMO_SLUG, name=DEMO_SOURCE).first()
    except DatabaseError:
        return None
    if source is None:
        return None
    body = '{"userId": "newcomer-1", "event": "Tried The Demo", "properties": {"plan": "free"}}'
    url = demo_base_url(host=host, port=port) + "/v1/track"
    return (
        f"curl -u {shlex.quote(source.write_key + ':')} -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)} {url}"
    )


@transaction.atomic
def demo_workspace_seed(*, echo_url: str) -> list[DemoLogin] | None:
    """Create the demo workspace, its destination posting to ``echo_url``; None when it
    already exists (passwords are shown once)."""
    if Workspace.objects.filter(slug=DEMO_SLUG).exists():
        return None
    user_model = get_user_model()
    logins = [
        DemoLogin(username=f"demo-{name}", password=secrets.token_urlsafe(9), roles=roles)
        for name, roles in DEMO_MEMBERS.items()
    ]
    owner_login = logins[0]
    owner = user_model.objects.create_user(
        username=owner_login.username, password=owner_login.password
    )
    workspace = workspace_create(name="Demo", slug=DEMO_SLUG, owner=owner)
    for login in logins[1:]:
        member_add(
            workspace=workspace,
            username=login.username,
            password=login.password,
            grants=[GrantSpec(role=role) for role in login.roles],
            actor=owner,
        )
    template = template_get(DEMO_TEMPLATE)
    assert template is not None, "the demo's template is in the gallery"
    function = function_create(
        workspace=workspace,
        name="Webhook",
        description="Posts every event as JSON to a webhook (the demo's: this server's echo).",
        code=template.code,
        settings_schema=template.to_dict()["settings_schema"],
        actor=owner,
    )
    source = source_create(workspace=workspace, name=DEMO_SOURCE, actor=owner)
    instance_create(
        function=function,
        source=source,
        name="Webhook (echo)",
        settings={"url": echo_url},
        actor=owner,
    )
    return logins
