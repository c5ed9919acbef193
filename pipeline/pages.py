"""Pages of a destination instance: what it is, how its events are filtered, delivered and
logged. Each tab is a page of its own, under ``/w/<slug>/instances/<id>/``. And the
workspace's usage page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from catalog.selectors import instance_get, instance_settings_masked
from pipeline.selectors import USAGE_DAYS_DEFAULT, function_usage_list
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
    }
    return render_page(request, "pipeline/instance_overview.html", access, context)


@login_required
@require_GET
def usage(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Invocations and execution time per day of the functions the member may see."""
    access = workspace_access(request, workspace_slug)
    rows = function_usage_list(access=access, days=USAGE_DAYS_DEFAULT, today=timezone.now().date())
    context = {"usage": rows, "days": USAGE_DAYS_DEFAULT}
    return render_page(request, "pipeline/usage.html", access, context)
