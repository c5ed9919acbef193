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
