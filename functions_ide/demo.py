"""The demo workspace that `make run` creates: one user per role and a sample function.
It composes workspaces and the catalog, so it lives with the project, above both."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.services import function_create, instance_create, source_create
from workspaces.models import Role, Workspace
from workspaces.services import GrantSpec, member_add, workspace_create

DEMO_SLUG = "demo"
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


@transaction.atomic
def demo_workspace_seed() -> list[DemoLogin] | None:
    """Create the demo workspace; None when it already exists (passwords are shown once)."""
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
    function = function_create(
        workspace=workspace,
        name="Webhook",
        description="Posts every track event to a webhook.",
        settings_schema=[
            {"label": "Webhook URL", "type": "string", "required": True},
            {"label": "API Key", "type": "string", "encrypted": True},
        ],
        actor=owner,
    )
    source = source_create(workspace=workspace, name="Website", actor=owner)
    instance_create(
        function=function,
        source=source,
        name="Webhook (production)",
        settings={"webhookUrl": "https://example.com/hooks/events"},
        actor=owner,
    )
    return logins
