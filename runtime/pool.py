"""A pool of long-lived Node worker processes that run user functions.

A workspace's calls run only on its own partition of worker processes, and calls
for one function always go to the same worker of it (runtime/placement.py), so
globals and `cache` persist between invocations; the workers themselves are in
runtime/worker_slot.py and runtime/worker_process.py, their limits in
runtime/limits.py and the pool's configuration in runtime/config.py.

A pool belongs to one asyncio event loop (subprocess pipes are bound to the loop
that created them): use :func:`get_pool` to get the pool of the running loop, and
:func:`shutdown_pool` (or ``await pool.shutdown()``) before the loop closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import weakref
from collections.abc import Coroutine
from typing import Any

from runtime.calls import Call, EventCallback, failure
from runtime.config import PoolConfig as PoolConfig
from runtime.config import node_binary as node_binary
from runtime.fetch import make_client
from runtime.fetch_slots import FetchSlots
from runtime.limits import MAX_CONCURRENT_FETCHES as MAX_CONCURRENT_FETCHES
from runtime.limits import MAX_FETCHES_IN_FLIGHT_PER_CALL as MAX_FETCHES_IN_FLIGHT_PER_CALL
from runtime.limits import MAX_FETCHES_IN_FLIGHT_PER_FUNCTION as MAX_FETCHES_IN_FLIGHT_PER_FUNCTION
from runtime.limits import MAX_LOG_LINES as MAX_LOG_LINES
from runtime.limits import MAX_REQUESTS as MAX_REQUESTS
from runtime.limits import MAX_TIMEOUT_MS as MAX_TIMEOUT_MS
from runtime.placement import Partition, Placement
from runtime.worker_process import WORKER_JS as WORKER_JS
from runtime.worker_process import WorkerProcess, kill_pid, live_pids
from runtime.worker_slot import Worker

# Re-exported (the "as" imports above, and the names below): PoolConfig and node_binary
# belong to this module's public API; catalog/ reads MAX_LOG_LINES, MAX_REQUESTS and
# MAX_TIMEOUT_MS here, tests the other limits, WORKER_JS, _Process and _live_pids. The
# limits that tests change (KILL_GRACE_S...) are in limits.py only: a copy patched
# here would change nothing.
_Process = WorkerProcess
_live_pids = live_pids


class WorkerPool:
    """Node workers for one event loop. Create through :func:`get_pool`."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.placement = Placement(self)
        self.fetch_slots = FetchSlots()  # shared fairly by workspace, then function
        self.closed = False
        self.last_call_id = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.processes: set[WorkerProcess] = set()  # every process not yet reaped
        self._client: Any = None

    def http_client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.config.egress)
        return self._client

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task that the pool's shutdown cancels."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def partitions(self) -> dict[str, Partition]:
        return self.placement.partitions

    @property
    def workers(self) -> list[Worker]:
        """The worker slots of the default partition (calls without a workspace)."""
        return self.placement.partition_for("", asyncio.get_running_loop().time()).workers

    def worker_for(self, function_id: str, workspace_id: str = "") -> Worker:
        loop = asyncio.get_running_loop()
        for partition in self.placement.reap_idle(loop.time()):
            self.spawn(_stop_partition(partition))
        return self.placement.worker_for(workspace_id, function_id, loop.time())

    async def invoke(
        self,
        *,
        function_id: str,
        version_id: str,
        code: str,
        handler: str,
        workspace_id: str = "",
        settings_json: bytes,
        payload_json: bytes,
        timeout_ms: int,
        on_event: EventCallback | None = None,
        secrets: tuple[str, ...] = (),
    ) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, Any]]]:
        """Run one handler. Returns (raw result, streamed logs, request traces)."""
        if self.closed:
            raise RuntimeError("the worker pool is shut down")
        process = await self.worker_for(function_id, workspace_id).get_process()
        self.last_call_id += 1
        call = Call(
            id=self.last_call_id,
            workspace_id=workspace_id,
            function_id=function_id,
            version_id=version_id,
            code=code,
            handler=handler,
            settings_json=settings_json,
            payload_json=payload_json,
            timeout_ms=timeout_ms,
            on_event=on_event,
            secrets=secrets,
            loop=process.loop,
        )
        process.send_call(call)
        try:
            raw = await call.future
        except asyncio.CancelledError:
            # The caller stopped waiting: the worker ends the call (its timers and
            # fetches too) instead of running it to its time limit.
            process.cancel_call(call)
            raise
        return raw, call.logs, call.requests

    async def request(self, function_id: str, message: dict[str, Any], reply: str) -> Any:
        """Send a control message (ping, drop) and wait for its reply type."""
        process = await self.worker_for(function_id).get_process()
        loop = process.loop
        fut: asyncio.Future[Any] = loop.create_future()
        original = process._on_line

        def on_line(line: bytes) -> None:
            msg = json.loads(line)
            if msg.get("t") == reply and not fut.done():
                fut.set_result(msg)
            else:
                original(line)

        process._on_line = on_line  # type: ignore[method-assign]  # this process's, until the reply
        try:
            process.write(json.dumps(message).encode() + b"\n")
            return await asyncio.wait_for(fut, 5.0)
        finally:
            process._on_line = original  # type: ignore[method-assign]  # back to its own

    def pids(self) -> list[int]:
        workers = self.placement.all_workers()
        return [w.process.proc.pid for w in workers if w.process is not None]

    async def shutdown(self) -> None:
        self.closed = True
        await asyncio.gather(*(w.stop() for w in self.placement.all_workers()))
        # Processes already detached from their slot (killed, or whose reader ended)
        # must not outlive the pool either.
        for process in list(self.processes):
            process.kill(failure("retry", "WorkerStopped", "the runtime is shutting down"))
            if process.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(process.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.proc.wait(), 2.0)
            live_pids.discard(process.proc.pid)
        self.processes.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None
        loop = asyncio.get_running_loop()
        if _pools.get(loop) is self:
            del _pools[loop]


async def _stop_partition(partition: Partition) -> None:
    await asyncio.gather(*(w.stop() for w in partition.workers))


# One pool per event loop; pools of loops that were closed without a shutdown are
# reaped (their processes killed) the next time a pool is asked for.
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WorkerPool] = (
    weakref.WeakKeyDictionary()
)
_config_override: PoolConfig | None = None


def configure(config: PoolConfig | None) -> None:
    """Use this configuration for pools created from now on (None: Django settings)."""
    global _config_override
    _config_override = config


def get_pool() -> WorkerPool:
    """The worker pool of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None or pool.closed:
        _reap_closed_loops()
        pool = WorkerPool(_config_override or PoolConfig.from_settings())
        _pools[loop] = pool
    return pool


async def shutdown_pool() -> None:
    """Stop the pool of the running loop, if it has one."""
    pool = _pools.get(asyncio.get_running_loop())
    if pool is not None:
        await pool.shutdown()


def _reap_closed_loops() -> None:
    for loop, pool in list(_pools.items()):
        if loop.is_closed():
            pool.closed = True
            for pid in pool.pids():
                kill_pid(pid)
            _pools.pop(loop, None)
