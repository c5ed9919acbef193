from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit.context import client_ip_context


class AuditContextMiddleware:
    """Make the client IP available to audit rows written while handling the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with client_ip_context(client_ip(request)):
            return self.get_response(request)


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind our own reverse proxy the address it saw. Only the last
    X-Forwarded-For entry is the proxy's own: earlier ones are whatever the client sent."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(forwarded))
    return request.META.get("REMOTE_ADDR")
