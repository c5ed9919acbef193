"""Pages of a destination instance: what it is, how its events are filtered, delivered and
logged. Each tab is a page of its own, under ``/w/<slug>/instances/<id>/``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from catalog.selectors import instance_get, instance_settings_masked
from pipeline.selectors import instance_batching_get
from workspaces.pages import render_page, workspace_access


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
    }
    return render_page(request, "pipeline/instance_overview.html", access, context)
