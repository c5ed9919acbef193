"""The Tracking API over HTTP: Segment's endpoints, answers, limits and fill-ins."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from catalog.services import instance_create, instance_update, source_create
from pipeline.models import DeliveryJob, Event, JobState
from pipeline.tracking import MAX_BATCH_BYTES, MAX_EVENT_BYTES
from tests.asgi_client import AsgiClient
from tests.conftest import SECRET_API_KEY, World
from tests.pipeline.conftest import Post, track

SINGLE_CALLS: dict[str, dict[str, Any]] = {
    "identify": {"userId": "u-1", "traits": {"email": "ada@example.com"}},
    "track": {"userId": "u-1", "event": "Signed Up", "properties": {"plan": "pro"}},
    "page": {"anonymousId": "a-1", "name": "Home"},
    "screen": {"userId": "u-1", "name": "Settings"},
    "group": {"userId": "u-1", "groupId": "g-1", "traits": {"name": "Initech"}},
    "alias": {"previousId": "a-1", "userId": "u-1"},
}
SHORT = {"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias"}


def _stored() -> list[dict[str, Any]]:
    return [event.payload for event in Event.objects.order_by("id")]


def _refused(response: Any, status: int, message: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["success"] is False
    assert body["message"] == message, body
    assert Event.objects.count() == 0 and DeliveryJob.objects.count() == 0
    return body


def _parsed(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- 200s --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SINGLE_CALLS)
def test_each_call_is_stored_and_answered_like_segment(world: World, post: Post, kind: str) -> None:
    response = post(f"/v1/{kind}", SINGLE_CALLS[kind])
    assert response.status_code == 200
    assert response.json() == {"success": True}
    (event,) = Event.objects.all()
    assert event.source == world.source and event.type == kind
    assert event.payload["type"] == kind
    assert event.message_id == event.payload["messageId"]
    assert (
        event.received_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        == (event.payload["receivedAt"])
    )
    for name, value in SINGLE_CALLS[kind].items():
        assert event.payload[name] == value
    (job,) = DeliveryJob.objects.all()
    assert job.event == event and job.instance == world.instance
    assert job.state == JobState.PENDING and job.attempts == 0


@pytest.mark.parametrize(("short", "kind"), SHORT.items())
def test_analytics_js_short_paths_with_the_key_in_a_text_plain_body(
    world: World, post: Post, short: str, kind: str
) -> None:
    body = {**SINGLE_CALLS[kind], "type": kind, "writeKey": world.source.write_key}
    response = post(f"/v1/{short}", body, key=None, content_type="text/plain;charset=UTF-8")
    assert response.status_code == 200, response.content
    (stored,) = _stored()
    assert stored["type"] == kind
    assert "writeKey" not in stored


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/import", "/v1/batch/"])
def test_a_batch_is_stored_event_by_event(world: World, post: Post, path: str) -> None:
    batch = [{"type": kind, **fields} for kind, fields in SINGLE_CALLS.items()]
    response = post(path, {"batch": batch})
    assert response.status_code == 200 and response.json() == {"success": True}
    assert [e["type"] for e in _stored()] == list(SINGLE_CALLS)
    assert DeliveryJob.objects.count() == len(SINGLE_CALLS)


def test_an_empty_batch_is_accepted_and_stores_nothing(post: Post) -> None:
    assert post("/v1/batch", {"batch": []}).status_code == 200
    assert Event.objects.count() == 0


def test_fill_ins_message_id_times_and_library(post: Post) -> None:
    post("/v1/track", {"userId": 42, "event": "Viewed"})
    (stored,) = _stored()
    assert stored["messageId"].startswith("api-") and len(stored["messageId"]) == 40
    assert stored["userId"] == "42"  # numeric ids as text, as Segment's libraries send them
    assert stored["context"]["library"] == {"name": "unknown", "version": "unknown"}
    # No time from the sender: the event happened when it arrived.
    assert stored["timestamp"] == stored["originalTimestamp"] == stored["receivedAt"]
    assert stored["receivedAt"].endswith("Z")


def test_a_library_the_sender_names_is_kept(post: Post) -> None:
    library = {"name": "analytics.js", "version": "next-1.70.0"}
    post("/v1/t", track(context={"library": library, "locale": "en-GB"}))
    (stored,) = _stored()
    assert stored["context"] == {"library": library, "locale": "en-GB"}


def test_timestamp_is_corrected_for_the_senders_clock(post: Post) -> None:
    # The device's clock is an hour fast: it says it sent 2 s after the call.
    post(
        "/v1/track",
        track(timestamp="2030-01-01T10:00:00.000Z", sentAt="2030-01-01T10:00:02.000Z"),
    )
    (stored,) = _stored()
    received = _parsed(stored["receivedAt"])
    assert stored["originalTimestamp"] == "2030-01-01T10:00:00.000Z"
    assert stored["sentAt"] == "2030-01-01T10:00:02.000Z"
    assert _parsed(stored["timestamp"]) == received - timedelta(seconds=2)


def test_a_batchs_sent_at_corrects_each_event(post: Post) -> None:
    batch = [
        track(timestamp="2020-05-01T00:00:00Z"),
        track(timestamp="2020-05-01T00:00:09+02:00", sentAt="2020-05-01T00:00:10+02:00"),
    ]
    post("/v1/batch", {"batch": batch, "sentAt": "2020-05-01T00:00:05Z"})
    first, second = _stored()
    received = _parsed(first["receivedAt"])
    assert _parsed(first["timestamp"]) == received - timedelta(seconds=5)
    assert first["sentAt"] == "2020-05-01T00:00:05.000Z"
    # An event's own sentAt wins over the batch's.
    assert _parsed(second["timestamp"]) == received - timedelta(seconds=1)
    assert second["originalTimestamp"] == "2020-04-30T22:00:09.000Z"


def test_without_sent_at_the_senders_timestamp_is_kept(post: Post) -> None:
    post("/v1/import", {"batch": [track(timestamp="2019-03-04T05:06:07.089Z")]})
    (stored,) = _stored()
    assert stored["timestamp"] == stored["originalTimestamp"] == "2019-03-04T05:06:07.089Z"


def test_batch_context_and_integrations_apply_to_each_event(post: Post) -> None:
    batch = [track(), track(context={"ip": "203.0.113.9"}, integrations={"All": False})]
    body = {
        "batch": batch,
        "context": {"library": {"name": "analytics-go", "version": "3"}, "ip": "0.0.0.0"},
        "integrations": {"All": True, "Slack": False},
    }
    post("/v1/batch", body)
    first, second = _stored()
    assert (
        first["context"]["library"]["name"]
        == second["context"]["library"]["name"]
        == ("analytics-go")
    )
    assert first["context"]["ip"] == "0.0.0.0" and second["context"]["ip"] == "203.0.113.9"
    assert second["integrations"] == {"All": False, "Slack": False}


def test_gzip_bodies(world: World, post: Post) -> None:
    body = gzip.compress(json.dumps({"batch": [track(), track()]}).encode())
    assert post("/v1/batch", body, HTTP_CONTENT_ENCODING="gzip").status_code == 200
    # Several gzip members are one body, as gzip(1) reads them.
    raw = json.dumps(track()).encode()
    halves = gzip.compress(raw[:10]) + gzip.compress(raw[10:])
    assert post("/v1/track", halves, HTTP_CONTENT_ENCODING="gzip").status_code == 200
    assert Event.objects.count() == 3


# --- 401s --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/track", "/v1/t", "/v1/batch"])
def test_a_missing_key_is_a_401(post: Post, path: str) -> None:
    body = {"batch": [track()]} if path == "/v1/batch" else track()
    _refused(
        post(path, body, key=None),
        401,
        'Send the source\'s write key: as the user name of HTTP Basic auth, or as "writeKey" '
        "in the body.",
    )


@pytest.mark.parametrize("path", ["/v1/identify", "/v1/i", "/v1/import"])
def test_a_wrong_key_is_a_401(world: World, post: Post, path: str) -> None:
    body = {"batch": [track()]} if path == "/v1/import" else SINGLE_CALLS["identify"]
    _refused(post(path, body, key="not-a-key"), 401, "The write key is not valid.")
    in_body = {**body, "writeKey": "not-a-key"}
    _refused(post(path, in_body, key=None), 401, "The write key is not valid.")


def test_another_workspaces_key_stores_into_that_source_only(world: World, post: Post) -> None:
    assert post("/v1/track", track(), key=world.foreign_source.write_key).status_code == 200
    (event,) = Event.objects.all()
    assert event.source == world.foreign_source
    assert DeliveryJob.objects.get().instance == world.foreign_instance


def test_unreadable_basic_auth_is_a_401(post: Post) -> None:
    response = post("/v1/track", track(), key=None, HTTP_AUTHORIZATION="Basic %%%")
    _refused(response, 401, "The Authorization header is not valid Basic auth.")


def test_basic_auth_is_checked_before_the_body(post: Post) -> None:
    _refused(post("/v1/track", b"{nope", key="wrong"), 401, "The write key is not valid.")


# --- 400s --------------------------------------------------------------------------------

BAD_BODIES: list[tuple[str, bytes | dict[str, Any], str]] = [
    ("/v1/track", b"{nope", "The body is not valid JSON: Expecting property name enclosed in "
     "double quotes: line 1 column 2 (char 1)."),
    ("/v1/track", b"", "The body is empty: send a JSON object."),
    ("/v1/track", b"\xff\xfe{}", "The body is not UTF-8 text."),
    ("/v1/track", b'{"userId": "u", "event": "e", "properties": {"x": NaN}}',
     "The body is not valid JSON: NaN is not a JSON number."),
    ("/v1/track", b'{"userId": "u", "event": "e", "properties": {"x": -Infinity}}',
     "The body is not valid JSON: -Infinity is not a JSON number."),
    ("/v1/track", b'{"userId": "u", "event": "e", "properties": {"x": 1e400}}',
     "The body is not valid JSON: the number 1e400 is out of range."),
    ("/v1/track", b'{"userId": "u", "event": "e", "properties": {"x": ' + b"9" * 400 + b"}}",
     "The body is not valid JSON: a number with 400 digits is out of range."),
    ("/v1/track", b"[" * 100_000 + b"]" * 100_000, "JSON is nested deeper than 64 levels."),
    ("/v1/track", track(properties={"a": json.loads("[" * 70 + "]" * 70)}),
     "JSON is nested deeper than 64 levels."),
    ("/v1/batch", {"batch": [track(properties=json.loads("[" * 62 + "]" * 62))]},
     "batch[0]: JSON is nested deeper than 64 levels."),
    ("/v1/batch", {"batch": [], "context": json.loads('{"a":' * 70 + "1" + "}" * 70)},
     "context: JSON is nested deeper than 64 levels."),
    ("/v1/track", b"[]", "The body must be a JSON object."),
    ("/v1/track", b'"track"', "The body must be a JSON object."),
    ("/v1/track", {"event": "Signed Up"}, 'track needs "userId" or "anonymousId"'),
    ("/v1/track", {"event": "Signed Up", "userId": ""}, 'track needs "userId" or "anonymousId"'),
    ("/v1/identify", {"traits": {}}, 'identify needs "userId" or "anonymousId"'),
    ("/v1/track", {"userId": "u-1"}, 'track needs "event"'),
    ("/v1/track", {"userId": "u-1", "event": "  "}, 'track needs "event"'),
    ("/v1/track", {"userId": "u-1", "event": 7}, 'track needs "event" as a string'),
    ("/v1/alias", {"userId": "u-1"}, 'alias needs "previousId" and "userId"'),
    ("/v1/alias", {"previousId": "a-1", "anonymousId": "a-1"},
     'alias needs "previousId" and "userId"'),
    ("/v1/group", {"userId": "u-1"}, 'group needs "groupId"'),
    ("/v1/track", track(userId={"id": 1}), '"userId" must be a string'),
    ("/v1/track", track(anonymousId=True), '"anonymousId" must be a string'),
    ("/v1/track", track(properties=["plan"]), '"properties" must be an object'),
    ("/v1/identify", {"userId": "u", "traits": "vip"}, '"traits" must be an object'),
    ("/v1/track", track(context=5), '"context" must be an object'),
    ("/v1/page", {"userId": "u", "name": ["Home"]}, '"name" must be a string'),
    ("/v1/track", track(timestamp="yesterday"),
     '"timestamp" is not an ISO 8601 date and time: "yesterday"'),
    ("/v1/track", track(timestamp=1700000000), '"timestamp" must be an ISO 8601 date and time'),
    ("/v1/track", track(sentAt="0001-01-01T00:00:00Z", timestamp="9999-12-31T00:00:00Z"),
     "a time is out of range (or sentAt and timestamp too far apart)"),
    ("/v1/track", track(timestamp="9999-12-31T23:59:59-05:00"),
     "a time is out of range (or sentAt and timestamp too far apart)"),
    ("/v1/track", track(timestamp="0001-01-01T00:00:00+05:00"),
     "a time is out of range (or sentAt and timestamp too far apart)"),
    ("/v1/track", track(messageId="m" * 256), '"messageId" is longer than 255 characters'),
    ("/v1/track", track(messageId=["m"]), '"messageId" must be a string'),
    ("/v1/track", track(properties={"x": "nul\u0000byte"}),
     "text cannot contain NUL characters or lone surrogates"),
    ("/v1/track", b'{"userId": "u", "event": "\\ud800"}',
     "text cannot contain NUL characters or lone surrogates"),
    ("/v1/track", track(properties={"blob": "x" * MAX_EVENT_BYTES}),
     "the event is larger than 32 KB"),
    ("/v1/batch", {"events": [track()]}, 'A batch needs "batch", a list of events.'),
    ("/v1/batch", {"batch": {"0": track()}}, 'A batch needs "batch", a list of events.'),
    ("/v1/batch", {"batch": [track()], "context": []}, '"context" must be an object.'),
    ("/v1/batch", {"batch": [track()], "sentAt": "soon"},
     '"sentAt" is not an ISO 8601 date and time: "soon".'),
    ("/v1/batch", {"batch": [track(type=None)]}, 'batch[0]: needs "type"'),
    ("/v1/batch", {"batch": [track(type="delete")]},
     'batch[0]: unknown type "delete" (one of identify, track, page, screen, group, alias)'),
    ("/v1/batch", {"batch": [track(type=["track"])]},
     'batch[0]: unknown type "[\\"track\\"]" (one of identify, track, page, screen, group, '
     "alias)"),
    ("/v1/batch", {"batch": [track(), "track"]}, "batch[1]: an event must be a JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "message"), BAD_BODIES)
def test_bad_input_is_a_400_naming_the_problem(
    post: Post, path: str, body: bytes | dict[str, Any], message: str
) -> None:
    _refused(post(path, body), 400, message)


def test_a_batch_is_accepted_whole_or_refused_whole(post: Post) -> None:
    batch = [track(), track(), track(), track(event=None), track(userId=None), track()]
    body = _refused(post("/v1/batch", {"batch": batch}), 400, 'batch[3]: track needs "event"')
    assert body["code"] == "invalid_request"
    assert body["errors"] == [
        'batch[3]: track needs "event"',
        'batch[4]: track needs "userId" or "anonymousId"',
    ]


def test_a_batch_over_500_kb_is_refused(post: Post) -> None:
    event = track(properties={"blob": "x" * 30_000})
    batch = [event] * (MAX_BATCH_BYTES // 30_000 + 1)
    _refused(post("/v1/batch", {"batch": batch}), 400, "The request is larger than 500 KB.")


def test_a_gzip_bomb_is_refused_without_expanding_it(post: Post) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * (64 * 1024 * 1024) + b"]}")
    assert len(bomb) < 100_000
    response = post("/v1/batch", bomb, HTTP_CONTENT_ENCODING="gzip")
    _refused(response, 400, "The request is larger than 500 KB.")


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        (b"not gzip at all", "gzip", "The body is not valid gzip."),
        (gzip.compress(json.dumps(track()).encode())[:-12], "gzip", "The gzip body is cut short."),
        (json.dumps(track()).encode(), "br",
         'Content-Encoding "br" is not supported: send gzip or none.'),
    ],
)  # fmt: skip
def test_bad_encodings_are_400s(post: Post, body: bytes, encoding: str, message: str) -> None:
    _refused(post("/v1/track", body, HTTP_CONTENT_ENCODING=encoding), 400, message)


def test_only_post_and_preflight(post: Post, tracking: AsgiClient) -> None:
    response = tracking.get("/v1/track")
    assert response.status_code == 405 and response["Allow"] == "POST, OPTIONS"
    assert response.json()["code"] == "method_not_allowed"


def test_a_database_failure_is_a_503_to_retry(
    world: World, post: Post, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(**kwargs: Any) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr("pipeline.services._events_store", fail)
    response = post("/v1/track", track())
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert response.json()["code"] == "unavailable"


def test_concurrent_requests_share_a_commit(
    world: World, tracking: AsgiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import tracking_app

    groups: list[int] = []

    def store(*, requests: Any) -> Any:
        groups.append(len(requests))
        return tracking_app_store(requests=requests)

    tracking_app_store = tracking_app.tracking_requests_store
    monkeypatch.setattr(tracking_app, "tracking_requests_store", store)
    key = world.source.write_key
    bodies = [json.dumps(track(messageId=f"m-{n}", writeKey=key)).encode() for n in range(12)]
    bodies.append(json.dumps(track(writeKey="wrong")).encode())
    answers = tracking.post_together("/v1/track", bodies)
    assert [a.status_code for a in answers] == [200] * 12 + [401]
    assert sum(groups) == 13 and len(groups) < 13, groups
    assert Event.objects.count() == 12 and DeliveryJob.objects.count() == 12


def test_unknown_paths_and_hosts_are_refused_in_json(world: World, post: Post) -> None:
    missing = post("/v1/trak", track())
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert "/v1/track" in missing.json()["message"]
    foreign = AsgiClient(host="evil.example").post(
        "/v1/track", json.dumps(track(writeKey=world.source.write_key)).encode()
    )
    assert foreign.status_code == 400 and foreign.json()["code"] == "invalid_host"
    assert Event.objects.count() == 0


# --- CORS -----------------------------------------------------------------------------------


def test_the_cors_preflight_is_answered_for_any_origin(tracking: AsgiClient) -> None:
    response = tracking.options(
        "/v1/t",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-custom",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert response["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "content-type, x-custom"
    assert response["Access-Control-Max-Age"] == "86400"
    assert "Origin" in response["Vary"]
    # Requested headers that are not a list of names are not echoed.
    odd = tracking.options(
        "/v1/batch", HTTP_ORIGIN="https://a.example", HTTP_ACCESS_CONTROL_REQUEST_HEADERS="a\rb"
    )
    assert odd["Access-Control-Allow-Headers"].startswith("Content-Type, Content-Encoding")


def test_answers_carry_cors_headers(world: World, post: Post) -> None:
    ok = post("/v1/track", track(), HTTP_ORIGIN="https://shop.example")
    assert ok["Access-Control-Allow-Origin"] == "https://shop.example"
    refused = post("/v1/track", {}, key="wrong", HTTP_ORIGIN="https://shop.example")
    assert refused.status_code == 401
    assert refused["Access-Control-Allow-Origin"] == "https://shop.example"
    assert post("/v1/track", track())["Access-Control-Allow-Origin"] == "*"


# --- deduplication and jobs ------------------------------------------------------------------


def test_a_repeated_message_id_is_accepted_and_not_delivered_twice(
    world: World, post: Post
) -> None:
    assert post("/v1/track", track(messageId="m-1")).status_code == 200
    assert post("/v1/batch", {"batch": [track(messageId="m-1", event="Again")]}).json() == {
        "success": True
    }
    assert post("/v1/t", track(messageId="m-1")).status_code == 200
    (event,) = Event.objects.all()
    assert event.payload["event"] == "Signed Up"
    assert DeliveryJob.objects.count() == 1


def test_repeats_inside_one_batch_are_stored_once(post: Post) -> None:
    batch = [track(messageId="m-1"), track(messageId="m-2"), track(messageId="m-1")]
    assert post("/v1/batch", {"batch": batch}).status_code == 200
    assert [e.message_id for e in Event.objects.order_by("id")] == ["m-1", "m-2"]
    assert DeliveryJob.objects.count() == 2


def test_message_ids_are_per_source(world: World, post: Post) -> None:
    post("/v1/track", track(messageId="m-1"))
    post("/v1/track", track(messageId="m-1"), key=world.foreign_source.write_key)
    assert Event.objects.count() == 2


def test_jobs_go_to_the_enabled_instances_of_that_source_only(world: World, post: Post) -> None:
    olivia = world.users["olivia"]
    second = instance_create(
        function=world.other_function, source=world.source, name="Mailer (prod)", actor=olivia
    )
    paused = instance_create(
        function=world.other_function, source=world.source, name="Paused", actor=olivia
    )
    instance_update(instance=paused, enabled=False, actor=olivia)
    mobile = source_create(workspace=world.acme, name="Mobile", actor=olivia)
    instance_create(function=world.function, source=mobile, name="On mobile", actor=olivia,
                    settings={"apiKey": SECRET_API_KEY})  # fmt: skip
    assert post("/v1/batch", {"batch": [track(), track()]}).status_code == 200
    jobs = DeliveryJob.objects.all()
    assert sorted(j.instance_id for j in jobs) == sorted([world.instance.pk, second.pk] * 2)
    assert {j.state for j in jobs} == {JobState.PENDING}
    received = Event.objects.first().received_at  # type: ignore[union-attr]
    assert {j.next_attempt_at for j in jobs} == {received}


def test_a_source_without_destinations_stores_events_without_jobs(world: World, post: Post) -> None:
    world.instance.delete()
    assert post("/v1/track", track()).status_code == 200
    assert Event.objects.count() == 1 and DeliveryJob.objects.count() == 0


def test_a_100_event_batch_is_a_few_queries(world: World, post: Post) -> None:
    batch = [track(messageId=f"m-{i}", properties={"i": i}) for i in range(100)]
    with CaptureQueriesContext(connection) as queries:
        assert post("/v1/batch", {"batch": batch}).status_code == 200
    assert Event.objects.count() == 100 and DeliveryJob.objects.count() == 100
    # Source, seen ids (insert, read back), events, instances, jobs, and the transaction.
    assert len(queries) <= 10, [q["sql"][:80] for q in queries]


def test_hostile_bodies_get_answers_never_a_500(world: World, post: Post) -> None:
    """Cut, flipped and retyped versions of a valid batch: each is accepted whole or refused
    with a message, and what is stored is exactly what was accepted."""
    import random

    rng = random.Random(7)
    valid = json.dumps(
        {"batch": [track(messageId=f"m-{i}", properties={"n": i}) for i in range(5)]}
    )
    odd_values: list[Any] = [None, True, 0, -1, 1.5, "", "x" * 300, [], {}, [[]], {"a": {}}]
    accepted = 0
    for attempt in range(300):
        if attempt % 3 == 0:
            cut = rng.randrange(len(valid))
            body: bytes = valid[:cut].encode()
        elif attempt % 3 == 1:
            raw = bytearray(valid.encode())
            for _ in range(3):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            body = bytes(raw)
        else:
            event = track(messageId=f"fuzz-{attempt}")
            field = rng.choice(["type", "userId", "event", "properties", "context",
                                "timestamp", "sentAt", "messageId", "integrations"])  # fmt: skip
            event[field] = rng.choice(odd_values)
            body = json.dumps({"batch": [event], "sentAt": rng.choice(odd_values)}).encode()
        response = post("/v1/batch", body)
        assert response.status_code in (200, 400), (body[:200], response.content[:200])
        assert response.json()["success"] is (response.status_code == 200)
        if response.status_code == 200:
            accepted += 1
        else:
            assert response.json()["message"]
    assert accepted  # some retyped events are still valid ones
    assert Event.objects.count() == len(set(Event.objects.values_list("message_id", flat=True)))
