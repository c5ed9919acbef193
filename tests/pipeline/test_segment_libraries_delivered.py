"""Segment's official libraries, Python and Node, send one event of each type to a live
server; a delivery round runs them through a function (the real runtime) that posts each
to a recording server on loopback. Only the host is pointed here: nothing else changed."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from segment.analytics import Client as SegmentClient
from segment.analytics import request as segment_request

from catalog.services import function_create, instance_create, instance_update
from pipeline.delivery import RoundSummary, delivery_round
from runtime.config import node_binary
from tests.conftest import World, build_world
from tests.pipeline.conftest import JsonRecorder
from tests.runtime.conftest import make_pool

pytestmark = pytest.mark.django_db(transaction=True)

TYPES = ["identify", "track", "page", "screen", "group", "alias"]
HANDLER = """
async function on{Name}(event, settings) {{
  await fetch(settings.url, {{
    method: 'POST',
    body: JSON.stringify({{
      type: event.type, userId: event.userId, library: event.context.library.name,
    }}),
  }});
}}
"""
CODE = "".join(HANDLER.format(Name=t.capitalize()) for t in TYPES)
NODE_SENDER = Path(__file__).with_name("segment_node_sender.mjs")


@pytest.fixture
def world(transactional_db: None, recorder_url: str) -> World:
    world = build_world()
    olivia = world.users["olivia"]
    instance_update(instance=world.instance, actor=olivia, enabled=False)
    function = function_create(
        workspace=world.acme,
        name="Every type",
        actor=olivia,
        code=CODE,
        settings_schema=[{"label": "URL", "type": "string", "required": True}],
    )
    instance_create(
        function=function,
        source=world.source,
        name="Every type",
        settings={"url": recorder_url},
        actor=olivia,
    )
    return world


def _deliver() -> RoundSummary:
    async def one_round() -> RoundSummary:
        pool = make_pool(allow=["127.0.0.1"], workers=1)
        try:
            return await delivery_round(worker_id="libraries", pool=pool)
        finally:
            await pool.shutdown()

    return asyncio.run(one_round())


def _delivered() -> list[tuple[str, str]]:
    return sorted((r["type"], r["userId"]) for r in JsonRecorder.received)


def test_segments_python_library_events_are_delivered(world: World, asgi_live_server: str) -> None:
    client = SegmentClient(world.source.write_key, host=asgi_live_server, sync_mode=True)
    try:
        client.identify("p-1", {"email": "ada@example.com"})
        client.track("p-1", "Order Completed", {"revenue": 9.99})
        client.page("p-1", "Docs", "Install")
        client.screen("p-1", "App", "Settings")
        client.group("p-1", "g-1", {"name": "Initech"})
        client.alias("a-1", "p-1")
    finally:
        segment_request._session.close()  # ends the live server's thread (and its connection)
    summary = _deliver()
    assert summary.outcomes == {"success": 6}
    assert _delivered() == sorted((t, "p-1") for t in TYPES)
    assert {r["library"] for r in JsonRecorder.received} == {"analytics-python"}


def test_segments_node_library_events_are_delivered(world: World, asgi_live_server: str) -> None:
    sent = subprocess.run(
        [node_binary(), str(NODE_SENDER), asgi_live_server, world.source.write_key],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    summary = _deliver()
    assert summary.outcomes == {"success": 6}
    assert _delivered() == sorted((t, "n-1") for t in TYPES)
    assert {r["library"] for r in JsonRecorder.received} == {"@segment/analytics-node"}
