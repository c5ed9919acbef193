"""Joining a workspace takes an invitation the invited person accepts: an owner cannot add an
account by its name, nor learn whether a name exists, nor see members' sign-ins."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.conftest import PASSWORD, World, make_user
from workspaces.models import Invitation, Membership, Role, RoleGrant
from workspaces.services import GrantSpec, invitation_accept, invitation_create

Login = Callable[[str], Client]
NON_OWNERS = ["adam", "sally", "rita", "ruth", "sam", "dana", "audrey"]
A = "/api/v1/workspaces/acme"


def _invite_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "note": "for the new analyst",
        "roles": [Role.FUNCTIONS_READONLY],
        "functions_readonly_scope": "all",
        "functions_admin_scope": "all",
    }
    return data | overrides


def _invite(client: Client, **overrides: object) -> str:
    """Creates an invitation through the page; returns its link's path."""
    response = client.post("/w/acme/members/invite/", _invite_data(**overrides))
    assert response.status_code == 200, response.content[:500]
    url = response.context["invitation_url"]
    assert url.startswith("http://testserver/invitations/")
    return url.removeprefix("http://testserver")


def _rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


# --- adding by name is gone ------------------------------------------------------------
def test_members_cannot_be_added_by_name(world: World, login: Login) -> None:
    client = login("olivia")
    api = APIClient()
    api.force_login(world.users["olivia"])
    before = (AuditEvent.objects.count(), Membership.objects.count())
    body = {"username": "gary", "roles": [Role.AUDITOR]}
    assert client.post("/w/acme/members/add/", body).status_code == 404
    api_body = {"username": "gary", "roles": [{"role": "auditor"}]}
    assert api.post(f"{A}/members/", api_body, format="json").status_code == 405
    assert (AuditEvent.objects.count(), Membership.objects.count()) == before
    assert b'name="username"' not in client.get("/w/acme/members/").content


def test_the_invite_form_answers_the_same_whatever_is_typed(world: World, login: Login) -> None:
    client = login("olivia")

    def answer(note: str) -> str:
        response = client.post("/w/acme/members/invite/", _invite_data(note=note, username=note))
        assert response.status_code == 200
        text = response.content.decode().replace(response.context["invitation_url"], "LINK")
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)
        return re.sub(r"\bfnide_inv_[\w-]+", "CODE", text).replace(note, "NOTE")

    # An existing account, a member, and a name nobody has: nothing tells them apart.
    assert answer("gary") == answer("adam") == answer("no-such-person-xyz")
    assert Membership.objects.filter(workspace=world.acme).count() == 8
    assert not Membership.objects.filter(workspace=world.acme, user=world.users["gary"]).exists()


# --- accepting ---------------------------------------------------------------------------
def test_an_invitation_is_accepted_by_the_signed_in_person_once(world: World, login: Login) -> None:
    path = _invite(login("olivia"))
    assert [e.action for e in AuditEvent.objects.all()[:1]] == ["invitation.created"]
    # Anonymous visitors sign in first and come back to the link.
    anonymous = Client().get(path)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/login/?next={path}"
    make_user("newcomer")
    newcomer, gary = login("newcomer"), login("gary")
    page = newcomer.get(path)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Acme" in content and "Functions Read-only" in content and ">Accept<" in content
    assert not Membership.objects.filter(user__username="newcomer").exists()  # GET changes nothing
    before = AuditEvent.objects.count()
    response = newcomer.post(path)
    assert response.status_code == 302 and response["Location"] == "/w/acme/"
    membership = Membership.objects.get(workspace=world.acme, user__username="newcomer")
    grant = membership.grants.get()
    assert (grant.role, grant.all_functions) == (Role.FUNCTIONS_READONLY, True)
    assert AuditEvent.objects.count() == before + 1
    accepted = _rows("invitation.accepted")[0]
    assert (accepted.actor_label, accepted.workspace_id) == ("newcomer", world.acme.pk)
    # Single use: nobody else gets in with the same link, and the newcomer is not re-added.
    assert gary.get(path).status_code == 404
    assert gary.post(path).status_code == 404
    assert not Membership.objects.filter(workspace=world.acme, user=world.users["gary"]).exists()
    assert AuditEvent.objects.count() == before + 1


def test_a_function_subset_is_granted_as_invited(world: World, login: Login) -> None:
    path = _invite(
        login("olivia"),
        roles=[Role.FUNCTIONS_ADMIN, Role.AUDITOR],
        functions_admin_scope="subset",
        functions_admin_functions=[world.function.pk],
    )
    assert login("gary").post(path).status_code == 302
    rows = RoleGrant.objects.filter(
        membership__user=world.users["gary"], membership__workspace=world.acme
    )
    grants = {g.role: g for g in rows}
    assert set(grants) == {Role.FUNCTIONS_ADMIN, Role.AUDITOR}
    assert not grants[Role.FUNCTIONS_ADMIN].all_functions
    assert [f.pk for f in grants[Role.FUNCTIONS_ADMIN].functions.all()] == [world.function.pk]


def test_an_expired_invitation_is_refused(world: World, login: Login) -> None:
    path = _invite(login("olivia"))
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    gary = login("gary")
    assert gary.get(path).status_code == 404
    assert gary.post(path).status_code == 404
    assert not Membership.objects.filter(workspace=world.acme, user=world.users["gary"]).exists()


def test_invitations_expire_after_seven_days(world: World) -> None:
    invitation, _code = invitation_create(
        workspace=world.acme, grants=[GrantSpec(role=Role.AUDITOR)], actor=world.users["olivia"]
    )
    lifetime = invitation.expires_at - invitation.created_at
    assert timedelta(days=7) - timedelta(seconds=5) < lifetime <= timedelta(days=7)


def test_a_member_accepting_keeps_the_invitation_for_someone_else(
    world: World, login: Login
) -> None:
    path = _invite(login("olivia"))
    response = login("adam").post(path)
    assert response.status_code == 400
    assert b"already a member" in response.content
    assert login("gary").post(path).status_code == 302


def test_unknown_codes_are_404(world: World, login: Login) -> None:
    assert login("gary").get("/invitations/fnide_inv_nope/").status_code == 404
    assert login("gary").post("/invitations/fnide_inv_nope/").status_code == 404


def test_the_code_is_stored_hashed_and_never_audited(world: World, login: Login) -> None:
    path = _invite(login("olivia"))
    code = path.rstrip("/").rsplit("/", 1)[1]
    assert not Invitation.objects.filter(code_hash=code).exists()
    assert all(code not in str(e.changes) + e.target_label for e in AuditEvent.objects.all())
    assert code.encode() not in login("olivia").get("/w/acme/members/").content


# --- pending invitations on the members page -----------------------------------------
def test_pending_invitations_are_listed_and_revoked(world: World, login: Login) -> None:
    client, gary = login("olivia"), login("gary")
    path = _invite(client, note="for Bob")
    invitation = Invitation.objects.get()
    page = client.get("/w/acme/members/").content.decode()
    assert "for Bob" in page
    assert f"/w/acme/members/invitations/{invitation.pk}/revoke/" in page
    before = AuditEvent.objects.count()
    response = client.post(f"/w/acme/members/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before + 1
    assert _rows("invitation.revoked")[0].target_label == "for Bob"
    assert f'id="invitation-{invitation.pk}"' not in client.get("/w/acme/members/").content.decode()
    assert gary.post(path).status_code == 404
    # Revoking twice changes nothing more.
    assert client.post(f"/w/acme/members/invitations/{invitation.pk}/revoke/").status_code == 404
    assert AuditEvent.objects.count() == before + 1


def test_accepted_and_expired_invitations_are_not_pending(world: World, login: Login) -> None:
    client = login("olivia")
    login("gary").post(_invite(client, note="accepted one"))
    _invite(client, note="expired one")
    Invitation.objects.filter(note="expired one").update(expires_at=timezone.now())
    page = client.get("/w/acme/members/").content.decode()
    assert "accepted one" not in page and "expired one" not in page


@pytest.mark.parametrize("persona", NON_OWNERS)
def test_only_owners_invite_and_revoke(world: World, login: Login, persona: str) -> None:
    invitation, _code = invitation_create(
        workspace=world.acme, grants=[GrantSpec(role=Role.AUDITOR)], actor=world.users["olivia"]
    )
    client, before = login(persona), AuditEvent.objects.count()
    assert client.get("/w/acme/members/invite/").status_code == 403
    assert client.post("/w/acme/members/invite/", _invite_data()).status_code == 403
    revoke = f"/w/acme/members/invitations/{invitation.pk}/revoke/"
    assert client.post(revoke).status_code == 403
    assert AuditEvent.objects.count() == before
    assert Invitation.objects.count() == 1


def test_a_foreign_owner_gets_404(world: World, login: Login) -> None:
    invitation, _code = invitation_create(
        workspace=world.acme, grants=[GrantSpec(role=Role.AUDITOR)], actor=world.users["olivia"]
    )
    gary = login("gary")
    assert gary.post("/w/acme/members/invite/", _invite_data()).status_code == 404
    assert gary.post(f"/w/globex/members/invitations/{invitation.pk}/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"roles": []}, b"at least one role"),
        ({"functions_readonly_scope": "subset"}, b"Choose at least one function"),
        ({"note": "x" * 101}, b"at most 100 characters"),
    ],
)
def test_bad_invitations_change_nothing(
    world: World, login: Login, overrides: dict[str, object], message: bytes
) -> None:
    client = login("olivia")
    before = AuditEvent.objects.count()
    response = client.post("/w/acme/members/invite/", _invite_data(**overrides))
    assert response.status_code == 400
    assert message in response.content
    assert not Invitation.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_foreign_function_cannot_be_offered(world: World, login: Login) -> None:
    data = _invite_data(functions_readonly_scope="subset",
                        functions_readonly_functions=[world.foreign_function.pk])  # fmt: skip
    assert login("olivia").post("/w/acme/members/invite/", data).status_code == 400
    assert not Invitation.objects.exists()


def test_two_acceptances_at_once_admit_one(world: World) -> None:
    _invitation, code = invitation_create(
        workspace=world.acme, grants=[GrantSpec(role=Role.AUDITOR)], actor=world.users["olivia"]
    )
    invitation_accept(code=code, user=world.users["gary"])
    from django.core.exceptions import ValidationError

    newcomer = make_user("newcomer")
    with pytest.raises(ValidationError, match="no longer valid"):
        invitation_accept(code=code, user=newcomer)
    assert not Membership.objects.filter(user=newcomer).exists()


# --- the Config API ----------------------------------------------------------------------
def test_invitations_through_the_api(world: World) -> None:
    api = APIClient()
    api.force_login(world.users["olivia"])
    body = {"note": "ci", "roles": [{"role": "functions_admin", "all_functions": False,
                                     "functions": [world.function.pk]}]}  # fmt: skip
    created = api.post(f"{A}/invitations/", body, format="json")
    assert created.status_code == 201, created.content
    assert "no-store" in created["Cache-Control"]
    data = created.json()
    assert data["url"] == f"http://testserver/invitations/{data['code']}/"
    assert data["roles"] == [{"role": "functions_admin", "all_functions": False,
                              "functions": [world.function.pk]}]  # fmt: skip
    listed = api.get(f"{A}/invitations/").json()["results"]
    assert [i["id"] for i in listed] == [data["id"]] and "code" not in listed[0]
    gary = Client()
    gary.force_login(world.users["gary"])
    assert gary.post(f"/invitations/{data['code']}/").status_code == 302
    assert api.get(f"{A}/invitations/").json()["results"] == []
    second = api.post(f"{A}/invitations/", {"roles": [{"role": "auditor"}]}, format="json").json()
    assert api.delete(f"{A}/invitations/{second['id']}/").status_code == 204
    assert api.delete(f"{A}/invitations/{second['id']}/").status_code == 404
    bad = api.post(f"{A}/invitations/", {"roles": []}, format="json")
    assert bad.status_code == 400 and "roles" in bad.json()["errors"]


def test_a_token_cannot_invite(world: World) -> None:
    # As a token cannot mint its successor: an invitation would outlive the token's revocation.
    from workspaces.services import api_token_create

    _token, raw = api_token_create(user=world.users["olivia"], workspace=world.acme, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {"roles": [{"role": "owner"}]}
    assert client.post(f"{A}/invitations/", body, format="json").status_code == 403
    assert not Invitation.objects.exists()
    assert client.get(f"{A}/invitations/").status_code == 200


# --- what the audit trail shows an owner -----------------------------------------------
def test_an_owner_never_sees_a_members_sign_ins(world: World, login: Login) -> None:
    path = _invite(login("olivia"))
    Client(REMOTE_ADDR="203.0.113.77").post("/login/", {"username": "gary", "password": PASSWORD})
    assert login("gary").post(path).status_code == 302
    signed_in = Client(REMOTE_ADDR="198.51.100.23")
    assert signed_in.post("/login/", {"username": "gary", "password": PASSWORD}).status_code == 302
    signed_in.post("/logout/")
    Client(REMOTE_ADDR="192.0.2.9").post("/login/", {"username": "gary", "password": "wrong"})
    owner = login("olivia")
    for trail in (
        owner.get("/w/acme/audit/").content,
        owner.get("/w/acme/audit/export.csv").getvalue(),
    ):
        text = trail.decode()
        assert "auth.login" not in text and "auth.logout" not in text
        for address in ("203.0.113.77", "198.51.100.23", "192.0.2.9"):
            assert address not in text
    api = APIClient()
    api.force_login(world.users["olivia"])
    actions = {e["action"] for e in api.get(f"{A}/audit-events/", {"limit": 500}).json()["results"]}
    assert not {a for a in actions if a.startswith("auth.")}
    assert "invitation.accepted" in actions
