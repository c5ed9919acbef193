from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import client_ip_context


class AuditContextMiddleware:
    """Make the client IP available to audit rows written while handling the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # REMOTE_ADDR only: trusting X-Forwarded-For would let clients forge the audit IP.
        with client_ip_context(request.META.get("REMOTE_ADDR")):
            return self.get_response(request)
