"""The demo's echo endpoint, ``POST /demo/echo/``: answers the JSON object it received, so
that the demo destination of `make run` delivers somewhere without leaving the machine.

Anyone may call it (functions do, without a session), so it does nothing but echo: no
state, no cookies read (CSRF-exempt), no request header reflected, a body of at most
MAX_ECHO_BYTES, JSON only, answered as ``application/json`` (with the site's ``nosniff``) so
that a browser never reads the echo as a page.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

MAX_ECHO_BYTES = 64 * 1024


def _refused(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def demo_echo(request: HttpRequest) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_ECHO_BYTES:
        return _refused(413, f"The echo takes at most {MAX_ECHO_BYTES // 1024} KB.")
    # Read no more than the cap, whatever Content-Length claimed.
    body = request.read(MAX_ECHO_BYTES + 1)
    if len(body) > MAX_ECHO_BYTES:
        return _refused(413, f"The echo takes at most {MAX_ECHO_BYTES // 1024} KB.")
    try:
        received = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return _refused(400, "The body must be JSON.")
    response = JsonResponse({"echo": received})
    response["Cache-Control"] = "no-store"
    return response
