"""The Tracking API's rules, as Segment's: what a request may carry, and how an accepted
event is filled in. Pure functions, no database: ``tracking_request_read`` puts them
together, and ``services.tracking_requests_store`` stores what it read.

Every refusal is a ``TrackingRefused`` with the HTTP status and a message naming the
problem, and, in a batch, the element (``batch[3]: track needs "event"``).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError

from catalog.settings_schema import JSON_TOO_DEEP, contains_bad_text, json_depth_check
from pipeline.models import MAX_MESSAGE_ID_CHARS, EventType

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
# A refusal lists at most this many problems (its message names the first).
MAX_PROBLEMS_LISTED = 20
# An ISO 8601 date and time is about 30 characters; anything much longer is not one.
MAX_DATE_CHARS = 64
# How much of a sender's value a message quotes back.
MAX_QUOTED_CHARS = 40
# The largest JSON number taken: beyond a double's range JavaScript reads Infinity.
MAX_NUMBER_DIGITS = 308

# What senders may send: a delete comes from a user deletion (``user_deletion_event``).
EVENT_TYPES: tuple[str, ...] = tuple(t for t in EventType.values if t != EventType.DELETE)
# analytics.js posts single calls to one-letter paths.
SHORT_PATHS = {
    "i": "identify",
    "t": "track",
    "p": "page",
    "s": "screen",
    "g": "group",
    "a": "alias",
}
BATCH = "batch"
# Segment's own value for events whose sender names no library.
UNKNOWN_LIBRARY = {"name": "unknown", "version": "unknown"}
WRITE_KEY_MISSING = (
    "Send the source's write key: as the user name of HTTP Basic auth, or as "
    '"writeKey" in the body.'
)
WRITE_KEY_INVALID = "The write key is not valid."
OBJECT_FIELDS = ("properties", "traits", "integrations")
DATE_FIELDS = ("timestamp", "originalTimestamp", "sentAt")


class TrackingRefused(Exception):
    """A request the Tracking API does not accept: nothing of it was stored."""

    def __init__(self, status: int, code: str, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = list(problems[:MAX_PROBLEMS_LISTED])
        # The write key of a request refused for what it carries: when that key is not
        # valid, the answer is a 401 instead (a sender must learn of its key first).
        self.write_key: str | None = None

    def body(self) -> dict[str, Any]:
        """Segment's error shape ({code, message}), which its libraries read."""
        body: dict[str, Any] = {"success": False, "code": self.code, "message": self.message}
        if len(self.problems) > 1:
            body["errors"] = self.problems
        return body


def bad_request(message: str, problems: Sequence[str] = ()) -> TrackingRefused:
    return TrackingRefused(400, "invalid_request", message, problems)


def unauthorized(message: str) -> TrackingRefused:
    return TrackingRefused(401, "invalid_write_key", message)


class _Problem(Exception):
    """One event's problem; the caller prefixes where it is."""


def _quoted(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)[:MAX_QUOTED_CHARS]
    if len(text) > MAX_QUOTED_CHARS:
        text = text[:MAX_QUOTED_CHARS] + "…"
    return json.dumps(text, ensure_ascii=False)


# --- the body ---------------------------------------------------------------------------


def too_large() -> TrackingRefused:
    return bad_request(f"The request is larger than {MAX_BATCH_BYTES // 1024} KB.")


def _gunzip(raw: bytes) -> bytes:
    """Decompress, never past MAX_BATCH_BYTES (a small gzip bomb expands to gigabytes).
    Several gzip members one after the other are one body, as gzip(1) reads them."""
    out = bytearray()
    data = raw
    while data:
        member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            # Always a limit of at least 1: 0 would mean none.
            out += member.decompress(data, MAX_BATCH_BYTES + 1 - len(out))
        except zlib.error as exc:
            raise bad_request("The body is not valid gzip.") from exc
        if len(out) > MAX_BATCH_BYTES:
            raise too_large()
        if not member.eof:
            raise bad_request("The gzip body is cut short.")
        data = member.unused_data
    return bytes(out)


def body_decode(raw: bytes, *, content_encoding: str) -> bytes:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        data = raw
    elif encoding in ("gzip", "x-gzip"):
        data = _gunzip(raw)
    else:
        raise bad_request(
            f"Content-Encoding {_quoted(content_encoding)} is not supported: send gzip or none."
        )
    if len(data) > MAX_BATCH_BYTES:
        raise too_large()
    return data


class _NotStrictJSON(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _NotStrictJSON(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotStrictJSON(f"the number {text[:MAX_QUOTED_CHARS]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _NotStrictJSON(f"a number with {len(text)} digits is out of range")
    return int(text)


def json_strict_loads(data: bytes) -> Any:
    """Strict JSON (RFC 8259): no NaN or Infinity, no number beyond a double's range, no
    text PostgreSQL or UTF-8 cannot store, nothing nested deeper than MAX_JSON_DEPTH."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise bad_request("The body is not UTF-8 text.") from exc
    if not text.strip():
        raise bad_request("The body is empty: send a JSON object.")
    try:
        value = json.loads(
            text,
            parse_constant=_no_constants,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except RecursionError as exc:
        raise bad_request(JSON_TOO_DEEP) from exc
    except ValueError as exc:
        raise bad_request(f"The body is not valid JSON: {exc}.") from exc
    return value


def write_key_from(*, authorization: str) -> str | None:
    """The write key of HTTP Basic auth (the user name; the password is empty), or None
    without Basic auth. Raises for a Basic header that cannot be read."""
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise unauthorized("The Authorization header is not valid Basic auth.") from exc
    return decoded.partition(":")[0]


# --- events -----------------------------------------------------------------------------


def _parse_date(event: dict[str, Any], name: str) -> datetime | None:
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_DATE_CHARS:
        raise _Problem(f'"{name}" must be an ISO 8601 date and time')
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _Problem(f'"{name}" is not an ISO 8601 date and time: {_quoted(value)}') from exc
    # No offset: UTC, as Segment reads it.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# The same moments come again and again (a request's arrival, a batch's sentAt).
@lru_cache(maxsize=1024)
def iso(moment: datetime) -> str:
    """Segment's spelling of a time: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _identifier(event: dict[str, Any], name: str) -> str | None:
    """A userId-like field: text, or a whole number (libraries send numeric ids), as text;
    missing, null or empty is None."""
    value = event.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _Problem(f'"{name}" must be a string')
    return value


def _check_fields(kind: str, event: dict[str, Any]) -> None:
    user_id = _identifier(event, "userId")
    anonymous_id = _identifier(event, "anonymousId")
    if kind == EventType.ALIAS:
        if _identifier(event, "previousId") is None or user_id is None:
            raise _Problem('alias needs "previousId" and "userId"')
    elif user_id is None and anonymous_id is None:
        raise _Problem(f'{kind} needs "userId" or "anonymousId"')
    if kind == EventType.GROUP and _identifier(event, "groupId") is None:
        raise _Problem('group needs "groupId"')
    if kind == EventType.TRACK:
        name = event.get("event")
        if name is not None and not isinstance(name, str):
            raise _Problem('track needs "event" as a string')
        if not name or not name.strip():
            raise _Problem('track needs "event"')
    if kind in (EventType.PAGE, EventType.SCREEN) and not isinstance(
        event.get("name", ""), str | None
    ):
        raise _Problem('"name" must be a string')
    for name in (*OBJECT_FIELDS, "context"):
        if not isinstance(event.get(name, {}), dict | None):
            raise _Problem(f'"{name}" must be an object')


def _message_id(event: dict[str, Any]) -> str:
    given = _identifier(event, "messageId")
    if given is None:
        return f"api-{uuid.uuid4()}"
    if len(given) > MAX_MESSAGE_ID_CHARS:
        raise _Problem(f'"messageId" is longer than {MAX_MESSAGE_ID_CHARS} characters')
    return given


@dataclass(frozen=True)
class BodyFacts:
    """What a request's JSON text rules out for every event in it, so that the checks it
    makes needless are skipped (the busiest path of the platform runs them per event).
    By default nothing is ruled out."""

    # NUL and lone surrogates can only come from \u escapes: valid UTF-8 cannot carry a
    # surrogate, and JSON refuses a raw control character.
    bad_text_possible: bool = True
    # No event of a body within MAX_EVENT_BYTES can be larger than that.
    large_event_possible: bool = True

    @classmethod
    def of(cls, text: bytes) -> BodyFacts:
        return cls(b"\\u" in text, len(text) > MAX_EVENT_BYTES)


@dataclass(frozen=True)
class Arrival:
    """What a request says about all of its events: when it arrived, the batch's sentAt,
    and the batch-level context and integrations each event inherits; and what its text
    rules out."""

    received_at: datetime
    sent_at: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)
    integrations: dict[str, Any] = field(default_factory=dict)
    facts: BodyFacts = BodyFacts()


def _times(event: dict[str, Any], arrival: Arrival) -> dict[str, str]:
    """Segment's times: ``originalTimestamp`` is the sender's clock when the call was made,
    ``timestamp`` that moment on the server's clock: receivedAt - (sentAt - originalTimestamp)
    when the sender says when it sent, correcting a device clock that is off."""
    received = arrival.received_at
    client_time = _parse_date(event, "originalTimestamp") or _parse_date(event, "timestamp")
    sent = _parse_date(event, "sentAt") or arrival.sent_at
    try:
        if client_time is None:
            original, timestamp = sent or received, received
        elif sent is None:
            original, timestamp = client_time, client_time
        else:
            original, timestamp = client_time, received - (sent - client_time)
        times = {"originalTimestamp": iso(original), "timestamp": iso(timestamp)}
        if sent is not None:
            times["sentAt"] = iso(sent)
    except OverflowError as exc:
        # Years 1 and 9999 with an offset, or a correction past them.
        raise _Problem("a time is out of range (or sentAt and timestamp too far apart)") from exc
    times["receivedAt"] = iso(received)
    return times


def event_size(event: Any) -> int:
    return len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())


def event_fill(raw: Any, *, kind: str | None, arrival: Arrival, depth: int) -> dict[str, Any]:
    """Check one event (found ``depth`` levels down in its document) and fill it in as
    Segment does; ``kind`` is the type its path says (None in a batch, where each event
    names its own). Raises ``_Problem``."""
    if not isinstance(raw, dict):
        raise _Problem("an event must be a JSON object")
    try:
        json_depth_check(raw, field="event", depth=depth)
    except ValidationError as exc:
        raise _Problem(JSON_TOO_DEEP) from exc
    # Both walk the event iteratively; the size check after them encodes it recursively.
    if arrival.facts.bad_text_possible and contains_bad_text(raw):
        raise _Problem("text cannot contain NUL characters or lone surrogates")
    if arrival.facts.large_event_possible and event_size(raw) > MAX_EVENT_BYTES:
        raise _Problem(f"the event is larger than {MAX_EVENT_BYTES // 1024} KB")
    if kind is None:
        kind = raw.get("type")
        if kind is None:
            raise _Problem('needs "type"')
        if kind not in EVENT_TYPES:
            raise _Problem(f"unknown type {_quoted(kind)} (one of {', '.join(EVENT_TYPES)})")
    _check_fields(kind, raw)
    event = {key: value for key, value in raw.items() if key != "writeKey"}
    for name in ("userId", "anonymousId", "previousId", "groupId"):
        if name in event:
            event[name] = _identifier(event, name)
    context = {**arrival.context, **(event.get("context") or {})}
    if not isinstance(context.get("library"), dict):
        context["library"] = dict(UNKNOWN_LIBRARY)
    integrations = event.get("integrations")
    if arrival.integrations or integrations is not None:
        event["integrations"] = {**arrival.integrations, **(integrations or {})}
    event.update(type=kind, messageId=_message_id(event), context=context, **_times(event, arrival))
    return event


def user_deletion_event(*, user_id: Any, received_at: datetime) -> dict[str, Any]:
    """The ``delete`` event of a user deletion, filled in as the Tracking API fills a
    sender's event. Raises ``ValidationError`` naming ``userId`` when it is not one."""
    if isinstance(user_id, str):
        user_id = user_id.strip()
    if isinstance(user_id, bool) or not isinstance(user_id, str | int) or user_id == "":
        raise ValidationError({"userId": 'Send the "userId" of the user to delete, as text.'})
    if len(str(user_id)) > MAX_MESSAGE_ID_CHARS:
        raise ValidationError(
            {"userId": f"The userId is longer than {MAX_MESSAGE_ID_CHARS} characters."}
        )
    try:
        return event_fill(
            {"userId": user_id}, kind=EventType.DELETE, arrival=Arrival(received_at), depth=0
        )
    except _Problem as exc:
        raise ValidationError({"userId": f"The userId cannot be used: {exc}."}) from exc


def _batch_arrival(body: dict[str, Any], received_at: datetime, facts: BodyFacts) -> Arrival:
    """What a batch says for all its events; its ``sentAt``, ``context`` and
    ``integrations`` are checked once, here."""
    for key, value in body.items():
        if key != BATCH:
            try:
                json_depth_check(value, field=key, depth=1)
            except ValidationError as exc:
                raise bad_request(f"{key}: {JSON_TOO_DEEP}") from exc
    shared: dict[str, dict[str, Any]] = {}
    for name in ("context", "integrations"):
        value = body.get(name)
        if not isinstance(value, dict | None):
            raise bad_request(f'"{name}" must be an object.')
        if contains_bad_text(value):
            raise bad_request(f'"{name}": text cannot contain NUL characters or lone surrogates.')
        shared[name] = value or {}
    try:
        sent_at = _parse_date(body, "sentAt")
    except _Problem as exc:
        raise bad_request(f"{exc}.") from exc
    return Arrival(received_at, sent_at, shared["context"], shared["integrations"], facts)


def events_from_body(
    *, path_kind: str, body: Any, received_at: datetime, facts: BodyFacts = BodyFacts()
) -> list[dict[str, Any]]:
    """The filled-in events of a request to ``/v1/<path_kind>`` (``batch`` for batch and
    import): all of them, or a ``TrackingRefused`` naming every problem found. ``facts``:
    what the request's text rules out."""
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.")
    if path_kind != BATCH:
        try:
            arrival = Arrival(received_at, facts=facts)
            return [event_fill(body, kind=path_kind, arrival=arrival, depth=0)]
        except _Problem as exc:
            raise bad_request(str(exc)) from exc
    batch = body.get(BATCH)
    if not isinstance(batch, list):
        raise bad_request('A batch needs "batch", a list of events.')
    arrival = _batch_arrival(body, received_at, facts)
    events, problems = [], []
    for index, raw in enumerate(batch):
        try:
            events.append(event_fill(raw, kind=None, arrival=arrival, depth=2))
        except _Problem as exc:
            problems.append(f"batch[{index}]: {exc}")
    if problems:
        raise bad_request(problems[0], problems)
    return events


@dataclass(frozen=True)
class TrackingRequest:
    """A Tracking API request, read and checked: its filled-in events, and the write key of
    the source they must go to (not yet looked up)."""

    write_key: str
    events: list[dict[str, Any]]
    received_at: datetime


def tracking_request_read(
    *,
    path_kind: str,
    body: bytes,
    content_encoding: str,
    header_write_key: str | None,
    received_at: datetime,
) -> TrackingRequest:
    """Read a request to ``/v1/<path_kind>`` (an event type, or ``batch``) whole, or refuse
    it whole with a ``TrackingRefused``. ``header_write_key`` is the key of its Basic auth
    (``write_key_from``); without one, the body must carry ``writeKey``."""
    write_key = header_write_key
    try:
        text = body_decode(body, content_encoding=content_encoding)
        document = json_strict_loads(text)
        if write_key is None:
            body_key = document.get("writeKey") if isinstance(document, dict) else None
            if not isinstance(body_key, str) or not body_key:
                raise unauthorized(WRITE_KEY_MISSING)
            write_key = body_key
        events = events_from_body(
            path_kind=path_kind, body=document, received_at=received_at, facts=BodyFacts.of(text)
        )
    except TrackingRefused as refusal:
        refusal.write_key = write_key
        raise
    return TrackingRequest(write_key=write_key, events=events, received_at=received_at)
