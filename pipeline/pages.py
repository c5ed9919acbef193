"""Pages of a destination instance: what it is, how its events are filtered, delivered and
logged. Each tab is a page of its own, under ``/w/<slug>/instances/<id>/``. And a source's
pipeline actions, under ``/w/<slug>/sources/<id>/``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from catalog.selectors import instance_get, instance_settings_masked, source_get
from pipeline.services import source_user_delete
from workspaces.pages import SignedInRequest, render_page, require, workspace_access


@login_required
@require_GET
def instance_overview(request: HttpRequest, workspace_slug: str, instance_id: int) -> HttpResponse:
    """The instance's source, function, deployed version and settings (secrets masked)."""
    access = workspace_access(request, workspace_slug)
    instance = instance_get(access=access, instance_id=instance_id)
    context = {
        "instance": instance,
        "instance_tab": "overview",
        "function_viewable": access.can_view_function(instance.function_id),
        "settings_masked": instance_settings_masked(instance=instance),
    }
    return render_page(request, "pipeline/instance_overview.html", access, context)


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
    context = {
        "instance": instance,
        "instance_tab": "logs",
        "function_viewable": True,
        "socket_path": f"/ws/w/{access.workspace.slug}/instances/{instance.pk}/logs/",
    }
    return render_page(request, "pipeline/instance_logs.html", access, context)
