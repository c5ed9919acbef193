"""The Audit Trail page and its CSV export, for owners and auditors."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from audit.forms import AuditFilterForm
from audit.selectors import (
    audit_action_names,
    audit_event_list,
    audit_events_csv_rows,
)
from workspaces.pages import render_page, require, workspace_access
from workspaces.permissions import WorkspaceAccess

PAGE_SIZE = 50


def _filtered(request: HttpRequest, access: WorkspaceAccess) -> tuple[AuditFilterForm, Any]:
    workspace = access.workspace
    form = AuditFilterForm(request.GET, actions=audit_action_names(workspace=workspace))
    form.is_valid()
    return form, audit_event_list(workspace=workspace, filters=form.filters())


@login_required
@require_GET
def audit_trail(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_view_audit)
    form, events = _filtered(request, access)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [
            (event, json.dumps(event.changes, sort_keys=True, ensure_ascii=False)) for event in page
        ],
        "query": query.urlencode(),
    }
    return render_page(request, "audit/audit.html", access, context)


@login_required
@require_GET
def audit_export(request: HttpRequest, workspace_slug: str) -> StreamingHttpResponse:
    access = workspace_access(request, workspace_slug)
    require(access.can_view_audit)
    _form, events = _filtered(request, access)
    response = StreamingHttpResponse(audit_events_csv_rows(events=events), content_type="text/csv")
    filename = f"audit-{access.workspace.slug}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
