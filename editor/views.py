"""The function editor pages: the IDE for a saved function, the template gallery and the IDE
for a new, unsaved function. Saving, restoring and deploying go through the Config API from
the page's JavaScript; only deleting is a form post."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from catalog import selectors, services
from catalog.function_templates import FunctionTemplate, template_get, template_list
from catalog.models import Function
from catalog.sample_events import sample_events
from editor import selectors as editor_selectors
from workspaces.pages import render_page, require, workspace_access
from workspaces.permissions import WorkspaceAccess

MONACO_WORKERS = {
    "editorWorkerService": "build/workers/editor.js",
    "typescript": "build/workers/typescript.js",
    "json": "build/workers/json.js",
}


def _urls(slug: str, function_id: int | None) -> dict[str, Any]:
    def api(name: str) -> str | None:
        if function_id is None:
            return None
        return reverse(name, kwargs={"workspace_slug": slug, "function_id": function_id})

    return {
        "api_functions": reverse("api-functions", args=[slug]),
        "api_function": api("api-function"),
        "api_versions": api("api-function-versions"),
        "api_deployments": api("api-function-deployments"),
        "api_instances": reverse("api-instances", args=[slug]),
        # The draft (unsaved code) previews here; a saved version at api_function/preview/.
        "api_preview": reverse("api-function-preview-new", args=[slug]),
        "api_test_settings": api("api-function-test-settings"),
        "api_test_cases": api("api-function-test-cases"),
        # A source's recent events are at source_events_base + "<id>/recent-events/".
        "source_events_base": reverse("api-sources", args=[slug]),
        # Channels routes (editor/routing.py) have no reverse().
        "ws_events": f"/ws/w/{slug}/functions/{function_id}/events/" if function_id else None,
        "ws_test_runs": f"/ws/w/{slug}/test-runs/",
        "catalog": reverse("catalog", args=[slug]),
        "build": reverse("function-build", args=[slug]),
        # The editor of function N is editor_base + "N/".
        "editor_base": reverse("function-editor", args=[slug, 0]).removesuffix("0/"),
        "monaco_workers": {label: static(path) for label, path in MONACO_WORKERS.items()},
    }


def _instances(access: WorkspaceAccess, function: Function) -> list[dict[str, Any]]:
    # No settings here, masked or not: the deploy dialog needs versions, not values.
    return [
        {
            "id": instance.pk,
            "name": instance.name,
            "source": instance.source_id,
            "source_name": instance.source.name,
            "enabled": instance.enabled,
            "deployed_version": instance.deployed_version.number,
            "previous_version": selectors.instance_previous_number(instance=instance),
        }
        for instance in selectors.instance_list(access=access).filter(function=function)
    ]


def _page_config(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    function: Function | None,
    template: FunctionTemplate | None = None,
) -> dict[str, Any]:
    """The page data the editor's JavaScript reads (``#editor-config``); see the IDE spec."""
    slug = access.workspace.slug
    if function is not None:
        can_edit = access.can_edit_function(function.pk)
        can_deploy = access.can_deploy_function(function.pk)
        function_data: dict[str, Any] | None = {
            "id": function.pk,
            "name": function.name,
            "description": function.description,
            "latest_version": selectors.function_latest_number(function=function),
            "code": function.code,
            "settings_schema": function.settings_schema,
        }
        instances = _instances(access, function)
        test_settings = editor_selectors.test_settings_masked(user=access.user, function=function)
    else:
        can_edit, can_deploy = access.can_create_function, False
        function_data, instances, test_settings = None, [], {}
    return {
        "workspace": slug,
        "user": request.user.get_username(),
        "mode": "edit" if function is not None else "new",
        "function": function_data,
        "template": template.slug if template is not None else None,
        "can_edit": can_edit,
        "can_deploy": can_deploy,
        "can_run": can_edit,
        "instances": instances,
        "sources": [{"id": s.pk, "name": s.name} for s in selectors.source_list(access=access)],
        "sample_events": sample_events(),
        "templates": [t.to_dict() for t in template_list()],
        "test_settings": test_settings,
        "urls": _urls(slug, function.pk if function is not None else None),
    }


def _flags(config: dict[str, Any]) -> dict[str, bool]:
    return {key: config[key] for key in ("can_edit", "can_deploy", "can_run")}


@login_required
@require_GET
def function_editor(request: HttpRequest, workspace_slug: str, function_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    function = selectors.function_get(access=access, function_id=function_id)
    config = _page_config(request, access, function=function)
    context = {"function": function, "config": config, "mode": "edit"} | _flags(config)
    return render_page(request, "editor/editor.html", access, context)


@login_required
@require_GET
def function_build(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Without ``?template=``: the template gallery. With it: the editor on that template's
    code and settings, unsaved; nothing is written until the user creates the function."""
    access = workspace_access(request, workspace_slug)
    require(access.can_create_function)
    slug = request.GET.get("template")
    if slug is None:
        return render_page(request, "editor/gallery.html", access, {"templates": template_list()})
    template = template_get(slug)
    if template is None:
        raise Http404("No such template")
    config = _page_config(request, access, function=None, template=template)
    context = {"template": template, "config": config, "mode": "new"} | _flags(config)
    return render_page(request, "editor/editor.html", access, context)


@login_required
@require_POST
def function_delete(request: HttpRequest, workspace_slug: str, function_id: int) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    function = selectors.function_get(access=access, function_id=function_id)
    require(access.can_edit_function(function.pk))
    name = function.name
    services.function_delete(
        function=function, actor=access.user, may_change_instances=access.can_deploy_function
    )
    messages.success(request, f"Deleted the function {name}.")
    return redirect("catalog", workspace_slug=workspace_slug)
