"""The function editor page: code, settings schema, versions and destination instances."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from catalog import selectors, services
from catalog.models import Function
from editor.forms import FunctionSaveForm
from workspaces.pages import add_service_errors, render_page, require, workspace_access
from workspaces.permissions import WorkspaceAccess


def _editor_context(access: WorkspaceAccess, function: Function) -> dict[str, Any]:
    versions = selectors.function_versions_with_states(function=function)
    # Masked values only: encrypted settings are write-only and never rendered.
    instances = [
        (instance, selectors.instance_settings_masked(instance=instance))
        for instance in selectors.instance_list(access=access).filter(function=function)
    ]
    return {
        "function": function,
        "latest_number": versions[0][0].number,
        "versions": versions,
        "instances": instances,
        "can_edit": access.can_edit_function(function.pk),
    }


def _editor_page(
    request: HttpRequest,
    access: WorkspaceAccess,
    function: Function,
    *,
    form: FunctionSaveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if form is None:
        initial = {
            "code": function.code,
            "settings_schema": json.dumps(function.settings_schema, indent=2),
        }
        form = FunctionSaveForm(initial=initial)
    context = _editor_context(access, function) | {"form": form}
    return render_page(request, "editor/editor.html", access, context, status=status)


@login_required
@require_GET
def function_editor(request: HttpRequest, workspace_slug: str, function_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    function = selectors.function_get(access=access, function_id=function_id)
    return _editor_page(request, access, function)


@login_required
@require_POST
def function_save(request: HttpRequest, workspace_slug: str, function_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    function = selectors.function_get(access=access, function_id=function_id)
    require(access.can_edit_function(function.pk))
    form = FunctionSaveForm(request.POST)
    if form.is_valid():
        before = selectors.function_latest_number(function=function)
        try:
            services.function_update(
                function=function,
                code=form.cleaned_data["code"],
                settings_schema=form.cleaned_data["settings_schema"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            after = selectors.function_latest_number(function=function)
            if after != before:
                messages.success(request, f"Saved version {after}.")
            else:
                messages.info(request, "Nothing changed, so no new version was saved.")
            return redirect(
                "function-editor", workspace_slug=workspace_slug, function_id=function.pk
            )
    return _editor_page(request, access, function, form=form, status=400)


@login_required
@require_POST
def function_restore(
    request: HttpRequest, workspace_slug: str, function_id: int, number: int
) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    function = selectors.function_get(access=access, function_id=function_id)
    require(access.can_edit_function(function.pk))
    version = selectors.function_version_get(function=function, number=number)
    restored = services.function_version_restore(
        function=function, version=version, actor=request.user
    )
    messages.success(request, f"Restored version {number} as version {restored.number}.")
    return redirect("function-editor", workspace_slug=workspace_slug, function_id=function.pk)


@login_required
@require_POST
def function_delete(request: HttpRequest, workspace_slug: str, function_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    function = selectors.function_get(access=access, function_id=function_id)
    require(access.can_edit_function(function.pk))
    name = function.name
    services.function_delete(
        function=function, actor=request.user, may_change_instances=access.can_deploy_function
    )
    messages.success(request, f"Deleted the function {name}.")
    return redirect("catalog", workspace_slug=workspace_slug)
