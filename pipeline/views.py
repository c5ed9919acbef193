"""The Tracking API: Segment's HTTP API on this server (``POST /v1/track``, ``/v1/batch``...).

Plain views, not DRF: the body is Segment's, not the Config API's, and so are the answers.
Open to every origin, as Segment's is: browsers post from the sites they track, and
nothing here reads a cookie or a session.
"""

from __future__ import annotations

import logging
import re

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from pipeline.services import tracking_request_accept
from pipeline.tracking import (
    BATCH,
    MAX_BATCH_BYTES,
    SHORT_PATHS,
    TrackingRefused,
    too_large,
)

logger = logging.getLogger(__name__)

ALLOWED_METHODS = "POST, OPTIONS"
DEFAULT_ALLOWED_HEADERS = "Content-Type, Content-Encoding, Authorization, X-Retry-Count"
# A preflight's requested header names are echoed when they read as a list of names.
_HEADER_NAMES = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")
_MAX_REQUESTED_HEADERS_CHARS = 1000
PREFLIGHT_MAX_AGE_S = 86400
SUCCESS = {"success": True}


def _open_to_every_origin(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        patch_vary_headers(response, ["Origin"])
    else:
        response["Access-Control-Allow-Origin"] = "*"
    return response


def _preflight(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=200)
    requested = request.headers.get("Access-Control-Request-Headers", "").strip()
    fits = len(requested) <= _MAX_REQUESTED_HEADERS_CHARS and _HEADER_NAMES.fullmatch(requested)
    response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response["Access-Control-Allow-Headers"] = requested if fits else DEFAULT_ALLOWED_HEADERS
    response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
    return response


def _read_body(request: HttpRequest) -> bytes:
    """The body, never more than MAX_BATCH_BYTES of it (gzip or not)."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise too_large()
    data = request.read(MAX_BATCH_BYTES + 1)
    if len(data) > MAX_BATCH_BYTES:
        raise too_large()
    return data


def _accept(request: HttpRequest, path_kind: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight(request)
    if request.method != "POST":
        response = JsonResponse(
            {"success": False, "code": "method_not_allowed", "message": "Use POST."}, status=405
        )
        response["Allow"] = ALLOWED_METHODS
        return response
    received_at = timezone.now()
    try:
        tracking_request_accept(
            path_kind=path_kind,
            body=_read_body(request),
            content_encoding=request.headers.get("Content-Encoding", ""),
            authorization=request.headers.get("Authorization", ""),
            received_at=received_at,
        )
    except TrackingRefused as refusal:
        return JsonResponse(refusal.body(), status=refusal.status)
    except DatabaseError:
        # Nothing was committed: the sender keeps the events and retries (every Segment
        # library retries a 503).
        logger.exception("Tracking API: could not store events")
        response = JsonResponse(
            {
                "success": False,
                "code": "unavailable",
                "message": "The events could not be stored; nothing was accepted. Retry.",
            },
            status=503,
        )
        response["Retry-After"] = "1"
        return response
    return JsonResponse(SUCCESS)


@csrf_exempt
def tracking_event(request: HttpRequest, kind: str) -> HttpResponse:
    """``/v1/<type>`` and analytics.js's one-letter paths: one event."""
    return _open_to_every_origin(request, _accept(request, SHORT_PATHS.get(kind, kind)))


@csrf_exempt
def tracking_batch(request: HttpRequest) -> HttpResponse:
    """``/v1/batch`` and ``/v1/import``: ``{"batch": [...]}``, accepted whole or not at all."""
    return _open_to_every_origin(request, _accept(request, BATCH))
