"""Catalog pages: the functions and sources of a workspace, and creating them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from catalog import selectors, services
from catalog.forms import SourceCreateForm
from workspaces.pages import add_service_errors, render_page, require, workspace_access
from workspaces.permissions import WorkspaceAccess

TABS = ("functions", "sources")


def _sources_redirect(workspace_slug: str) -> HttpResponseRedirect:
    return redirect(reverse("catalog", args=[workspace_slug]) + "?tab=sources")


def _catalog_page(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    tab: str,
    query: str = "",
    source_form: SourceCreateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, object] = {"tab": tab}
    if tab == "functions":
        context["q"] = query
        context["function_rows"] = selectors.function_catalog_list(access=access, query=query)
    else:
        context["sources"] = selectors.source_list(access=access)
        context["source_form"] = source_form or SourceCreateForm()
    return render_page(request, "catalog/catalog.html", access, context, status=status)


@login_required
@require_GET
def catalog(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """The Functions tab (searchable with ``?q=``) or the Sources tab (``?tab=sources``)."""
    access = workspace_access(request, workspace_slug)
    tab = request.GET.get("tab", "functions")
    query = request.GET.get("q", "").strip()[: selectors.CATALOG_QUERY_MAX]
    return _catalog_page(request, access, tab=tab if tab in TABS else "functions", query=query)


@login_required
@require_GET
def function_new(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Choose the kind of function to build; each kind leads to its template gallery."""
    access = workspace_access(request, workspace_slug)
    require(access.can_create_function)
    return render_page(request, "catalog/function_new.html", access)


@login_required
@require_POST
def source_create(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_manage_sources)
    form = SourceCreateForm(request.POST)
    if form.is_valid():
        try:
            source = services.source_create(
                workspace=access.workspace, name=form.cleaned_data["name"], actor=access.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created the source {source.name}.")
            return _sources_redirect(workspace_slug)
    return _catalog_page(request, access, tab="sources", source_form=form, status=400)


@login_required
@require_POST
def source_delete(request: HttpRequest, workspace_slug: str, source_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    source = selectors.source_get(access=access, source_id=source_id)
    require(access.can_manage_sources)
    services.source_delete(
        source=source, actor=access.user, may_change_instances=access.can_deploy_function
    )
    messages.success(request, f"Deleted the source {source.name}.")
    return _sources_redirect(workspace_slug)


@login_required
@require_POST
def source_rotate_write_key(
    request: HttpRequest, workspace_slug: str, source_id: int
) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    source = selectors.source_get(access=access, source_id=source_id)
    require(access.can_manage_sources)
    services.source_write_key_rotate(source=source, actor=access.user)
    messages.success(
        request, f"{source.name} has a new write key: the old one no longer sends events."
    )
    return _sources_redirect(workspace_slug)
