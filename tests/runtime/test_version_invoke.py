"""Running a saved function version from the catalog through the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

from catalog.models import FunctionVersion
from catalog.services import function_update
from runtime.pool import WorkerPool
from runtime.services import function_version_invoke
from tests.conftest import World, build_world
from tests.runtime.conftest import make_pool

pytestmark = pytest.mark.django_db(transaction=True)

CODE_V2 = """
let calls = 0;
async function onTrack(event, settings) {
  calls += 1;
  return {version: 2, region: settings.region, calls};
}
"""


@pytest_asyncio.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    p = make_pool(workers=1)
    yield p
    await p.shutdown()


def _versions() -> tuple[FunctionVersion, FunctionVersion]:
    world: World = build_world()
    function_update(function=world.function, code=CODE_V2, actor=world.users["olivia"])
    v1, v2 = world.function.versions.order_by("number")
    connections.close_all()
    return v1, v2


async def test_a_saved_version_runs_with_its_required_settings(pool: WorkerPool) -> None:
    v1, v2 = await sync_to_async(_versions)()
    event = {"type": "track", "event": "Signed Up"}
    first = await function_version_invoke(
        version=v2, settings={"apiKey": "k", "region": "eu"}, payload=event, pool=pool
    )
    again = await function_version_invoke(
        version=v2, settings={"apiKey": "k", "region": "eu"}, payload=event, pool=pool
    )
    assert first.outcome == "success" and first.result == {"version": 2, "region": "eu", "calls": 1}
    assert again.result["calls"] == 2  # same version: globals persist
    missing = await function_version_invoke(
        version=v2, settings={"region": "eu"}, payload=event, pool=pool
    )
    assert missing.outcome == "invalid_settings" and "apiKey" in missing.error.message
    # Version 1 is the default template: its onTrack posts to example.com, which this
    # machine cannot reach; what matters is that v1's code, not v2's, ran.
    old = await function_version_invoke(
        version=v1, settings={"apiKey": "k"}, payload=event, pool=pool, timeout_ms=3000
    )
    assert old.result is None and old.outcome in ("retry", "timeout", "bad_request")
    assert old.requests and old.requests[0]["url"] == "https://example.com/events"
