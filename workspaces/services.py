from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.services import audit_record
from workspaces.models import (
    FUNCTION_SCOPED_ROLES,
    ApiToken,
    Invitation,
    InvitationGrant,
    Membership,
    Role,
    RoleGrant,
    Workspace,
)
from workspaces.selectors import grantable_function_list, invitation_pending, secret_hash

TOKEN_PREFIX = "fnide_"
INVITATION_PREFIX = "fnide_inv_"
INVITATION_LIFETIME = timedelta(days=7)
INVITATION_NOT_VALID = (
    "This invitation is no longer valid: it was used, revoked or has expired. "
    "Ask the workspace owner for a new one."
)
# Ids beyond a 64-bit signed integer cannot exist and overflow some database drivers.
MAX_ROW_ID = 2**63 - 1


@dataclass(frozen=True)
class GrantSpec:
    role: str
    all_functions: bool = True
    function_ids: frozenset[int] = field(default_factory=frozenset)


@transaction.atomic
def workspace_create(*, name: str, owner: User, slug: str = "") -> Workspace:
    slug = slug or slugify(name)
    if not slug:
        raise ValidationError({"name": "Give the workspace a name with letters or digits."})
    if Workspace.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A workspace with the address '{slug}' already exists."})
    workspace = Workspace.objects.create(name=name, slug=slug)
    membership = Membership.objects.create(workspace=workspace, user=owner)
    RoleGrant.objects.create(membership=membership, role=Role.OWNER)
    audit_record(
        action="workspace.created",
        actor=owner,
        workspace=workspace,
        target=workspace,
        changes={"name": name, "slug": slug},
    )
    return workspace


def _validate_grants(*, workspace: Workspace, grants: Iterable[GrantSpec]) -> list[GrantSpec]:
    result: list[GrantSpec] = []
    seen: set[str] = set()
    for grant in grants:
        if grant.role not in Role.values:
            raise ValidationError({"roles": f"Unknown role '{grant.role}'."})
        if grant.role in seen:
            raise ValidationError({"roles": f"Role '{grant.role}' is listed twice."})
        seen.add(grant.role)
        if grant.role not in FUNCTION_SCOPED_ROLES and not grant.all_functions:
            raise ValidationError({"roles": f"Role '{grant.role}' cannot be limited to functions."})
        if not grant.all_functions:
            out_of_range = sorted(i for i in grant.function_ids if not 0 < i <= MAX_ROW_ID)
            if out_of_range:
                raise ValidationError({"roles": f"No such functions: {out_of_range}."})
            found = set(
                grantable_function_list(workspace=workspace)
                .filter(id__in=grant.function_ids)
                .values_list("id", flat=True)
            )
            missing = sorted(set(grant.function_ids) - found)
            if missing:
                raise ValidationError({"roles": f"No such functions in this workspace: {missing}."})
        result.append(grant)
    return result


# The ``.grants`` of a member or of an invitation: rows of the same shape.
GrantRows = models.Manager[RoleGrant] | models.Manager[InvitationGrant]


def _describe_grants(grants: GrantRows) -> dict[str, object]:
    """The roles of a member or an invitation (``.grants``) as the audit trail shows them."""
    described: dict[str, object] = {}
    for grant in grants.prefetch_related("functions").order_by("role"):
        described[grant.role] = (
            "all functions" if grant.all_functions else sorted(f.id for f in grant.functions.all())
        )
    return described


def _write_grants(grants: GrantRows, specs: list[GrantSpec]) -> None:
    """Replace the rows of a member's or an invitation's ``.grants`` with ``specs``."""
    grants.all().delete()
    for spec in specs:
        grant = grants.create(role=spec.role, all_functions=spec.all_functions)
        if not spec.all_functions:
            grant.functions.set(sorted(spec.function_ids))


def _lock_membership_changes(workspace: Workspace) -> Workspace:
    """Serialise role changes of one workspace: two owners demoting each other at once must
    not both see the other still an owner (READ COMMITTED would let them)."""
    return Workspace.objects.select_for_update().get(pk=workspace.pk)


def _ensure_an_owner_remains(workspace: Workspace) -> None:
    if not RoleGrant.objects.filter(membership__workspace=workspace, role=Role.OWNER).exists():
        raise ValidationError({"roles": "A workspace must keep at least one Workspace Owner."})


@transaction.atomic
def member_add(
    *,
    workspace: Workspace,
    username: str,
    grants: Iterable[GrantSpec],
    actor: User,
    email: str = "",
    password: str = "",
) -> Membership:
    """Add an existing user to the workspace, or create the user when a password is given.

    For trusted callers only (the demo seed, test fixtures): no page or API endpoint adds
    anyone by name. People join by accepting an invitation (``invitation_accept``)."""
    grants = _validate_grants(workspace=workspace, grants=grants)
    if not grants:
        raise ValidationError({"roles": "Give the new member at least one role."})
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    created = user is None
    if user is None:
        if not password:
            raise ValidationError(
                {"password": f"No user '{username}' exists yet: set a password to create one."}
            )
        user = user_model(username=username, email=email)
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
        user.save()
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError({"username": f"'{username}' is already a member."})
    membership = Membership.objects.create(workspace=workspace, user=user)
    _write_grants(membership.grants, grants)
    audit_record(
        action="member.added",
        actor=actor,
        workspace=workspace,
        target=membership,
        target_label=username,
        changes={"roles": _describe_grants(membership.grants), "user_created": created},
    )
    return membership


@transaction.atomic
def member_roles_set(
    *, membership: Membership, grants: Iterable[GrantSpec], actor: User
) -> Membership:
    """Replace the member's roles (granting and revoking in one change)."""
    workspace = _lock_membership_changes(membership.workspace)
    grants = _validate_grants(workspace=workspace, grants=grants)
    before = _describe_grants(membership.grants)
    _write_grants(membership.grants, grants)
    _ensure_an_owner_remains(workspace)
    after = _describe_grants(membership.grants)
    if after == before:
        return membership
    audit_record(
        action="member.roles_changed",
        actor=actor,
        workspace=workspace,
        target=membership,
        target_label=membership.user.get_username(),
        changes={"before": before, "after": after},
    )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: User) -> None:
    workspace = _lock_membership_changes(membership.workspace)
    username = membership.user.get_username()
    before = _describe_grants(membership.grants)
    membership_id = membership.pk
    tokens_revoked = membership.user.api_tokens.filter(workspace=workspace, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    membership.delete()
    _ensure_an_owner_remains(workspace)
    audit_record(
        action="member.removed",
        actor=actor,
        workspace=workspace,
        target_label=username,
        changes={"membership_id": membership_id, "roles": before, "tokens_revoked": tokens_revoked},
    )


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, grants: Iterable[GrantSpec], actor: User, note: str = ""
) -> tuple[Invitation, str]:
    """An invitation to join with ``grants``, valid for INVITATION_LIFETIME. Returns it and
    its code, which is shown once and never stored. Nobody is looked up: whoever the owner
    hands the code to accepts it, so nothing here tells whether an account exists."""
    note = note.strip()
    if len(note) > 100:
        raise ValidationError({"note": "Keep the note to 100 characters."})
    grants = _validate_grants(workspace=workspace, grants=grants)
    if not grants:
        raise ValidationError({"roles": "Offer at least one role."})
    raw = INVITATION_PREFIX + secrets.token_urlsafe(24)
    invitation = Invitation.objects.create(
        workspace=workspace,
        note=note,
        code_hash=secret_hash(raw),
        created_by=actor,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    _write_grants(invitation.grants, grants)
    audit_record(
        action="invitation.created",
        actor=actor,
        workspace=workspace,
        target=invitation,
        changes={
            "roles": _describe_grants(invitation.grants),
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    return invitation, raw


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    revoked = invitation_pending(Invitation.objects.filter(pk=invitation.pk)).update(
        revoked_at=timezone.now()
    )
    if not revoked:  # accepted or expired meanwhile
        raise ValidationError({"invitation": INVITATION_NOT_VALID})
    audit_record(
        action="invitation.revoked",
        actor=actor,
        workspace=invitation.workspace,
        target=invitation,
        changes={"roles": _describe_grants(invitation.grants)},
    )


def _grant_specs(invitation: Invitation) -> list[GrantSpec]:
    return [
        GrantSpec(
            role=grant.role,
            all_functions=grant.all_functions,
            function_ids=frozenset(f.pk for f in grant.functions.all()),
        )
        for grant in invitation.grants.prefetch_related("functions")
    ]


@transaction.atomic
def invitation_accept(*, code: str, user: User) -> Membership:
    """Make the signed-in ``user`` a member with the roles the invitation offers, once.
    Functions of a subset deleted since the invitation was made are simply not granted."""
    invitation = (
        invitation_pending(Invitation.objects.filter(code_hash=secret_hash(code)))
        .select_related("workspace")
        .first()
    )
    if invitation is None:
        raise ValidationError({"invitation": INVITATION_NOT_VALID})
    workspace = _lock_membership_changes(invitation.workspace)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        # The invitation stays pending for the person it was meant for.
        raise ValidationError({"invitation": f"You are already a member of {workspace.name}."})
    # Claimed with a conditional update: of two acceptances at once, one wins.
    claimed = invitation_pending(Invitation.objects.filter(pk=invitation.pk)).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    if not claimed:
        raise ValidationError({"invitation": INVITATION_NOT_VALID})
    membership = Membership.objects.create(workspace=workspace, user=user)
    _write_grants(membership.grants, _grant_specs(invitation))
    audit_record(
        action="invitation.accepted",
        actor=user,
        workspace=workspace,
        target=membership,
        target_label=user.get_username(),
        changes={"invitation_id": invitation.pk, "roles": _describe_grants(membership.grants)},
    )
    return membership


@transaction.atomic
def api_token_create(*, user: User, workspace: Workspace, name: str) -> tuple[ApiToken, str]:
    """Create a personal access token. The plaintext is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the token so you can recognise it later."})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        workspace=workspace,
        name=name[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 4],
        token_hash=secret_hash(raw),
    )
    audit_record(
        action="api_token.created",
        actor=user,
        workspace=workspace,
        target=token,
        changes={"name": token.name, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        action="api_token.revoked",
        actor=actor,
        workspace=token.workspace,
        target=token,
        changes={"name": token.name, "prefix": token.prefix},
    )
