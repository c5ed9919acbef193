"""The Tracking API: Segment's HTTP API on this server (``POST /v1/track``, ``/v1/batch``...),
as an ASGI application of its own that ``functions_ide/asgi.py`` sends ``/v1/`` to.

Not a Django view: the busiest path of the platform takes no session, cookie, CSRF token,
template or middleware, and Django's request handling costs several times what storing an
event does (a thread and a database connection per request). Here a request is read and
checked on the event loop (``tracking.tracking_request_read``), and its events wait for
the next group commit (``group_commit``), so that concurrent requests share one
transaction. The answers are Segment's; open to every origin, as Segment's API is:
browsers post from the sites they track, and nothing here reads a cookie.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.http.request import split_domain_port, validate_host
from django.utils import timezone

from pipeline.group_commit import GroupCommit
from pipeline.selectors import ingest_route_for_write_key
from pipeline.services import EventsStored, StoreOutcome, tracking_requests_store
from pipeline.tracking import (
    BATCH,
    MAX_BATCH_BYTES,
    SHORT_PATHS,
    WRITE_KEY_INVALID,
    TrackingRefused,
    TrackingRequest,
    too_large,
    tracking_request_read,
    unauthorized,
    write_key_from,
)

# As Django's own ASGI handler types them (functions_ide/asgi.py hands both the same).
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]

PREFIX = "/v1/"
_PATH = re.compile(r"/v1/(identify|track|page|screen|group|alias|[itpsga]|batch|import)/?")
ALLOWED_METHODS = "POST, OPTIONS"
DEFAULT_ALLOWED_HEADERS = "Content-Type, Content-Encoding, Authorization, X-Retry-Count"
# A preflight's requested header names are echoed when they read as a list of names.
_HEADER_NAMES = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")
_MAX_REQUESTED_HEADERS_CHARS = 1000
PREFLIGHT_MAX_AGE_S = 86400
# A group commit takes at most this many events: a larger group would make its first
# requests wait for the last ones' rows.
MAX_EVENTS_PER_COMMIT = 2000

SUCCESS = {"success": True}
UNAVAILABLE = {
    "success": False,
    "code": "unavailable",
    "message": "The events could not be stored; nothing was accepted. Retry.",
}
NOT_FOUND = {
    "success": False,
    "code": "not_found",
    "message": "No such Tracking API path: use /v1/identify, /v1/track, /v1/page, "
    "/v1/screen, /v1/group, /v1/alias, /v1/batch or /v1/import.",
}
BAD_HOST = {"success": False, "code": "invalid_host", "message": "This server is not that host."}

group_commit: GroupCommit[TrackingRequest, StoreOutcome] = GroupCommit(
    lambda requests: tracking_requests_store(requests=requests),
    size_of=lambda request: len(request.events),
    max_group_size=MAX_EVENTS_PER_COMMIT,
)


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _host_allowed(headers: dict[str, str]) -> bool:
    """Django's ALLOWED_HOSTS rule, as its own requests get it (``HttpRequest.get_host``)."""
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(headers.get("host", ""))
    return bool(domain) and validate_host(domain, allowed)


def _cors(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    origin = headers.get("origin")
    if not origin:
        return [(b"access-control-allow-origin", b"*")]
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


def _preflight(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    requested = headers.get("access-control-request-headers", "").strip()
    fits = len(requested) <= _MAX_REQUESTED_HEADERS_CHARS and _HEADER_NAMES.fullmatch(requested)
    return [
        (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
        (
            b"access-control-allow-headers",
            (requested if fits else DEFAULT_ALLOWED_HEADERS).encode(),
        ),
        (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_S).encode()),
    ]


async def _answer(
    send: Send,
    status: int,
    body: dict[str, Any] | None,
    headers: list[tuple[bytes, bytes]],
) -> None:
    content = b"" if body is None else json.dumps(body).encode()
    head = [
        *headers,
        (b"content-length", str(len(content)).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    if body is not None:
        head.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": content})


async def _read_body(receive: Receive, headers: dict[str, str]) -> bytes:
    """The body, never more than MAX_BATCH_BYTES of it (gzip or not)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BATCH_BYTES:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _write_key_wins(refusal: TrackingRefused) -> TrackingRefused:
    """A request refused for what it carries is told first that its write key is wrong."""
    if refusal.status != 400 or refusal.write_key is None:
        return refusal
    try:
        route = await sync_to_async(ingest_route_for_write_key, thread_sensitive=True)(
            write_key=refusal.write_key
        )
    except DatabaseError:
        return refusal
    return refusal if route is not None else unauthorized(WRITE_KEY_INVALID)


async def _accept(path_kind: str, headers: dict[str, str], receive: Receive) -> StoreOutcome:
    received_at = timezone.now()
    try:
        request = tracking_request_read(
            path_kind=path_kind,
            body=await _read_body(receive, headers),
            content_encoding=headers.get("content-encoding", ""),
            header_write_key=write_key_from(authorization=headers.get("authorization", "")),
            received_at=received_at,
        )
    except TrackingRefused as refusal:
        return await _write_key_wins(refusal)
    try:
        return await group_commit.submit(request)
    except TrackingRefused as refusal:
        return refusal
    except DatabaseError as failure:
        return failure


async def tracking_application(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI application of ``/v1/...`` (HTTP only)."""
    headers = _headers(scope)
    cors = _cors(headers)
    if not _host_allowed(headers):
        await _answer(send, 400, BAD_HOST, cors)
        return
    match = _PATH.fullmatch(scope["path"])
    if match is None:
        await _answer(send, 404, NOT_FOUND, cors)
        return
    method = scope["method"]
    if method == "OPTIONS":
        await _answer(send, 200, None, [*cors, *_preflight(headers)])
        return
    if method != "POST":
        refusal = {"success": False, "code": "method_not_allowed", "message": "Use POST."}
        await _answer(send, 405, refusal, [*cors, (b"allow", ALLOWED_METHODS.encode())])
        return
    kind = match.group(1)
    try:
        outcome = await _accept(BATCH if kind == "import" else SHORT_PATHS.get(kind, kind),
                                headers, receive)  # fmt: skip
    except ConnectionAbortedError:  # the sender went away before its body arrived
        return
    if isinstance(outcome, EventsStored):
        await _answer(send, 200, SUCCESS, cors)
    elif isinstance(outcome, TrackingRefused):
        await _answer(send, outcome.status, outcome.body(), cors)
    else:
        await _answer(send, 503, UNAVAILABLE, [*cors, (b"retry-after", b"1")])
