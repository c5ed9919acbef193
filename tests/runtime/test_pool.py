"""The worker pool: sticky routing, LRU eviction, per-loop pools, stuck workers."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import pytest

from runtime import pool as pool_module
from runtime.pool import PoolConfig, get_pool, shutdown_pool
from tests.runtime.conftest import make_pool, run

PID_CODE = "let n = 0; async function onTrack() { return ++n }"


async def test_calls_for_one_function_stick_to_one_worker():
    p = make_pool(workers=2)
    try:
        results = [(await run(p, PID_CODE, function_id="sticky")).result for _ in range(5)]
        assert results == [1, 2, 3, 4, 5]  # one context, so one worker
        assert p.worker_for("sticky") is p.worker_for("sticky")
    finally:
        await p.shutdown()


async def test_evicted_contexts_are_reloaded_transparently():
    p = make_pool(workers=1, max_contexts=2)
    try:
        for fid in ["a", "b", "c", "a"]:  # "a" is evicted by "c", then reloaded
            r = await run(p, PID_CODE, function_id=fid)
            assert r.outcome == "success"
        assert r.result == 1  # fresh context: globals start again
        r = await run(p, PID_CODE, function_id="a")
        assert r.result == 2
    finally:
        await p.shutdown()


async def test_get_pool_is_per_event_loop_and_shutdown_stops_the_workers():
    pool_module.configure(PoolConfig(workers=1))
    try:
        p = get_pool()
        assert get_pool() is p
        r = await run(p, PID_CODE)
        assert r.result == 1
        pids = p.pids()
        assert pids
        await shutdown_pool()
        assert p.closed and p.pids() == []
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert get_pool() is not p  # a new pool on demand
        await shutdown_pool()
    finally:
        pool_module.configure(None)


async def test_a_stuck_worker_is_killed_and_every_call_on_it_comes_back_retryable():
    p = make_pool(workers=1)
    try:
        await run(p, PID_CODE)
        slow = "async function onTrack() { await new Promise(r => setTimeout(r, 100)); return 1 }"
        calls = [asyncio.ensure_future(run(p, slow, timeout_ms=200)) for _ in range(3)]
        await asyncio.sleep(0.05)
        (pid,) = p.pids()
        os.kill(pid, signal.SIGSTOP)  # frozen: Node cannot answer, even its own timeouts
        results = await asyncio.gather(*calls)
        assert [r.outcome for r in results] == ["timeout"] * 3
        assert all(r.retryable for r in results)
        assert any("restarted" in r.error.message for r in results)
        assert (await run(p, PID_CODE)).result == 1  # a fresh worker
        assert p.pids() != [pid]
    finally:
        await p.shutdown()


async def test_other_functions_keep_running_while_one_hangs():
    p = make_pool(workers=1)
    try:
        hang = asyncio.ensure_future(
            run(p, "async function onTrack() { await new Promise(() => {}) }", timeout_ms=500)
        )
        quick = [await run(p, PID_CODE, function_id="quick") for _ in range(20)]
        assert [r.result for r in quick] == list(range(1, 21))
        assert (await hang).outcome == "timeout"
    finally:
        await p.shutdown()


async def test_a_cancelled_call_is_ended_in_the_worker_too():
    """A caller that stops waiting (a new test run) ends the call in the worker: its
    pending fetch-free work (a timer here) does not run on after the cancel."""
    p = make_pool(workers=1)
    try:
        function_id = f"fn_{uuid.uuid4().hex}"
        code = """
        let ticks = 0;
        async function onTrack(event) {
          if (event.event === 'count') return ticks;
          await new Promise((r) => setInterval(() => { ticks++; }, 20));
        }
        """
        task = asyncio.ensure_future(run(p, code, function_id=function_id, timeout_ms=5000))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)
        first = await run(p, code, {"type": "track", "event": "count"}, function_id=function_id)
        await asyncio.sleep(0.3)
        later = await run(p, code, {"type": "track", "event": "count"}, function_id=function_id)
        assert first.outcome == "success" and later.result == first.result
        assert not p.workers[0].process.pending
    finally:
        await p.shutdown()
