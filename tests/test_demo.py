"""`manage.py seed_demo` (run by `make run`): the demo workspace, one login per role."""

from __future__ import annotations

import pytest
from django.core.management import call_command, get_commands

from catalog.models import DestinationInstance
from functions_ide.demo import DEMO_MEMBERS, DEMO_SLUG
from workspaces.models import Workspace
from workspaces.selectors import workspace_access_get


@pytest.mark.django_db
def test_seed_demo_creates_one_login_per_role_once(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("seed_demo")
    first = capsys.readouterr().out
    workspace = Workspace.objects.get(slug=DEMO_SLUG)
    for name, roles in DEMO_MEMBERS.items():
        line = next(line for line in first.splitlines() if f"demo-{name} " in line)
        password = line.split()[1]
        user = workspace.memberships.get(user__username=f"demo-{name}").user
        assert user.check_password(password)
        access = workspace_access_get(user=user, workspace=workspace)
        assert access is not None and set(access.roles) == set(roles)
    assert DestinationInstance.objects.filter(workspace=workspace).count() == 1
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert "exists" in second and "demo-owner " not in second
    assert Workspace.objects.filter(slug=DEMO_SLUG).count() == 1


def test_seed_demo_is_the_projects_command() -> None:
    # It composes workspaces and the catalog, so it lives above both (see test_layout.py).
    assert get_commands()["seed_demo"] == "functions_ide"
