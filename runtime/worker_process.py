"""A running Node worker process: how it is spoken to, watched and killed.

Each worker (runtime/js/worker.js) keeps one `vm` context per function version.
Python and Node exchange JSON lines over stdin/stdout; writes are coalesced per
event-loop tick so that many invocations travel in one message under load. A
:class:`WorkerProcess` is one running process and the calls in flight on it; the
slot that starts it (flags, limits, environment) is runtime/worker_slot.py.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import math
import os
import re
import signal
from typing import TYPE_CHECKING, Any

from runtime import limits
from runtime.calls import Call, check_result, failure, is_log, without_lone_surrogates
from runtime.config import JS_DIR, WORKER_JS
from runtime.fetch_bridge import start_fetch

if TYPE_CHECKING:
    from runtime.worker_slot import Worker

__all__ = ["JS_DIR", "WORKER_JS", "WorkerProcess", "kill_pid", "live_pids"]

logger = logging.getLogger(__name__)

# Every worker process started and not yet reaped, killed at exit whatever happened.
live_pids: set[int] = set()

_CONTROL_REPLIES = frozenset({"ready", "pong", "dropped"})
# The call a line is about, read from its first bytes (the worker writes them so):
# a line Python cannot parse blames that call only, never the worker.
_CALL_LINE = re.compile(rb'\{"t":"[rlf]","i":(\d{1,18})[,}]')


def _finite(text: str) -> float:
    # A reply is strict JSON: 1e999 (JSON.rawJSON) must not become infinity, which
    # no strict JSON writer (the database, the websocket, stdout) accepts.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


# One decoder for every line: json.loads with options builds a new one per call, a
# twentieth of a busy delivery worker's event loop.
_decoder = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)


def _parse(line: bytes) -> Any:
    # The worker writes UTF-8 (what json.loads would detect), lone surrogates escaped.
    return _decoder.decode(line.decode("utf-8", "surrogatepass"))


class WorkerProcess:
    """One running Node process and the calls in flight on it."""

    def __init__(self, worker: Worker, proc: asyncio.subprocess.Process) -> None:
        self.worker = worker
        self.proc = proc
        self.pending: dict[int, Call] = {}
        self.loaded: set[str] = set()  # context keys this process has (probably) loaded
        self.out: list[bytes] = []
        self.flush_scheduled = False
        self.stderr_tail = b""
        self.alive = True
        # The heartbeat in flight, until it comes back: (id of the first call sent
        # after it, loop time it was sent). Sent with the first call after an idle
        # spell (see limits.HEARTBEAT_GRACE_S) and when a call is overdue
        # (_check_deadlines).
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

    def send_call(self, call: Call) -> None:
        if not self.pending and self.heartbeat is None:
            # Idle until now: check that the worker is really free.
            self.write(b'{"t":"hb"}\n')
            self.heartbeat = (call.id, self.loop.time())
        self.pending[call.id] = call
        with_code = call.key not in self.loaded
        if with_code:
            # Later calls in the same batch find the context loaded by this one. The
            # worker reports every context it drops (failed loads included), so this
            # mirrors its contexts; bounded anyway (sending code again is always safe).
            if len(self.loaded) >= 2 * self.worker.pool.config.max_contexts:
                self.loaded.clear()
            self.loaded.add(call.key)
        self.write(call.message(with_code=with_code))
        if self.watchdog is None:
            self.watchdog = self.loop.call_later(limits.WATCHDOG_INTERVAL_S, self._check_deadlines)

    def cancel_call(self, call: Call) -> None:
        """Stop a call nobody waits for any more; what the worker still sends for it is
        ignored."""
        if self.pending.pop(call.id, None) is None:
            return
        call.finish(failure("timeout", "Cancelled", "the run was cancelled"))
        if self.alive:
            self.write(b'{"t":"x","i":%d}\n' % call.id)

    def answer_fetch(self, call: Call, request_id: int, result: dict[str, Any]) -> None:
        header = b'{"t":"f","i":%d,"q":%d}\t' % (call.id, int(request_id))
        self.write(header + json.dumps(result, separators=(",", ":")).encode() + b"\n")

    # ------------------------------------------------------------------ reading
    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        buffer = bytearray()
        try:
            while True:
                chunk = await stdout.read(limits.READ_CHUNK)
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
                if len(buffer) > limits.MAX_LINE_BYTES:
                    self._protocol_error("a line longer than the limit")
                    return
        finally:
            await self._on_exit()

    def _handle_line(self, line: bytes) -> bool:
        """Handle one line; False when the worker broke the protocol (it was killed)."""
        try:
            self._on_line(line)
        except Exception as exc:  # a worker must never stop the reader
            what = f"{type(exc).__name__}: {exc}"[:200]
            if self._blame_call(line, what):
                return True
            self._protocol_error(what)
            return False
        return True

    def _blame_call(self, line: bytes, what: str) -> bool:
        """A line about one call that cannot be read fails that call alone (its content
        came from the function: a number of 5,000 digits, say). True when it did."""
        match = _CALL_LINE.match(line)
        call = self.pending.get(int(match.group(1))) if match else None
        if call is None:
            return False
        logger.warning("runtime worker %s: a reply of call %s could not be read (%s)",
                       self.proc.pid, call.id, what)  # fmt: skip
        self._fail(
            call,
            failure(
                "bad_request",
                "InvalidResult",
                "the function's reply could not be read (it is not plain JSON: "
                "numbers must be finite and shorter than 4,300 digits)",
            ),
        )
        return True

    def _protocol_error(self, what: str) -> None:
        logger.error("runtime worker %s broke the protocol (%s): killed", self.proc.pid, what)
        self.kill(
            failure(
                "retry",
                "WorkerCrashed",
                "the worker sent an invalid message and was restarted; this invocation can "
                "be retried",
            )
        )

    async def _read_stderr(self) -> None:
        stderr = self.proc.stderr
        assert stderr is not None
        while chunk := await stderr.read(limits.READ_CHUNK):
            self.stderr_tail = (self.stderr_tail + chunk)[-4096:]

    def _on_line(self, line: bytes) -> None:
        # Everything is checked: a message of the wrong shape raises (and the worker is
        # killed); one for a call no longer in flight here is ignored.
        msg = _parse(line)
        if not isinstance(msg, dict):
            raise ValueError("not an object")
        if b"\\ud" in line or b"\\uD" in line:
            # JavaScript strings may hold lone surrogates (JSON.stringify escapes them
            # as \ud800): no UTF-8 encoder downstream (database, websocket, stdout)
            # accepts them, so they become U+FFFD here, once, for logs, results,
            # errors and fetch descriptions alike.
            msg = without_lone_surrogates(msg)
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
            result = check_result(msg)
            if call is not None:
                del self.pending[call_id]
                call.finish(result)
        elif kind == "l":
            entry = msg.get("x")
            if not is_log(entry):
                raise ValueError("invalid log")
            if call is not None and len(call.logs) < limits.MAX_LOG_LINES + 1:
                call.logs.append(entry)
                call.emit({"type": "log", **entry})
        elif kind == "f":
            request_id = msg.get("q")
            if type(request_id) is not int or not isinstance(msg.get("x"), dict):
                raise ValueError("invalid fetch")
            if call is not None:
                start_fetch(self, call, request_id, msg["x"])
        elif kind == "m":
            if call is not None:
                del self.pending[call_id]
                self.loaded.discard(call.key)
                self.send_call(call)
        else:
            raise ValueError("unknown message type")

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
        owed = [c for c in self.pending.values() if now > c.deadline + limits.ANSWER_GRACE_S]
        if owed:
            # Whatever the worker does (heartbeats included), a call is answered by its
            # deadline plus the grace: the worker that owes the answer is replaced.
            logger.error("runtime worker %s owes %d answer(s) past their deadline: killed",
                         self.proc.pid, len(owed))  # fmt: skip
            self.kill(
                failure(
                    "timeout",
                    "Timeout",
                    "the worker did not answer within the time limit and was restarted; "
                    "this invocation can be retried",
                ),
                overdue=owed,
            )
            return
        if self.heartbeat is None:
            if any(call.deadline < now for call in self.pending.values()):
                self.write(b'{"t":"hb"}\n')
                # Already past every grace: a free worker echoes at once.
                self.heartbeat = (
                    self.worker.pool.last_call_id + 1,
                    now - limits.HEARTBEAT_GRACE_S,
                )
        else:
            first_after, sent = self.heartbeat
            # Calls sent after the heartbeat cannot have started before Node echoed it.
            before = [call for call in self.pending.values() if call.id < first_after]
            latest = max((call.deadline for call in before), default=0.0)
            if now > max(latest, sent + limits.HEARTBEAT_GRACE_S):
                # Which call was running is known only if one alone could have been;
                # the others merely waited: retryable, never blamed.
                culprit = before[0] if len(before) == 1 else None
                self.kill(
                    failure(
                        "timeout",
                        "Timeout",
                        "the worker stopped responding and was restarted; "
                        "this invocation can be retried",
                    ),
                    culprit=culprit,
                )
                return
        self.watchdog = self.loop.call_later(limits.WATCHDOG_INTERVAL_S, self._check_deadlines)

    def kill(
        self,
        result: dict[str, Any],
        culprit: Call | None = None,
        overdue: list[Call] | None = None,
    ) -> None:
        """Kill the process. ``culprit`` (if known) times out; ``overdue`` calls get
        ``result``; the calls of other functions in flight here did nothing wrong: each
        is sent again, once, to a fresh worker before anything is reported (a second
        kill answers it ``result``)."""
        if not self.alive:
            return
        self.alive = False
        self.worker.detach(self)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        if culprit is not None:
            self._fail(
                culprit,
                failure(
                    "timeout", "Timeout", f"the function exceeded its time limit of "
                    f"{culprit.timeout_ms} ms",
                ),
            )  # fmt: skip
        blamed = {c.function_id for c in (overdue or [])}
        if culprit is not None:
            blamed.add(culprit.function_id)
        for call in overdue or []:
            self._fail(call, result)
        for call in list(self.pending.values()):
            if blamed and call.function_id not in blamed and not call.retried:
                self.pending.pop(call.id, None)
                self.worker.retry(call)
        self.fail_pending(result)

    def _fail(self, call: Call, result: dict[str, Any]) -> None:
        self.pending.pop(call.id, None)
        call.finish(result)

    def fail_pending(self, result: dict[str, Any]) -> None:
        """Answer every call still in flight here with ``result``."""
        for call in list(self.pending.values()):
            self._fail(call, result)

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
        live_pids.discard(self.proc.pid)
        self.worker.pool.processes.discard(self)
        if not self.alive:
            return
        self.alive = False
        self.worker.detach(self)
        self.fail_pending(self._exit_failure())

    def _exit_failure(self) -> dict[str, Any]:
        """What the calls in flight get when the process exited by itself."""
        oom = b"heap out of memory" in self.stderr_tail or b"Out of memory" in self.stderr_tail
        if oom and len(self.pending) == 1 and self.loaded <= {c.key for c in self.pending.values()}:
            # Only one call was running, and no other function's globals were held on
            # this worker: it is the one that used the memory.
            return failure(
                "bad_request",
                "MemoryLimitExceeded",
                f"the function used more than the memory limit of "
                f"{self.worker.pool.config.memory_mb} MB",
            )
        if oom:
            return failure(
                "retry",
                "MemoryLimitExceeded",
                "a function on the same worker exhausted its memory; the worker was restarted",
            )
        return failure("retry", "WorkerCrashed", "the worker process exited unexpectedly")


def kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    live_pids.discard(pid)


@atexit.register
def _kill_all() -> None:
    for pid in list(live_pids):
        kill_pid(pid)
