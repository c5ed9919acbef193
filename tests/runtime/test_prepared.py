"""A function prepared once with its settings and run on many events (what a delivery
worker does with each instance of a round): ``function_prepare``, ``prepared_invoke`` and
``prepared_event_json_invoke``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from runtime.pool import WorkerPool
from runtime.services import PreparedFunction, function_prepare, prepared_event_json_invoke

pytestmark = pytest.mark.asyncio(loop_scope="module")

ECHO = """
let calls = 0;
async function onTrack(event, settings) {
  calls += 1;
  return {event, key: settings.apiKey, calls};
}
async function onIdentify(event) { return {identified: event.userId}; }
"""


def _prepared(pool: WorkerPool, code: str = ECHO, **kwargs: Any) -> PreparedFunction:
    settings = kwargs.pop("settings", {"apiKey": "secret-key-123"})
    return function_prepare(
        code=code,
        settings=settings,
        function_id=f"fn_{uuid.uuid4().hex}",
        version_id="v1",
        pool=pool,
        **kwargs,
    )


async def test_a_stored_event_runs_as_its_json_text_with_the_prepared_settings(pool):
    prepared = _prepared(pool)
    event = {"type": "track", "event": "Bought", "properties": {"name": "Zoë ☕", "n": 1.5}}
    text = json.dumps(event, ensure_ascii=False)
    first = await prepared_event_json_invoke(prepared=prepared, event_json=text, event_type="track")
    second = await prepared_event_json_invoke(
        prepared=prepared, event_json=json.dumps(event), event_type="track"
    )
    assert first.outcome == "success", first.error
    assert first.result == {"event": event, "key": "secret-key-123", "calls": 1}
    # The same prepared function: the same worker and context (its globals persist).
    assert second.result == {"event": event, "key": "secret-key-123", "calls": 2}
    assert first.duration_ms > 0


async def test_the_event_type_given_picks_the_handler(pool):
    prepared = _prepared(pool)
    text = json.dumps({"type": "identify", "userId": "u-1"})
    r = await prepared_event_json_invoke(prepared=prepared, event_json=text, event_type="identify")
    assert (r.outcome, r.result) == ("success", {"identified": "u-1"})


async def test_an_unknown_event_type_is_unsupported_without_running_code(pool):
    prepared = _prepared(pool, code="async function onTrack() { throw new Error('ran') }")
    text = json.dumps({"type": "purchase", "userId": "u-1"})
    r = await prepared_event_json_invoke(prepared=prepared, event_json=text, event_type="purchase")
    assert r.outcome == "unsupported_event_type"
    assert r.error is not None and "purchase" in r.error.message


async def test_json_text_with_newlines_and_tabs_between_tokens_still_arrives_whole(pool):
    # The worker reads one line per message, fields split by tabs: such text is sent
    # encoded again (compact), never as it is.
    prepared = _prepared(pool)
    event = {"type": "track", "event": "Multi\nline", "properties": {"a": [1, 2]}}
    text = json.dumps(event, indent="\t")
    assert "\n" in text and "\t" in text
    r = await prepared_event_json_invoke(prepared=prepared, event_json=text, event_type="track")
    assert r.outcome == "success", r.error
    assert r.result["event"] == event


async def test_settings_missing_a_required_value_reject_every_event_without_running_code(pool):
    prepared = _prepared(
        pool,
        code="async function onTrack() { throw new Error('ran') }",
        settings={"apiKey": ""},
        required_settings=["apiKey"],
    )
    text = json.dumps({"type": "track", "event": "E"})
    results = [
        await prepared_event_json_invoke(prepared=prepared, event_json=text, event_type="track")
        for _ in range(2)
    ]
    assert [r.outcome for r in results] == ["invalid_settings", "invalid_settings"]
    assert results[0].error is not None and "apiKey" in results[0].error.message
    # Each call gets a result of its own: a caller may change it.
    assert results[0] is not results[1]


async def test_settings_that_are_not_json_reject_every_event(pool):
    prepared = _prepared(pool, settings={"apiKey": float("nan")})
    text = json.dumps({"type": "track", "event": "E"})
    r = await prepared_event_json_invoke(prepared=prepared, event_json=text, event_type="track")
    assert r.outcome == "invalid_settings"
    assert r.error is not None and "not valid JSON" in r.error.message
