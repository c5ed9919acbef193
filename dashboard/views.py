"""The workspace dashboard: what the member can see, in numbers, and recent activity."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from audit.selectors import audit_event_list
from catalog.selectors import function_list, instance_failing_list, instance_list, source_list
from workspaces.pages import render_page, workspace_access

RECENT_ACTIVITY = 10
FAILING_SHOWN = 20


@login_required
@require_GET
def dashboard(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    recent = (
        audit_event_list(workspace=access.workspace)[:RECENT_ACTIVITY]
        if access.can_view_audit
        else None
    )
    context = {
        "function_count": function_list(access=access).count(),
        "source_count": source_list(access=access).count(),
        "instance_count": instance_list(access=access).count(),
        "recent_events": recent,
        "failing_instances": instance_failing_list(access=access)[:FAILING_SHOWN],
    }
    return render_page(request, "dashboard/dashboard.html", access, context)
