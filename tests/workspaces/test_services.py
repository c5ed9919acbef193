from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from tests.conftest import World
from workspaces.models import Membership, Role
from workspaces.selectors import workspace_access_get
from workspaces.services import GrantSpec, member_add, member_remove, member_roles_set


def test_adding_a_new_user_creates_them_with_roles(world: World) -> None:
    membership = member_add(
        workspace=world.acme,
        username="newbie",
        password="long-password-1",
        grants=[GrantSpec(role=Role.FUNCTIONS_READONLY, all_functions=False,
                          function_ids=frozenset({world.function.pk}))],
        actor=world.users["olivia"],
    )  # fmt: skip
    access = workspace_access_get(user=membership.user, workspace=world.acme)
    assert access is not None
    assert access.can_view_function(world.function.pk)
    assert not access.can_view_function(world.other_function.pk)
    assert not access.can_edit_function(world.function.pk)
    assert membership.user.check_password("long-password-1")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "ghost"}, "password"),
        ({"username": "adam"}, "username"),
        ({"username": "x", "password": "p-long-1", "grants": []}, "roles"),
        ({"username": "x", "password": "p-long-1", "grants": [GrantSpec(role="king")]}, "roles"),
        (
            {"username": "x", "password": "p-long-1",
             "grants": [GrantSpec(role=Role.AUDITOR, all_functions=False)]},
            "roles",
        ),
    ],
)  # fmt: skip
def test_bad_member_input_is_refused(world: World, kwargs: dict, field: str) -> None:
    kwargs.setdefault("grants", [GrantSpec(role=Role.AUDITOR)])
    users, members = get_user_model().objects.count(), Membership.objects.count()
    with pytest.raises(ValidationError) as exc:
        member_add(workspace=world.acme, actor=world.users["olivia"], **kwargs)
    assert field in exc.value.message_dict
    assert get_user_model().objects.count() == users
    assert Membership.objects.count() == members


def test_function_subset_must_be_in_the_workspace(world: World) -> None:
    with pytest.raises(ValidationError, match="No such functions"):
        member_roles_set(
            membership=world.acme.memberships.get(user=world.users["rita"]),
            grants=[GrantSpec(role=Role.FUNCTIONS_ADMIN, all_functions=False,
                              function_ids=frozenset({world.foreign_function.pk}))],
            actor=world.users["olivia"],
        )  # fmt: skip


def test_the_last_owner_cannot_leave_or_be_demoted(world: World) -> None:
    olivia_membership = world.acme.memberships.get(user=world.users["olivia"])
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="at least one Workspace Owner"):
        member_roles_set(
            membership=olivia_membership,
            grants=[GrantSpec(role=Role.AUDITOR)],
            actor=world.users["olivia"],
        )
    with pytest.raises(ValidationError, match="at least one Workspace Owner"):
        member_remove(membership=olivia_membership, actor=world.users["olivia"])
    access = workspace_access_get(user=world.users["olivia"], workspace=world.acme)
    assert access is not None and access.is_owner
    assert AuditEvent.objects.count() == before


def test_removing_a_member_revokes_their_tokens(world: World) -> None:
    from workspaces.services import api_token_create

    token, _ = api_token_create(user=world.users["adam"], workspace=world.acme, name="x")
    member_remove(
        membership=world.acme.memberships.get(user=world.users["adam"]),
        actor=world.users["olivia"],
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert workspace_access_get(user=world.users["adam"], workspace=world.acme) is None


def test_weak_passwords_for_new_users_are_refused(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        member_add(
            workspace=world.acme,
            username="weak",
            password="a",
            grants=[GrantSpec(role=Role.AUDITOR)],
            actor=world.users["olivia"],
        )
    assert "too short" in " ".join(exc.value.message_dict["password"])
    assert not get_user_model().objects.filter(username="weak").exists()


def test_ids_no_row_can_have_are_refused_before_querying(world: World) -> None:
    with pytest.raises(ValidationError, match="No such functions"):
        member_roles_set(
            membership=world.acme.memberships.get(user=world.users["rita"]),
            grants=[GrantSpec(role=Role.FUNCTIONS_ADMIN, all_functions=False,
                              function_ids=frozenset({2**70}))],
            actor=world.users["olivia"],
        )  # fmt: skip


def test_removal_records_how_many_tokens_were_revoked(world: World) -> None:
    from workspaces.services import api_token_create

    api_token_create(user=world.users["adam"], workspace=world.acme, name="x")
    member_remove(
        membership=world.acme.memberships.get(user=world.users["adam"]),
        actor=world.users["olivia"],
    )
    assert AuditEvent.objects.get(action="member.removed").changes["tokens_revoked"] == 1


def test_setting_the_same_roles_again_changes_nothing(world: World) -> None:
    membership = world.acme.memberships.get(user=world.users["rita"])
    before = AuditEvent.objects.count()
    member_roles_set(
        membership=membership,
        grants=[GrantSpec(role=Role.FUNCTIONS_READONLY)],
        actor=world.users["olivia"],
    )
    assert AuditEvent.objects.count() == before
