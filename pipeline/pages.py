"""Pages of a destination instance: what it is, how its events are filtered, delivered and
logged. Each tab is a page of its own, under ``/w/<slug>/instances/<id>/``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from catalog.selectors import instance_get, instance_settings_masked
from pipeline import filters
from pipeline.selectors import instance_filters_get
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
def instance_filters(request: HttpRequest, workspace_slug: str, instance_id: int) -> HttpResponse:
    """The instance's destination filters, built and tested on events in the page (its
    module saves and previews them through the Config API); read-only for whoever may not
    change the instance."""
    access = workspace_access(request, workspace_slug)
    instance = instance_get(access=access, instance_id=instance_id)
    api = {"workspace_slug": workspace_slug, "instance_id": instance.pk}
    page_data = {
        "rules": instance_filters_get(instance=instance).rules,
        "canChange": access.can_deploy_function(instance.function_id),
        "filtersUrl": reverse("api-instance-filters", kwargs=api),
        "previewUrl": reverse("api-instance-filters-preview", kwargs=api),
        "recentEventsUrl": reverse(
            "api-source-recent-events",
            kwargs={"workspace_slug": workspace_slug, "source_id": instance.source_id},
        ),
        "operators": list(filters.OPERATORS),
        "topLevelFields": list(filters.TOP_LEVEL_FIELDS),
        "containers": list(filters.CONTAINERS),
    }
    context = {"instance": instance, "instance_tab": "filters", "page_data": page_data}
    return render_page(request, "pipeline/instance_filters.html", access, context)
