"""Workspace pages: sign-in, home, layout, members and tokens, for every persona."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.conftest import PASSWORD, World, make_user
from workspaces.models import ApiToken, Membership, Role, RoleGrant, Workspace
from workspaces.services import GrantSpec, api_token_create, member_add

Login = Callable[[str], Client]
NON_OWNERS = ["adam", "sally", "rita", "ruth", "sam", "dana", "audrey"]
EVERY_MEMBER = ["olivia", *NON_OWNERS]


def audit_count() -> int:
    return AuditEvent.objects.count()


def member_id(world: World, name: str) -> int:
    return member_id_in(world.acme, world, name)


def member_id_in(workspace: Workspace, world: World, name: str) -> int:
    return Membership.objects.get(workspace=workspace, user=world.users[name]).pk


# --- sign-in ---------------------------------------------------------------------------
def test_login_page_renders_for_anonymous(db: None, client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_login_success_redirects_home_and_writes_audit_row(world: World, client: Client) -> None:
    before = audit_count()
    response = client.post("/login/", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "auth.login"
    assert client.get("/")["Location"] == "/w/acme/"


def test_login_failure_shows_error_and_writes_audit_row(world: World, client: Client) -> None:
    before = audit_count()
    response = client.post("/login/", {"username": "olivia", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert audit_count() == before + 1
    event = AuditEvent.objects.first()
    assert (event.action, event.target_label) == ("auth.login_failed", "olivia")
    assert "_auth_user_id" not in client.session


def test_pages_need_sign_in(world: World, client: Client) -> None:
    response = client.get("/w/acme/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_logout_is_post_only(world: World, login: Login) -> None:
    client = login("olivia")
    assert client.get("/logout/").status_code == 405
    assert client.get("/w/acme/").status_code == 200
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/w/acme/").status_code == 302


def test_home_without_workspace_is_friendly(world: World, client: Client) -> None:
    make_user("newbie")
    assert client.login(username="newbie", password=PASSWORD)
    response = client.get("/")
    assert response.status_code == 200
    assert b"not in a workspace yet" in response.content


# --- layout ------------------------------------------------------------------------------
def test_nav_links_follow_roles(world: World, login: Login) -> None:
    owner = login("olivia").get("/w/acme/").content
    assert b'href="/w/acme/members/"' in owner and b'href="/w/acme/audit/"' in owner
    auditor = login("audrey").get("/w/acme/").content
    assert b'href="/w/acme/members/"' not in auditor and b'href="/w/acme/audit/"' in auditor
    reader = login("rita").get("/w/acme/").content
    assert b'href="/w/acme/members/"' not in reader and b'href="/w/acme/audit/"' not in reader


def test_workspace_switcher_lists_only_own_workspaces(world: World, login: Login) -> None:
    single = login("olivia").get("/w/acme/").content
    assert b"Globex" not in single
    member_add(
        workspace=world.globex,
        username="olivia",
        grants=[GrantSpec(role=Role.AUDITOR)],
        actor=world.users["gary"],
    )
    several = login("olivia").get("/w/acme/").content
    assert b'href="/w/globex/"' in several and b'href="/w/acme/"' in several


# --- members -----------------------------------------------------------------------------
def test_members_page_lists_members_for_owner(world: World, login: Login) -> None:
    response = login("olivia").get("/w/acme/members/")
    assert response.status_code == 200
    for name in EVERY_MEMBER:
        assert name.encode() in response.content
    assert b"gary" not in response.content
    # A subset shows as its size here; its functions are on the member's own page.
    assert b"Functions Read-only: 1 function<" in response.content
    ruth = login("olivia").get(f"/w/acme/members/{member_id(world, 'ruth')}/")
    assert ruth.status_code == 200 and b"<li>Webhook</li>" in ruth.content


def test_a_members_page_is_the_owners_only(world: World, login: Login) -> None:
    rita = member_id(world, "rita")
    assert login("rita").get(f"/w/acme/members/{rita}/").status_code == 403
    assert login("gary").get(f"/w/acme/members/{rita}/").status_code == 404
    gary = member_id_in(world.globex, world, "gary")
    assert login("olivia").get(f"/w/acme/members/{gary}/").status_code == 404


@pytest.mark.parametrize("persona", NON_OWNERS)
def test_members_page_forbidden_for_non_owners(world: World, login: Login, persona: str) -> None:
    assert login(persona).get("/w/acme/members/").status_code == 403


def test_members_page_404_for_foreign_user(world: World, login: Login) -> None:
    assert login("gary").get("/w/acme/members/").status_code == 404


@pytest.mark.parametrize("persona", NON_OWNERS)
def test_member_routes_forbidden_for_non_owners(world: World, login: Login, persona: str) -> None:
    client, before = login(persona), audit_count()
    rita = member_id(world, "rita")
    assert client.post("/w/acme/members/invite/", {"roles": "auditor"}).status_code == 403
    assert client.post(f"/w/acme/members/{rita}/roles/", {}).status_code == 403
    assert client.post(f"/w/acme/members/{rita}/remove/").status_code == 403
    assert audit_count() == before
    assert Membership.objects.filter(pk=rita).exists()


def test_member_routes_404_for_foreign_owner(world: World, login: Login) -> None:
    client, before = login("gary"), audit_count()
    rita = member_id(world, "rita")
    assert client.post("/w/acme/members/invite/", {"roles": "auditor"}).status_code == 404
    assert client.post(f"/w/acme/members/{rita}/remove/").status_code == 404
    # A member id from another workspace is not found through one's own workspace either.
    assert client.post(f"/w/globex/members/{rita}/remove/").status_code == 404
    assert audit_count() == before
    assert Membership.objects.filter(pk=rita).exists()


def test_member_routes_are_post_only(world: World, login: Login) -> None:
    client = login("olivia")
    rita = member_id(world, "rita")
    assert client.get(f"/w/acme/members/{rita}/roles/").status_code == 405
    assert client.get(f"/w/acme/members/{rita}/remove/").status_code == 405


def test_member_roles_change_writes_one_audit_row(world: World, login: Login) -> None:
    rita = member_id(world, "rita")
    client = login("olivia")
    before = audit_count()
    data = {f"m{rita}-roles": [Role.AUDITOR, Role.FUNCTIONS_ADMIN]}
    data |= {
        f"m{rita}-functions_admin_scope": "subset",
        f"m{rita}-functions_admin_functions": [world.other_function.pk],
    }
    response = client.post(f"/w/acme/members/{rita}/roles/", data)
    assert response.status_code == 302
    grants = {g.role: g for g in RoleGrant.objects.filter(membership_id=rita)}
    assert set(grants) == {Role.AUDITOR, Role.FUNCTIONS_ADMIN}
    assert [f.pk for f in grants[Role.FUNCTIONS_ADMIN].functions.all()] == [world.other_function.pk]
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "member.roles_changed"


def test_member_roles_cannot_drop_last_owner(world: World, login: Login) -> None:
    olivia = member_id(world, "olivia")
    client = login("olivia")
    before = audit_count()
    data = {f"m{olivia}-roles": [Role.AUDITOR]}
    response = client.post(f"/w/acme/members/{olivia}/roles/", data)
    assert response.status_code == 400
    assert b"at least one Workspace Owner" in response.content
    assert list(RoleGrant.objects.filter(membership_id=olivia).values_list("role", flat=True)) == [
        Role.OWNER
    ]
    assert audit_count() == before


def test_member_remove_writes_one_audit_row(world: World, login: Login) -> None:
    rita = member_id(world, "rita")
    client = login("olivia")
    before = audit_count()
    response = client.post(f"/w/acme/members/{rita}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=rita).exists()
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "member.removed"
    assert login("rita").get("/w/acme/").status_code == 404


def test_member_remove_last_owner_is_refused(world: World, login: Login) -> None:
    olivia = member_id(world, "olivia")
    client = login("olivia")
    before = audit_count()
    response = client.post(f"/w/acme/members/{olivia}/remove/", follow=True)
    assert b"at least one Workspace Owner" in response.content
    assert Membership.objects.filter(pk=olivia).exists()
    assert audit_count() == before


# --- tokens ------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", EVERY_MEMBER)
def test_tokens_page_renders_for_every_member(world: World, login: Login, persona: str) -> None:
    assert login(persona).get("/w/acme/tokens/").status_code == 200


def test_tokens_page_404_for_foreign_user(world: World, login: Login) -> None:
    assert login("gary").get("/w/acme/tokens/").status_code == 404
    assert login("gary").post("/w/acme/tokens/new/", {"name": "x"}).status_code == 404
    assert not ApiToken.objects.filter(workspace=world.acme).exists()


def test_tokens_page_lists_only_own_tokens(world: World, login: Login) -> None:
    api_token_create(user=world.users["adam"], workspace=world.acme, name="adams-token")
    api_token_create(user=world.users["olivia"], workspace=world.acme, name="olivias-token")
    content = login("olivia").get("/w/acme/tokens/").content
    assert b"olivias-token" in content and b"adams-token" not in content


def test_token_create_shows_plaintext_once(world: World, login: Login) -> None:
    client, before = login("rita"), audit_count()
    response = client.post("/w/acme/tokens/new/", {"name": "CI"})
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw.startswith("fnide_") and raw.encode() in response.content
    token = ApiToken.objects.get(user=world.users["rita"])
    assert token.name == "CI"
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "api_token.created"
    later = client.get("/w/acme/tokens/")
    assert raw.encode() not in later.content
    assert b"CI" in later.content


def test_token_create_blank_name_changes_nothing(world: World, login: Login) -> None:
    client = login("rita")
    before = audit_count()
    response = client.post("/w/acme/tokens/new/", {"name": "  "})
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not ApiToken.objects.exists()
    assert audit_count() == before


def test_token_revoke_writes_one_audit_row(world: World, login: Login) -> None:
    token, _raw = api_token_create(user=world.users["rita"], workspace=world.acme, name="t")
    client = login("rita")
    before = audit_count()
    response = client.post(f"/w/acme/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert audit_count() == before + 1
    assert AuditEvent.objects.first().action == "api_token.revoked"


def test_token_revoke_of_someone_elses_token_is_404(world: World, login: Login) -> None:
    token, _raw = api_token_create(user=world.users["adam"], workspace=world.acme, name="t")
    olivia, gary, adam = login("olivia"), login("gary"), login("adam")
    before = audit_count()
    assert olivia.post(f"/w/acme/tokens/{token.pk}/revoke/").status_code == 404
    assert gary.post(f"/w/acme/tokens/{token.pk}/revoke/").status_code == 404
    assert adam.get(f"/w/acme/tokens/{token.pk}/revoke/").status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None
    assert audit_count() == before


def test_role_form_refuses_ids_no_row_can_have(world: World, login: Login) -> None:
    membership = world.acme.memberships.get(user=world.users["rita"])
    response = login("olivia").post(
        f"/w/acme/members/{membership.pk}/roles/",
        {
            f"m{membership.pk}-roles": "functions_admin",
            f"m{membership.pk}-functions_admin_scope": "subset",
            f"m{membership.pk}-functions_admin_functions": str(2**70),
        },
    )
    assert response.status_code == 400


def test_a_new_token_is_never_cached(world: World, login: Login) -> None:
    response = login("rita").post("/w/acme/tokens/new/", {"name": "CI"})
    assert response.status_code == 200 and b"fnide_" in response.content
    assert "no-store" in response["Cache-Control"]
