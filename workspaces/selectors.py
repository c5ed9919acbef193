from __future__ import annotations

import hashlib

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Model, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from workspaces.models import (
    ApiToken,
    Invitation,
    InvitationGrant,
    Membership,
    Role,
    RoleGrant,
    Workspace,
)
from workspaces.permissions import FunctionScope, WorkspaceAccess

AnyUser = User | AnonymousUser


def workspace_list_for_user(*, user: AnyUser) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def _scope_of(grant: RoleGrant) -> FunctionScope:
    if grant.all_functions:
        return None
    return frozenset(f.id for f in grant.functions.all())


def workspace_access_get(*, user: AnyUser, workspace: Workspace) -> WorkspaceAccess | None:
    """The member's access in ``workspace``, or None when the user is not a member."""
    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(workspace=workspace, user=user)
        .prefetch_related(
            Prefetch("grants", queryset=RoleGrant.objects.prefetch_related("functions"))
        )
        .first()
    )
    if membership is None:
        return None
    grants = {grant.role: grant for grant in membership.grants.all()}
    admin = grants.get(Role.FUNCTIONS_ADMIN)
    readonly = grants.get(Role.FUNCTIONS_READONLY)
    return WorkspaceAccess(
        workspace=workspace,
        user=user,
        roles=frozenset(grants),
        admin_scope=_scope_of(admin) if admin else frozenset(),
        readonly_scope=_scope_of(readonly) if readonly else frozenset(),
    )


def workspace_access_for_slug(*, user: AnyUser, slug: str) -> WorkspaceAccess:
    """Resolve a workspace by slug for a member; anyone else gets a 404, never a 403."""
    workspace = Workspace.objects.filter(slug=slug).first()
    access = workspace_access_get(user=user, workspace=workspace) if workspace else None
    if access is None:
        raise Http404("No such workspace")
    return access


def grantable_function_list(*, workspace: Workspace) -> QuerySet[Model]:
    """Every function of the workspace, which a role grant may be limited to (for the
    members pages, which are the owner's: an owner sees every function). Read through the
    grants' own relation (``RoleGrant.functions`` names ``catalog.Function`` lazily), so
    that this ground-floor app never imports the catalog built on top of it."""
    function_model = RoleGrant.functions.field.remote_field.model
    return function_model._default_manager.filter(workspace=workspace).order_by("name")


def membership_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .prefetch_related(
            Prefetch("grants", queryset=RoleGrant.objects.prefetch_related("functions"))
        )
        .order_by("user__username")
    )


def membership_summary_list(*, workspace: Workspace) -> QuerySet[Membership]:
    """Members with their roles, a subset as its size (``grant.function_count``): what the
    members page lists, whatever the number of functions."""
    grants = RoleGrant.objects.annotate(function_count=Count("functions")).order_by("role")
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .prefetch_related(Prefetch("grants", queryset=grants))
        .order_by("user__username", "pk")
    )


def membership_get(*, workspace: Workspace, membership_id: int) -> Membership:
    membership = membership_list(workspace=workspace).filter(id=membership_id).first()
    if membership is None:
        raise Http404("No such member")
    return membership


def api_token_list(*, user: User, workspace: Workspace) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, workspace=workspace, revoked_at=None).order_by(
        "-created_at"
    )


def invitation_pending(invitations: QuerySet[Invitation]) -> QuerySet[Invitation]:
    """Those of ``invitations`` that can still be accepted."""
    return invitations.filter(accepted_at=None, revoked_at=None, expires_at__gt=timezone.now())


def _invitations_with_grants(invitations: QuerySet[Invitation]) -> QuerySet[Invitation]:
    grants = InvitationGrant.objects.annotate(function_count=Count("functions")).order_by("role")
    return invitations.select_related("workspace", "created_by").prefetch_related(
        Prefetch("grants", queryset=grants)
    )


def invitation_pending_summary_list(*, workspace: Workspace) -> QuerySet[Invitation]:
    """Pending invitations, newest first, a subset as its size (``grant.function_count``)."""
    pending = invitation_pending(Invitation.objects.filter(workspace=workspace))
    return _invitations_with_grants(pending).order_by("-created_at", "-pk")


def invitation_pending_list(*, workspace: Workspace) -> QuerySet[Invitation]:
    """Pending invitations, newest first, with the functions of each subset (for the API)."""
    return invitation_pending_summary_list(workspace=workspace).prefetch_related(
        "grants__functions"
    )


def invitation_pending_get(*, workspace: Workspace, invitation_id: int) -> Invitation:
    invitation = invitation_pending_list(workspace=workspace).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def invitation_pending_for_code(*, code: str) -> Invitation | None:
    """The pending invitation a link's code opens, for the page its holder accepts it on."""
    return _invitations_with_grants(
        invitation_pending(Invitation.objects.filter(code_hash=secret_hash(code)))
    ).first()


def secret_hash(raw: str) -> str:
    """How API tokens and invitation codes are stored: their plaintext is shown once."""
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    token = (
        ApiToken.objects.select_related("user", "workspace")
        .filter(token_hash=secret_hash(raw), revoked_at=None)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    # Coarse last-use stamp: one write per token per minute, not per request.
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
