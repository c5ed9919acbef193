"""Pages of a destination instance: what it is, how its events are filtered, delivered and
logged. Each tab is a page of its own, under ``/w/<slug>/instances/<id>/``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from catalog.selectors import (
    function_list,
    instance_get,
    instance_settings_masked,
    instance_write_only_names,
    source_list,
)
from pipeline.selectors import instance_batching_get
from workspaces.pages import render_page, require, workspace_access
from workspaces.permissions import WorkspaceAccess


@login_required
@require_GET
def instance_overview(request: HttpRequest, workspace_slug: str, instance_id: int) -> HttpResponse:
    """The instance's source, function, deployed version and settings (secrets masked)."""
    access = workspace_access(request, workspace_slug)
    instance = instance_get(access=access, instance_id=instance_id)
    context = {
        "instance": instance,
        "instance_tab": "overview",
        "settings_masked": instance_settings_masked(instance=instance),
        "batching": instance_batching_get(instance=instance),
        "can_change": access.can_deploy_function(instance.function_id),
    }
    return render_page(request, "pipeline/instance_overview.html", access, context)


def _form_page(
    request: HttpRequest, access: WorkspaceAccess, config: dict[str, Any], title: str
) -> HttpResponse:
    slug = access.workspace.slug
    config["urls"] = {
        "api_instances": reverse("api-instances", args=[slug]),
        "instance_base": reverse("instance", args=[slug, 0]).removesuffix("0/"),
    }
    return render_page(
        request, "pipeline/instance_form.html", access, {"config": config, "title": title}
    )


@login_required
@require_GET
def instance_new(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Connect a function to a source: ``?function=<id>`` or ``?source=<id>`` preselects."""
    access = workspace_access(request, workspace_slug)
    require(access.can_manage_sources, "Connecting a function to a source needs Source Admin.")
    functions = [
        {"id": f.pk, "name": f.name, "settings_schema": f.settings_schema}
        for f in function_list(access=access).order_by("name")
        if access.can_deploy_function(f.pk)
    ]
    require(bool(functions), "Connecting a function needs Functions Admin for it.")
    config = {
        "mode": "new",
        "functions": functions,
        "sources": [{"id": s.pk, "name": s.name} for s in source_list(access=access)],
        "function": request.GET.get("function", ""),
        "source": request.GET.get("source", ""),
    }
    return _form_page(request, access, config, "Connect a destination")


@login_required
@require_GET
def instance_configure(request: HttpRequest, workspace_slug: str, instance_id: int) -> HttpResponse:
    """Change an instance's name, enabled switch and settings (secrets stay write-only)."""
    access = workspace_access(request, workspace_slug)
    instance = instance_get(access=access, instance_id=instance_id)
    require(
        access.can_deploy_function(instance.function_id),
        "Changing a live destination needs Functions Admin and Source Admin.",
    )
    config = {
        "mode": "edit",
        "instance": {
            "id": instance.pk,
            "name": instance.name,
            "enabled": instance.enabled,
            "function_name": instance.function.name,
            "source_name": instance.source.name,
            "settings_schema": instance.deployed_version.settings_schema,
            "settings": instance_settings_masked(instance=instance),
            "write_only": instance_write_only_names(instance=instance),
        },
    }
    return _form_page(request, access, config, f"Configure {instance.name}")
