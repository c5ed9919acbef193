"""Segment's own Python library (segment-analytics-python) sending to this server over
loopback HTTP, and concurrent senders racing with one messageId."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from segment.analytics import Client as SegmentClient
from segment.analytics import request as segment_request
from segment.analytics.request import APIError

from pipeline.models import DeliveryJob, Event
from tests.asgi_client import AsgiClient
from tests.conftest import World, build_world
from tests.pipeline.conftest import basic_auth, track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(transactional_db: None) -> World:
    return build_world()


@pytest.fixture(autouse=True)
def _no_kept_alive_connection() -> Iterator[None]:
    yield
    # The library keeps one HTTP session per process. Closing it ends the live server's
    # thread that serves it, and with it that thread's database connection, which would
    # otherwise keep PostgreSQL from dropping the test database.
    segment_request._session.close()


def _segment(server: str, write_key: str, **options: Any) -> SegmentClient:
    errors: list[Exception] = []
    client = SegmentClient(
        write_key,
        host=server,
        max_retries=0,
        on_error=lambda error, batch: errors.append(error),
        **options,
    )
    client.errors = errors  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize("use_gzip", [False, True])
def test_segments_library_in_sync_mode(world: World, asgi_live_server: str, use_gzip: bool) -> None:
    client = _segment(asgi_live_server, world.source.write_key, sync_mode=True, gzip=use_gzip)
    _, sent = client.track("u-1", "Order Completed", {"revenue": 9.99, "items": ["a", "b"]})
    client.identify("u-1", {"email": "ada@example.com"})
    client.page("u-1", "Docs", "Install")
    client.screen("u-1", "App", "Settings")
    client.group("u-1", "g-1", {"name": "Initech"})
    client.alias("a-1", "u-1")
    assert client.errors == []  # type: ignore[attr-defined]
    events = list(Event.objects.order_by("id"))
    assert [e.type for e in events] == ["track", "identify", "page", "screen", "group", "alias"]
    first = events[0].payload
    assert first["messageId"] == sent["messageId"] == events[0].message_id
    assert first["event"] == "Order Completed"
    assert first["properties"] == {"revenue": 9.99, "items": ["a", "b"]}
    assert first["context"]["library"]["name"] == "analytics-python"
    assert first["originalTimestamp"].endswith("Z") and first["sentAt"].endswith("Z")
    # The library's clock is this machine's: the correction moves the time by the request's
    # own duration at most.
    skew = datetime.fromisoformat(first["receivedAt"]) - datetime.fromisoformat(first["sentAt"])
    assert skew.total_seconds() < 5
    assert events[2].payload["name"] == "Install" and events[2].payload["category"] == "Docs"
    assert events[5].payload["previousId"] == "a-1"
    assert DeliveryJob.objects.count() == 6


def test_segments_library_batches_in_the_background(world: World, asgi_live_server: str) -> None:
    client = _segment(asgi_live_server, world.source.write_key, upload_size=50)
    for i in range(120):
        client.track(f"u-{i}", "Clicked", {"i": i})
    client.flush()
    client.join()
    assert client.errors == []  # type: ignore[attr-defined]
    assert Event.objects.count() == 120
    assert sorted(e.payload["properties"]["i"] for e in Event.objects.all()) == list(range(120))


def test_segments_library_reads_our_refusals(world: World, asgi_live_server: str) -> None:
    client = _segment(asgi_live_server, "wrong-key", sync_mode=True)
    with pytest.raises(APIError) as refused:
        client.track("u-1", "Clicked")
    assert refused.value.status == 401 and refused.value.code == "invalid_write_key"
    assert Event.objects.count() == 0


def test_concurrent_senders_of_one_message_id_store_it_once(world: World) -> None:
    """Requests racing with the same messageId (a sender retrying while its first try is
    still in flight), each thread on its own database connection: the id is stored once,
    and each request is accepted whole (200) or refused whole (503, to retry)."""
    auth = basic_auth(world.source.write_key)
    statuses: dict[int, int] = {}
    start = threading.Barrier(8)

    def send(n: int) -> None:
        # Half of them send the shared ids the other way round (rows go in sorted, so that
        # two requests never hold one each while waiting for the other).
        shared = ["shared-x", "shared-y"][:: 1 if n % 2 else -1]
        body = {"batch": [track(messageId=mid) for mid in [*shared, f"own-{n}"]]}
        try:
            start.wait()
            response = AsgiClient().post(
                "/v1/batch", json.dumps(body).encode(), HTTP_AUTHORIZATION=auth
            )
            statuses[n] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = {n for n, status in statuses.items() if status == 200}
    assert set(statuses.values()) <= {200, 503} and accepted, statuses
    if connection.vendor == "postgresql":  # SQLite may refuse a writer that waited: a 503
        assert len(accepted) == 8
    for mid in ("shared-x", "shared-y"):
        assert Event.objects.filter(message_id=mid).count() == 1
    own = Event.objects.filter(message_id__startswith="own-").values_list("message_id", flat=True)
    assert set(own) == {f"own-{n}" for n in accepted}
    assert DeliveryJob.objects.count() == len(accepted) + 2
