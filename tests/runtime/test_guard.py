# ruff: noqa: E501 -- the long lines are JavaScript snippets under test
"""The sync-loop guard: contexts entered in one dispatch share one timed vm entry.

A worker enters every context that has work queued under ONE `timeout` (a watchdog
thread per timed entry costs ~100 µs). These tests prove that sharing keeps every
limit: a loop is still stopped with a `timeout`, whichever context of the group it
is in, the other functions of the group still run, nobody is cut short before its
own deadline, and loading a function is guarded too. One worker, so that every
call of a test goes to the same process (and, sent in one tick, in one message).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from runtime.pool import WorkerPool
from tests.runtime.conftest import make_pool, run

pytestmark = pytest.mark.asyncio(loop_scope="module")

COUNTER = "let calls = 0; async function onTrack(e, s) { calls++; return calls }"
LOOP = "async function onTrack() { while (true) {} }"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    p = make_pool(workers=1)
    yield p
    await p.shutdown()


async def counters(pool: WorkerPool) -> dict[str, int]:
    return await pool.request("any", {"t": "ping"}, "pong")


async def test_many_functions_in_one_message_share_one_timed_entry(pool):
    ids = [f"share-{i}" for i in range(20)]
    for fid in ids:  # load them (loading is guarded separately)
        assert (await run(pool, COUNTER, function_id=fid)).result == 1
    before = await counters(pool)
    results = await asyncio.gather(*(run(pool, COUNTER, function_id=fid) for fid in ids))
    after = await counters(pool)
    assert [r.result for r in results] == [2] * len(ids)
    assert after["entered"] - before["entered"] >= len(ids)
    # One message, one deadline: far fewer timed entries than contexts entered.
    assert after["timed"] - before["timed"] <= 3


@pytest.mark.parametrize(
    "body",
    [
        "while (true) {}",
        "await null; while (true) {}",
        "function f() { Promise.resolve().then(f) } f(); await new Promise(() => {})",
        "return /^(a+)+$/.test('a'.repeat(40) + 'b')",
    ],
)
async def test_a_loop_in_a_shared_entry_times_out_and_its_neighbours_run(pool, body):
    # Deadlines 496/500/503 ms from now: close enough to share one entry, with the
    # looping function in the middle (contexts are entered by deadline).
    code = f"async function onTrack() {{ {body} }}"
    before_id, after_id = "neighbour-before", "neighbour-after"
    started = time.perf_counter()
    first, looping, last = await asyncio.gather(
        run(pool, COUNTER, function_id=before_id, timeout_ms=496),
        run(pool, code, timeout_ms=500),
        run(pool, COUNTER, function_id=after_id, timeout_ms=503),
    )
    assert (looping.outcome, looping.error.type) == ("timeout", "Timeout")
    assert time.perf_counter() - started < 2.0
    assert first.outcome == "success"
    # Entered again right after the loop was stopped, with what is left of its time:
    # it runs, or, if its deadline passed meanwhile (the loop was stopped at the end
    # of the shared entry), it is answered a retryable Timeout, not left to hang.
    assert last.outcome == "success" or last.outcome == "timeout", last.error
    # Both neighbours keep their state and keep serving.
    again = await asyncio.gather(
        run(pool, COUNTER, function_id=before_id), run(pool, COUNTER, function_id=after_id)
    )
    assert [r.outcome for r in again] == ["success", "success"]
    assert again[0].result >= 2


async def test_no_function_is_stopped_before_its_own_deadline(pool):
    # 400 ms of synchronous work within a 5 s limit, sent in the same message as a
    # loop with a 200 ms limit: the loop is stopped, the work is not.
    busy = "async function onTrack() { const end = Date.now() + 400; while (Date.now() < end) {} return 'done' }"
    looping, worker = await asyncio.gather(
        run(pool, LOOP, timeout_ms=200), run(pool, busy, timeout_ms=5000)
    )
    assert looping.outcome == "timeout" and looping.duration_ms < 1500
    assert (worker.outcome, worker.result) == ("success", "done"), worker.error


async def test_loops_while_loading_are_stopped(pool):
    for code in [
        "while (true) {}\nasync function onTrack() {}",
        "Promise.resolve().then(() => { for (;;) {} })\nasync function onTrack() {}",
        "const _x = _; while (true) {}\nasync function onTrack() {}",  # after a library
    ]:
        started = time.perf_counter()
        r = await run(pool, code, timeout_ms=200)
        assert (r.outcome, r.error.type) == ("timeout", "Timeout"), code
        assert time.perf_counter() - started < 1.5
    assert (await run(pool, COUNTER)).result == 1


async def test_callsites_seen_from_a_shared_entry_expose_nothing(pool):
    # The frames below user code now include the guard's script and the host's
    # group runner: no callsite may hand out their `this` or function.
    probe = """
      const leaked = [];
      function probe() {
        const saved = Error.prepareStackTrace;
        Error.prepareStackTrace = (err, frames) => {
          for (const f of frames) {
            for (const x of [f.getThis && f.getThis(), f.getFunction && f.getFunction()]) {
              if (x && typeof x === 'object' || typeof x === 'function') {
                let p = x, root; while (p) { root = p; p = Object.getPrototypeOf(p) }
                if (root !== Object.prototype) leaked.push(String(f));
              }
            }
          }
          return 'custom';
        };
        new Error('probe').stack;
        Error.prepareStackTrace = saved;
      }
    """
    codes = [
        probe + "probe(); async function onTrack() { probe(); await null; probe(); return leaked }",
        "function onTrack() { " + probe + " probe(); return leaked }",
    ]
    results = await asyncio.gather(*(run(pool, code) for code in codes))
    for r in results:
        assert r.outcome == "success" and r.result == [], r.result or r.error


async def test_a_thrown_proxy_is_never_inspected_outside_the_guard(pool):
    # The host must not read properties of a value thrown while loading: a trap
    # would run user code with no time limit, and stall the whole worker.
    trap = "new Proxy({}, { get(t, k) { if (k !== 'stack') while (true) {} }, getPrototypeOf() { while (true) {} } })"
    started = time.perf_counter()
    r = await run(pool, f"throw {trap};\nasync function onTrack() {{}}", timeout_ms=300)
    assert (r.outcome, r.error.type) == ("bad_request", "Error")
    assert "error while loading the function" in r.error.message
    r = await run(pool, f"async function onTrack() {{ throw {trap} }}", timeout_ms=300)
    assert r.outcome in ("bad_request", "timeout")
    assert time.perf_counter() - started < 1.5
    assert (await run(pool, COUNTER)).result == 1
