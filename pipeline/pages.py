"""Pages of a destination instance: what it is, how its events are filtered, delivered and
logged. Each tab is a page of its own, under ``/w/<slug>/instances/<id>/``. And a source's
pipeline actions, under ``/w/<slug>/sources/<id>/``, and the workspace's usage page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from catalog.models import DestinationInstance
from catalog.selectors import (
    function_list,
    instance_get,
    instance_settings_masked,
    instance_write_only_names,
    source_get,
    source_list,
)
from pipeline import filters
from pipeline.selectors import (
    DELIVERY_RANGES,
    DELIVERY_STATES,
    USAGE_DAYS_DEFAULT,
    DeliverySummary,
    delivery_range_parse,
    function_usage_list,
    instance_batching_get,
    instance_delivery_failures,
    instance_delivery_summary,
    instance_filters_get,
)
from pipeline.services import instance_batching_set, source_user_delete
from workspaces.pages import SignedInRequest, render_page, require, workspace_access
from workspaces.permissions import WorkspaceAccess


def _instance_page(
    access: WorkspaceAccess, instance: DestinationInstance, tab: str
) -> dict[str, Any]:
    """What every instance page's tab strip needs."""
    return {
        "instance": instance,
        "instance_tab": tab,
        "function_viewable": access.can_view_function(instance.function_id),
    }


@login_required
@require_GET
def instance_overview(request: HttpRequest, workspace_slug: str, instance_id: int) -> HttpResponse:
    """The instance's source, function, deployed version and settings (secrets masked)."""
    access = workspace_access(request, workspace_slug)
    instance = instance_get(access=access, instance_id=instance_id)
    context = _instance_page(access, instance, "overview") | {
        "settings_masked": instance_settings_masked(instance=instance),
        "batching": instance_batching_get(instance=instance),
        "can_change": access.can_deploy_function(instance.function_id),
    }
    return render_page(request, "pipeline/instance_overview.html", access, context)


@login_required
@require_POST
def instance_batching(
    request: SignedInRequest, workspace_slug: str, instance_id: int
) -> HttpResponse:
    """The Overview's batch settings form: size and wait, in whole numbers."""
    access = workspace_access(request, workspace_slug)
    instance = instance_get(access=access, instance_id=instance_id)
    require(
        access.can_deploy_function(instance.function_id),
        "Changing a live destination needs Functions Admin and Source Admin.",
    )
    try:
        instance_batching_set(
            instance=instance,
            actor=access.user,
            size=_whole_number(request.POST.get("size"), "size"),
            wait_ms=_whole_number(request.POST.get("wait_ms"), "wait_ms"),
        )
    except ValidationError as error:
        labels = {"size": "Batch size", "wait_ms": "Wait"}
        messages.error(
            request,
            " ".join(
                f"{labels.get(field, field)}: {' '.join(problems)}"
                for field, problems in error.message_dict.items()
            ),
        )
    else:
        messages.success(request, "Batch settings saved.")
    return redirect(reverse("instance", args=[workspace_slug, instance.pk]))


def _whole_number(value: str | None, field: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise ValidationError({field: "Give a whole number."}) from None


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
@require_POST
def source_delete_user(
    request: SignedInRequest, workspace_slug: str, source_id: int
) -> HttpResponse:
    """The Sources tab's "Delete user": a delete event to the source's destinations."""
    access = workspace_access(request, workspace_slug)
    source = source_get(access=access, source_id=source_id)
    require(access.can_manage_sources)
    try:
        event = source_user_delete(
            source=source, user_id=request.POST.get("userId", ""), actor=access.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Deletion of user {event['userId']} sent to the destinations of {source.name}.",
        )
    return redirect(reverse("catalog", args=[workspace_slug]) + "?tab=sources")


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


@login_required
@require_GET
def usage(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Invocations and execution time per day of the functions the member may see."""
    access = workspace_access(request, workspace_slug)
    rows = function_usage_list(access=access, days=USAGE_DAYS_DEFAULT, today=timezone.now().date())
    context = {"usage": rows, "days": USAGE_DAYS_DEFAULT}
    return render_page(request, "pipeline/usage.html", access, context)


@login_required
@require_GET
def source_debugger(request: HttpRequest, workspace_slug: str, source_id: int) -> HttpResponse:
    """The source's latest events, and new ones live (pipeline/consumers.py)."""
    access = workspace_access(request, workspace_slug)
    source = source_get(access=access, source_id=source_id)
    require(access.can_view_sources)
    socket = f"/ws/w/{access.workspace.slug}/sources/{source.pk}/debugger/"
    context = {"source": source, "socket_path": socket}
    return render_page(request, "pipeline/source_debugger.html", access, context)


@login_required
@require_GET
def instance_logs(request: HttpRequest, workspace_slug: str, instance_id: int) -> HttpResponse:
    """Function Logs: the logs and request traces of the instance's latest invocations,
    live; only for members who may view its function (logs show what the code handles)."""
    access = workspace_access(request, workspace_slug)
    instance = instance_get(access=access, instance_id=instance_id)
    require(access.can_view_function(instance.function_id))
    context = _instance_page(access, instance, "logs") | {
        "socket_path": f"/ws/w/{access.workspace.slug}/instances/{instance.pk}/logs/",
    }
    return render_page(request, "pipeline/instance_logs.html", access, context)


# The chart's drawing area, in SVG user units (it scales to the card's width).
CHART_WIDTH = 720
CHART_HEIGHT = 160
# Failures the page lists; the API pages through all of them.
PAGE_FAILURES = 20


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    state: str
    title: str


def _chart_bars(summary: DeliverySummary) -> list[Bar]:
    """Stacked bars, one per bucket, delivered at the bottom; heights scale to the
    busiest bucket."""
    peak = max((bucket.total for bucket in summary.series), default=0) or 1
    width = CHART_WIDTH / max(1, len(summary.series))
    bars = []
    for index, bucket in enumerate(summary.series):
        top = float(CHART_HEIGHT)
        for state in DELIVERY_STATES:
            count = bucket.counts.get(state, 0)
            if not count:
                continue
            height = CHART_HEIGHT * count / peak
            top -= height
            title = f"{bucket.start:%Y-%m-%d %H:%M} UTC: {count} {state}"
            bars.append(Bar(index * width, top, max(width - 1, 1), height, state, title))
    return bars


@login_required
@require_GET
def instance_delivery(request: HttpRequest, workspace_slug: str, instance_id: int) -> HttpResponse:
    """Event Delivery: counts over time, the error breakdown, recent failures, replay."""
    access = workspace_access(request, workspace_slug)
    instance = instance_get(access=access, instance_id=instance_id)
    try:
        range_name = delivery_range_parse(value=request.GET.get("range"))
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages))
    summary = instance_delivery_summary(
        instance=instance, range_name=range_name, now=timezone.now()
    )
    context = _instance_page(access, instance, "delivery") | {
        "summary": summary,
        "ranges": list(DELIVERY_RANGES),
        "bars": _chart_bars(summary),
        "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT},
        "failures": list(instance_delivery_failures(instance=instance)[:PAGE_FAILURES]),
        "show_logs": access.can_view_function(instance.function_id),
        "can_replay": access.can_deploy_function(instance.function_id),
    }
    return render_page(request, "pipeline/instance_delivery.html", access, context)


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
    context = _instance_page(access, instance, "filters") | {"page_data": page_data}
    return render_page(request, "pipeline/instance_filters.html", access, context)
