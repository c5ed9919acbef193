"""function_invoke: handlers, outcomes, error classes, logs, limits, syntax errors."""

from __future__ import annotations

import json

import pytest

from runtime.services import InvocationResult
from tests.runtime.conftest import run

pytestmark = pytest.mark.asyncio(loop_scope="module")

EVENTS = {
    "identify": "onIdentify",
    "track": "onTrack",
    "page": "onPage",
    "screen": "onScreen",
    "group": "onGroup",
    "alias": "onAlias",
    "delete": "onDelete",
}

ALL_HANDLERS = "\n".join(
    f"async function {h}(event, settings) {{ return {{handler: '{h}', type: event.type, "
    f"key: settings.apiKey}}; }}"
    for h in [*EVENTS.values(), "onBatch"]
)


@pytest.mark.parametrize("event_type", sorted(EVENTS))
async def test_each_event_type_calls_its_handler_with_event_and_settings(pool, event_type):
    r = await run(pool, ALL_HANDLERS, {"type": event_type}, {"apiKey": "k1"})
    assert r.outcome == "success", r.error
    assert r.result == {"handler": EVENTS[event_type], "type": event_type, "key": "k1"}
    assert r.error is None and not r.retryable


async def test_a_list_calls_on_batch_with_the_events(pool):
    code = "async function onBatch(events, settings) { return events.map(e => e.n * settings.k) }"
    r = await run(pool, code, [{"type": "track", "n": 1}, {"type": "track", "n": 2}], {"k": 10})
    assert (r.outcome, r.result) == ("success", [10, 20])


async def test_on_batch_may_return_per_event_results(pool):
    code = """async function onBatch(events) {
      return events.map(e => e.ok ? {status: 200} : {status: 400, errormessage: 'bad ' + e.n});
    }"""
    r = await run(pool, code, [{"type": "track", "ok": True, "n": 1}, {"type": "track", "n": 2}])
    assert r.result == [{"status": 200}, {"status": 400, "errormessage": "bad 2"}]


async def test_a_missing_handler_is_an_unsupported_event_type(pool):
    r = await run(pool, "async function onIdentify() {}", {"type": "track"})
    assert r.outcome == "unsupported_event_type"
    assert r.error.type == "EventNotSupported" and "onTrack" in r.error.message
    r = await run(pool, "async function onTrack() {}", [{"type": "track"}])
    assert r.outcome == "unsupported_event_type" and "onBatch" in r.error.message


async def test_an_unknown_or_missing_event_type_never_reaches_the_code(pool):
    r = await run(pool, "async function onTrack() {}", {"type": "purchase"})
    assert r.outcome == "unsupported_event_type"
    r = await run(pool, "async function onTrack() {}", {"event": "x"})
    assert (r.outcome, r.error.type) == ("message_rejected", "InvalidEventPayload")


async def test_handlers_may_be_sync_and_may_be_const_arrow_functions(pool):
    r = await run(pool, "function onTrack(e) { return 1 }")
    assert (r.outcome, r.result) == ("success", 1)
    r = await run(pool, "const onTrack = async (e) => e.event")
    assert (r.outcome, r.result) == ("success", "Signed Up")


@pytest.mark.parametrize(
    ("thrown", "outcome", "type_"),
    [
        ("new EventNotSupported('no')", "unsupported_event_type", "EventNotSupported"),
        ("new InvalidEventPayload('no')", "message_rejected", "InvalidEventPayload"),
        ("new ValidationError('no')", "message_rejected", "ValidationError"),
        ("new RetryError('no')", "retry", "RetryError"),
        ("new DropEvent('no')", "dropped", "DropEvent"),
        ("new Error('no')", "bad_request", "Error"),
        ("new TypeError('no')", "bad_request", "TypeError"),
    ],
)
async def test_error_classes_map_to_segment_outcomes(pool, thrown, outcome, type_):
    r = await run(pool, f"async function onTrack() {{ throw {thrown} }}")
    assert r.outcome == outcome
    assert r.error.type == type_ and r.error.message == "no"
    assert r.retryable == (outcome == "retry")


async def test_error_classes_are_real_error_subclasses(pool):
    code = """async function onTrack() {
      return [EventNotSupported, InvalidEventPayload, ValidationError, RetryError, DropEvent]
        .map(C => { const e = new C('m'); return [e instanceof Error, e.name, e.message] });
    }"""
    r = await run(pool, code)
    assert r.result == [
        [True, n, "m"]
        for n in [
            "EventNotSupported",
            "InvalidEventPayload",
            "ValidationError",
            "RetryError",
            "DropEvent",
        ]
    ]


async def test_subclasses_of_error_classes_keep_their_outcome(pool):
    code = "class Later extends RetryError {}\nasync function onTrack() { throw new Later('x') }"
    r = await run(pool, code)
    assert (r.outcome, r.error.type) == ("retry", "Later")


async def test_throwing_non_errors_is_a_bad_request(pool):
    r = await run(pool, "async function onTrack() { throw 'plain string' }")
    assert (r.outcome, r.error.message) == ("bad_request", "plain string")
    r = await run(pool, "function onTrack() { throw {message: 'obj'} }")
    assert (r.outcome, r.error.message) == ("bad_request", "obj")


async def test_a_missing_required_setting_is_invalid_settings_before_the_code_runs(pool):
    code = "async function onTrack() { console.log('ran'); return 1 }"
    r = await run(pool, code, settings={"region": "eu"}, required_settings=["apiKey"])
    assert r.outcome == "invalid_settings"
    assert "Invalid Settings" in r.error.message and "apiKey" in r.error.message
    assert r.logs == []
    r = await run(pool, code, settings={"apiKey": "x"}, required_settings=["apiKey"])
    assert r.outcome == "success"


async def test_console_levels_are_captured_in_order(pool):
    code = """async function onTrack(event) {
      console.log('a', 1, {b: [1, 2]}); console.info('i'); console.warn('w');
      await null; console.error(new Error('boom').message); console.debug('d', null, undefined);
    }"""
    r = await run(pool, code)
    assert r.logs == [
        {"level": "log", "message": "a 1 { b: [ 1, 2 ] }"},
        {"level": "info", "message": "i"},
        {"level": "warn", "message": "w"},
        {"level": "error", "message": "boom"},
        {"level": "debug", "message": "d null undefined"},
    ]


async def test_logs_and_traces_stream_through_the_callback_as_they_happen(pool):
    seen: list[dict] = []
    code = """async function onTrack() {
      console.log('first'); await new Promise(r => setTimeout(r, 50)); console.warn('second');
    }"""
    r = await run(pool, code, on_event=seen.append)
    assert seen == [
        {"type": "log", "level": "log", "message": "first"},
        {"type": "log", "level": "warn", "message": "second"},
    ]
    assert [entry["message"] for entry in r.logs] == ["first", "second"]


async def test_logs_of_concurrent_invocations_are_kept_apart(pool):
    import asyncio

    code = """async function onTrack(e) {
      console.log('start ' + e.n); await new Promise(r => setTimeout(r, 20 - e.n));
      console.log('end ' + e.n); return e.n;
    }"""
    fid = "fn_concurrent_logs"
    results = await asyncio.gather(
        *(run(pool, code, {"type": "track", "n": n}, function_id=fid) for n in range(10))
    )
    for n, r in enumerate(results):
        assert r.result == n
        assert [x["message"] for x in r.logs] == [f"start {n}", f"end {n}"]


async def test_globals_persist_between_invocations_of_a_function(pool):
    code = "let count = 0; async function onTrack() { count += 1; return count }"
    fid = "fn_counter"
    results = [(await run(pool, code, function_id=fid)).result for _ in range(3)]
    assert results == [1, 2, 3]
    # A new version starts from a fresh context.
    r = await run(pool, code, function_id=fid, version_id="v2")
    assert r.result == 1


async def test_functions_do_not_share_globals(pool):
    code = "async function onTrack(e) { globalThis.seen = (globalThis.seen || 0) + 1; return seen }"
    assert (await run(pool, code, function_id="fn_a")).result == 1
    assert (await run(pool, code, function_id="fn_b")).result == 1
    assert (await run(pool, code, function_id="fn_a")).result == 2


async def test_a_sync_infinite_loop_times_out(pool):
    r = await run(pool, "async function onTrack() { while (true) {} }", timeout_ms=100)
    assert (r.outcome, r.error.type) == ("timeout", "Timeout")
    assert r.retryable
    assert 90 <= r.duration_ms < 1000


async def test_a_loop_after_await_times_out(pool):
    code = "async function onTrack() { await null; await fetch; while (true) {} }"
    r = await run(pool, code, timeout_ms=100)
    assert r.outcome == "timeout" and r.duration_ms < 1000


async def test_a_promise_that_never_settles_times_out(pool):
    r = await run(pool, "async function onTrack() { await new Promise(() => {}) }", timeout_ms=100)
    assert r.outcome == "timeout" and r.retryable


async def test_a_top_level_infinite_loop_times_out(pool):
    r = await run(pool, "while (true) {}\nasync function onTrack() {}", timeout_ms=100)
    assert r.outcome == "timeout"


async def test_the_default_time_limit_applies(pool):
    assert pool.config.default_timeout_ms == 5000
    r = await run(pool, "async function onTrack() { await null; return 'quick' }")
    assert r.result == "quick"


@pytest.mark.parametrize(
    ("code", "line", "column"),
    [
        ("async function onTrack(event) {\n  return event.\n}", 3, 1),
        ("let a = 1;\nlet b = ;\n", 2, 9),
        ("async function onTrack( {", 1, 26),
    ],
)
async def test_syntax_errors_give_line_and_column(pool, code, line, column):
    r = await run(pool, code)
    assert (r.outcome, r.error.type) == ("bad_request", "SyntaxError")
    assert f"line {line}, column {column}" in r.error.message


async def test_an_error_at_the_top_level_is_a_bad_request_and_keeps_its_logs(pool):
    r = await run(pool, "console.log('loading'); throw new Error('broken')")
    assert r.outcome == "bad_request" and "loading" in r.error.message
    assert r.logs == [{"level": "log", "message": "loading"}]


async def test_return_values_must_be_json(pool):
    r = await run(pool, "async function onTrack() { const a = {}; a.a = a; return a }")
    assert r.outcome == "success" and r.result is None
    assert "not JSON-serializable" in r.logs[0]["message"]
    r = await run(pool, "async function onTrack() { return {d: new Date(0), u: undefined} }")
    assert r.result == {"d": "1970-01-01T00:00:00.000Z"}


async def test_settings_and_events_arrive_as_plain_objects(pool):
    code = """async function onTrack(event, settings) {
      return [Object.getPrototypeOf(event) === Object.prototype, Array.isArray(settings.list),
              typeof settings.nested.n, event.properties.price];
    }"""
    r = await run(pool, code, {"type": "track", "properties": {"price": 9.5}},
                  {"list": [1], "nested": {"n": 1}})  # fmt: skip
    assert r.result == [True, True, "number", 9.5]


async def test_to_dict_has_the_command_line_shape(pool):
    r = await run(pool, "async function onTrack() { console.log('x'); throw new RetryError('r') }")
    d = r.to_dict()
    assert set(d) == {"outcome", "error", "result", "logs", "requests", "duration_ms"}
    assert d["error"] == {"type": "RetryError", "message": "r", "line": 1, "column": 52}
    assert isinstance(r, InvocationResult)


async def test_lone_surrogates_become_replacement_characters_everywhere(pool):
    # Streamed logs, results, errors and fetch traces: nothing that reaches Python
    # holds a lone surrogate (no UTF-8 encoder downstream would take it).
    code = r"""async function onTrack(event, settings) {
      console.warn('log \ud800');
      try { await fetch('http://10.0.0.1/', {headers: {'X-A': 'v\udfff'}}) } catch (e) {}
      return {['k\udbff']: ['\udc00', event.x]};
    }"""
    seen: list[dict] = []
    r = await run(pool, code, {"type": "track", "x": "\ud800"}, on_event=seen.append)
    assert r.outcome == "success", r.error
    assert r.result == {"k\ufffd": ["\ufffd", "\ufffd"]}
    assert [e["message"] for e in seen if e["type"] == "log"] == ["log \ufffd"]
    assert r.requests[0]["request_headers"]["X-A"] == "v\ufffd"
    for value in (r.to_dict(), seen):
        json.dumps(value, ensure_ascii=False).encode("utf-8")


async def test_a_thrown_error_says_where_in_the_code_it_was_thrown(pool):
    code = "async function onTrack(event) {\n  const x = 1;\n  throw new Error('boom');\n}\n"
    result = await run(pool, code)
    assert result.outcome == "bad_request"
    assert (result.error.line, result.error.column) == (3, 9)
    assert result.to_dict()["error"] == {
        "type": "Error",
        "message": "boom",
        "line": 3,
        "column": 9,
    }
    # A thrown primitive has no stack: no place is claimed.
    primitive = await run(pool, "async function onTrack() { throw 'no stack' }")
    assert primitive.error.line is None and "line" not in primitive.to_dict()["error"]


async def test_settings_or_payloads_nested_too_deep_are_outcomes_not_exceptions(pool):
    deep: dict = {}
    node = deep
    for _ in range(100_000):
        node["x"] = {}
        node = node["x"]
    settings = await run(pool, "async function onTrack() { return 1 }", settings=deep)
    assert settings.outcome == "invalid_settings"
    payload = await run(pool, "async function onTrack() { return 1 }", {"type": "track", "p": deep})
    assert payload.outcome == "message_rejected"
