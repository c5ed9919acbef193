"""Server-rendered workspace pages: home, members and personal access tokens. (The
dashboard, which sums up the catalog and the audit trail, lives in ``dashboard/``.)"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from workspaces import selectors, services
from workspaces.forms import MemberAddForm, RolesForm, TokenCreateForm, roles_initial
from workspaces.models import Membership
from workspaces.pages import add_service_errors, render_page, require, workspace_access
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
def _member_rows(
    access: WorkspaceAccess, functions: QuerySet[Model], bound: tuple[int, RolesForm] | None
) -> list[tuple[Membership, RolesForm]]:
    """Each member with their roles form; ``bound`` replaces one with a form showing errors."""
    rows = []
    for membership in selectors.membership_list(workspace=access.workspace):
        if bound is not None and bound[0] == membership.pk:
            form = bound[1]
        else:
            form = RolesForm(
                functions=functions,
                initial=roles_initial(list(membership.grants.all())),
                prefix=f"m{membership.pk}",
            )
        rows.append((membership, form))
    return rows


def _members_page(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    add_form: MemberAddForm | None = None,
    bound: tuple[int, RolesForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    functions = selectors.grantable_function_list(workspace=access.workspace)
    context = {
        "rows": _member_rows(access, functions, bound),
        "add_form": add_form or MemberAddForm(functions=functions),
    }
    return render_page(request, "workspaces/members.html", access, context, status=status)


@login_required
@require_GET
def members(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_view_members)
    return _members_page(request, access)


@sensitive_post_parameters("password")
@login_required
@require_POST
def member_add(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_manage_members)
    form = MemberAddForm(
        request.POST, functions=selectors.grantable_function_list(workspace=access.workspace)
    )
    if form.is_valid():
        try:
            services.member_add(
                workspace=access.workspace,
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                grants=form.grants(),
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added {form.cleaned_data['username']}.")
            return redirect("members", workspace_slug=workspace_slug)
    return _members_page(request, access, add_form=form, status=400)


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
                membership=membership, grants=form.grants(), actor=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Updated the roles of {membership.user.get_username()}.")
            return redirect("members", workspace_slug=workspace_slug)
    return _members_page(request, access, bound=(member_id, form), status=400)


@login_required
@require_POST
def member_remove(request: HttpRequest, workspace_slug: str, member_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_manage_members)
    membership = selectors.membership_get(workspace=access.workspace, membership_id=member_id)
    username = membership.user.get_username()
    try:
        services.member_remove(membership=membership, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Removed {username} from the workspace.")
    return redirect("members", workspace_slug=workspace_slug)


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
        "tokens": selectors.api_token_list(user=request.user, workspace=access.workspace),
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
                user=request.user, workspace=access.workspace, name=form.cleaned_data["name"]
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
        selectors.api_token_list(user=request.user, workspace=access.workspace)
        .filter(pk=token_id)
        .first()
    )
    if token is None:
        raise Http404("No such token")
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Revoked the token “{token.name}”.")
    return redirect("tokens", workspace_slug=workspace_slug)
