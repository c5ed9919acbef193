"""A worker slot of the pool: starts its Node process on demand (the flags, the
memory limits, the empty environment), sends calls again after a kill, and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
from collections.abc import Callable
from typing import TYPE_CHECKING

from runtime import limits
from runtime.calls import Call, failure
from runtime.config import JS_DIR, node_binary
from runtime.worker_process import WorkerProcess, live_pids

if TYPE_CHECKING:
    from runtime.pool import WorkerPool


class Worker:
    """A slot in the pool: (re)starts its Node process on demand."""

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.process: WorkerProcess | None = None
        self._starting: asyncio.Future[WorkerProcess] | None = None

    def detach(self, process: WorkerProcess) -> None:
        if self.process is process:
            self.process = None

    def retry(self, call: Call) -> None:
        """Send ``call`` again, on this slot's next process, with its time reset."""
        call.restart()

        async def resend() -> None:
            try:
                process = await self.get_process()
            except Exception as exc:  # no process could start: answer, never hang
                call.finish(failure("retry", "WorkerCrashed", f"no worker could start: {exc}"))
                return
            process.send_call(call)

        self.pool.spawn(resend())

    async def get_process(self) -> WorkerProcess:
        if self.process is not None:
            return self.process
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        starting = self._starting
        try:
            return await asyncio.shield(starting)
        finally:
            if self._starting is starting and starting.done():
                self._starting = None

    async def _start(self) -> WorkerProcess:
        config = self.pool.config
        worker_config = {
            "maxContexts": config.max_contexts,
            "maxLogBytes": limits.MAX_LOG_BYTES,
            "maxLogLines": limits.MAX_LOG_LINES,
            "maxResultBytes": limits.MAX_RESULT_BYTES,
            "maxFetches": limits.MAX_REQUESTS,
            "maxCacheEntries": limits.MAX_CACHE_ENTRIES,
            "memoryMb": config.memory_mb,
        }
        script = config.worker_script
        readable = [f"--allow-fs-read={JS_DIR}{os.sep}"]
        if script.parent != JS_DIR:
            readable.append(f"--allow-fs-read={script.parent}{os.sep}")
        proc = await asyncio.create_subprocess_exec(
            node_binary(),
            "--permission",
            *readable,
            "--disallow-code-generation-from-strings",
            f"--max-old-space-size={config.memory_mb}",
            "--max-semi-space-size=16",
            "--stack-size=984",
            str(script),
            json.dumps(worker_config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={},  # nothing from our environment (secrets!) reaches user code
            cwd=str(JS_DIR),
            start_new_session=True,  # a signal sent to our group does not reach it
            preexec_fn=_limit_data(config.memory_mb),
        )
        live_pids.add(proc.pid)
        process = WorkerProcess(self, proc)
        self.pool.processes.add(process)
        self.process = process
        return process

    async def stop(self) -> None:
        process = self.process
        self.process = None
        if process is None:
            return
        process.alive = False
        stdin = process.proc.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(process.proc.wait(), 2.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.proc.kill()
            await process.proc.wait()
        for task in (process.reader, process.err_reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        live_pids.discard(process.proc.pid)
        process.fail_pending(failure("retry", "WorkerStopped", "the runtime is shutting down"))


def _limit_data(memory_mb: int) -> Callable[[], None]:
    limit = max(limits.DATA_LIMIT_MIN_MB, memory_mb * limits.DATA_LIMIT_FACTOR) * 1024 * 1024

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    return apply
