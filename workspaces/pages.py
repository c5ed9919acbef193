"""What every workspace page view shares: access resolution, role checks, service errors on
forms, and rendering with the layout's context."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from workspaces import selectors
from workspaces.permissions import WorkspaceAccess


class SignedInRequest(HttpRequest):
    """The request of a view behind ``@login_required``: its user is signed in."""

    user: User


def workspace_access(request: HttpRequest, slug: str) -> WorkspaceAccess:
    """The signed-in member's access; anyone else gets a 404 (never a hint it exists)."""
    return selectors.workspace_access_for_slug(user=request.user, slug=slug)


def require(allowed: bool, message: str = "Your role does not allow this.") -> None:
    if not allowed:
        raise PermissionDenied(message)


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, on the field it names when it can."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def render_page(
    request: HttpRequest,
    template: str,
    access: WorkspaceAccess,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render a workspace page with what the layout needs (nav links, workspace switcher)."""
    base = {
        "access": access,
        "workspace": access.workspace,
        "user_workspaces": selectors.workspace_list_for_user(user=request.user),
    }
    return render(request, template, base | (context or {}), status=status)
