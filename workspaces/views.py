"""Server-rendered workspace pages: home, members, invitations and personal access tokens.
(The dashboard, which sums up the catalog and the audit trail, lives in ``dashboard/``.)"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from workspaces import selectors, services
from workspaces.forms import InviteForm, RolesForm, TokenCreateForm, roles_initial
from workspaces.models import Membership
from workspaces.pages import (
    SignedInRequest,
    add_service_errors,
    render_page,
    require,
    workspace_access,
)
from workspaces.permissions import WorkspaceAccess


# --- home ---------------------------------------------------------------------------------
@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    workspace = selectors.workspace_list_for_user(user=request.user).first()
    if workspace is None:
        return render(request, "workspaces/no_workspace.html")
    return redirect("dashboard", workspace_slug=workspace.slug)


# --- members ----------------------------------------------------------------------------
# Members and pending invitations per page: the page costs the same however big the
# workspace is (a function subset shows as its size; names are on the member's own page).
MEMBERS_PER_PAGE = 50


@login_required
@require_GET
def members(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_view_members)
    workspace = access.workspace
    context = {
        "page": Paginator(
            selectors.membership_summary_list(workspace=workspace), MEMBERS_PER_PAGE
        ).get_page(request.GET.get("page")),
        "invitations": Paginator(
            selectors.invitation_pending_summary_list(workspace=workspace), MEMBERS_PER_PAGE
        ).get_page(request.GET.get("invitations_page")),
    }
    return render_page(request, "workspaces/members.html", access, context)


def _member_page(
    request: HttpRequest,
    access: WorkspaceAccess,
    membership: Membership,
    *,
    form: RolesForm | None = None,
    status: int = 200,
) -> HttpResponse:
    form = form or RolesForm(
        functions=selectors.grantable_function_list(workspace=access.workspace),
        initial=roles_initial(list(membership.grants.all())),
        prefix=f"m{membership.pk}",
    )
    context = {"membership": membership, "form": form}
    return render_page(request, "workspaces/member.html", access, context, status=status)


@login_required
@require_GET
def member(request: HttpRequest, workspace_slug: str, member_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_view_members)
    membership = selectors.membership_get(workspace=access.workspace, membership_id=member_id)
    return _member_page(request, access, membership)


@login_required
@require_POST
def member_roles(request: HttpRequest, workspace_slug: str, member_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_manage_members)
    membership = selectors.membership_get(workspace=access.workspace, membership_id=member_id)
    form = RolesForm(
        request.POST,
        functions=selectors.grantable_function_list(workspace=access.workspace),
        prefix=f"m{member_id}",
    )
    if form.is_valid():
        try:
            services.member_roles_set(
                membership=membership, grants=form.grants(), actor=access.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Updated the roles of {membership.user.get_username()}.")
            return redirect("members", workspace_slug=workspace_slug)
    return _member_page(request, access, membership, form=form, status=400)


@login_required
@require_POST
def member_remove(request: HttpRequest, workspace_slug: str, member_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_manage_members)
    membership = selectors.membership_get(workspace=access.workspace, membership_id=member_id)
    username = membership.user.get_username()
    try:
        services.member_remove(membership=membership, actor=access.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Removed {username} from the workspace.")
    return redirect("members", workspace_slug=workspace_slug)


# --- invitations ------------------------------------------------------------------------
def _invite_page(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    form: InviteForm | None = None,
    invitation_url: str = "",
    status: int = 200,
) -> HttpResponse:
    functions = selectors.grantable_function_list(workspace=access.workspace)
    context = {"form": form or InviteForm(functions=functions), "invitation_url": invitation_url}
    return render_page(request, "workspaces/invite.html", access, context, status=status)


@never_cache  # a new invitation's response carries its link
@login_required
@require_http_methods(["GET", "POST"])
def member_invite(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_manage_members)
    if request.method == "GET":
        return _invite_page(request, access)
    form = InviteForm(
        request.POST, functions=selectors.grantable_function_list(workspace=access.workspace)
    )
    if form.is_valid():
        try:
            _invitation, code = services.invitation_create(
                workspace=access.workspace,
                grants=form.grants(),
                note=form.cleaned_data["note"],
                actor=access.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Rendered straight from the POST: only the code's hash is stored, so this
            # response is the only time the link is shown.
            url = request.build_absolute_uri(reverse("invitation", args=[code]))
            return _invite_page(request, access, invitation_url=url)
    return _invite_page(request, access, form=form, status=400)


@login_required
@require_POST
def invitation_revoke(
    request: HttpRequest, workspace_slug: str, invitation_id: int
) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_manage_members)
    invitation = selectors.invitation_pending_get(
        workspace=access.workspace, invitation_id=invitation_id
    )
    try:
        services.invitation_revoke(invitation=invitation, actor=access.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Revoked the invitation “{invitation}”.")
    return redirect("members", workspace_slug=workspace_slug)


@login_required  # an anonymous visitor signs in and comes back to the link
@require_http_methods(["GET", "POST"])
def invitation(request: SignedInRequest, code: str) -> HttpResponse:
    """The page an invitation link opens: the workspace and roles offered, and Accept."""
    pending = selectors.invitation_pending_for_code(code=code)
    if pending is None:
        return render(request, "workspaces/invitation.html", {"invitation": None}, status=404)
    if request.method == "POST":
        try:
            membership = services.invitation_accept(code=code, user=request.user)
        except ValidationError as exc:
            context = {"invitation": pending, "error": " ".join(exc.messages)}
            return render(request, "workspaces/invitation.html", context, status=400)
        messages.success(request, f"Welcome to {membership.workspace.name}.")
        return redirect("dashboard", workspace_slug=membership.workspace.slug)
    return render(request, "workspaces/invitation.html", {"invitation": pending})


# --- personal access tokens -----------------------------------------------------------
def _tokens_page(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    form: TokenCreateForm | None = None,
    new_token: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "tokens": selectors.api_token_list(user=access.user, workspace=access.workspace),
        "form": form or TokenCreateForm(),
        "new_token": new_token,
    }
    return render_page(request, "workspaces/tokens.html", access, context, status=status)


@login_required
@require_GET
def tokens(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    return _tokens_page(request, workspace_access(request, workspace_slug))


@never_cache  # the response carries the token's plaintext
@login_required
@require_POST
def token_create(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    form = TokenCreateForm(request.POST)
    if form.is_valid():
        try:
            _token, raw = services.api_token_create(
                user=access.user, workspace=access.workspace, name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Rendered straight from the POST: the plaintext is never stored, not even in
            # the session, so this response is the only time it is shown.
            return _tokens_page(request, access, new_token=raw)
    return _tokens_page(request, access, form=form, status=400)


@login_required
@require_POST
def token_revoke(request: HttpRequest, workspace_slug: str, token_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    token = (
        selectors.api_token_list(user=access.user, workspace=access.workspace)
        .filter(pk=token_id)
        .first()
    )
    if token is None:
        raise Http404("No such token")
    services.api_token_revoke(token=token, actor=access.user)
    messages.success(request, f"Revoked the token “{token.name}”.")
    return redirect("tokens", workspace_slug=workspace_slug)
