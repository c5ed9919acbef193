"""A worker's `fetch` requests, served for the call that made them.

Each request waits for a fetch slot (its call's share, then a pool slot shared fairly
between workspaces and functions: runtime/fetch_slots.py), is carried out by
runtime/fetch.py under the pool's egress policy, leaves a trace on its call, and is
answered to the worker on the same pipe.
Nothing outlives its invocation: the task is cancelled when the call ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime import limits
from runtime.calls import Call
from runtime.egress import current_function
from runtime.fetch import FetchFailed, parse_spec, perform_fetch

if TYPE_CHECKING:
    from runtime.worker_process import WorkerProcess


def start_fetch(process: WorkerProcess, call: Call, request_id: int, raw: dict[str, Any]) -> None:
    """Serve request ``request_id`` of ``call`` (a fetch description from the worker)."""
    if call.fetch_tasks is None:
        call.fetch_tasks = set()
    task = process.worker.pool.spawn(_fetch(process, call, request_id, raw))
    call.fetch_tasks.add(task)
    task.add_done_callback(call.fetch_tasks.discard)


async def _fetch(process: WorkerProcess, call: Call, request_id: int, raw: Any) -> None:
    pool = process.worker.pool
    current_function.set(call.function_id)  # this task's own context (DNS quota)
    try:
        spec = parse_spec(raw)
    except (FetchFailed, ValueError) as exc:
        result: dict[str, Any] = {"error": str(exc), "code": "EINVAL"}
        trace = None
    else:
        # Waited for until the call's deadline at most (Node answers Timeout then).
        # The task is also cancelled when the call ends, so nothing outlives its
        # invocation.
        slots = pool.fetch_slots
        slot = (call.id, call.workspace_id, call.function_id)
        if not await slots.acquire(*slot, deadline=call.deadline - limits.KILL_GRACE_S):
            return
        try:
            if call.future.done() or not process.alive:
                return
            # Computed once a slot is held: a little past the function's
            # deadline, so that a slow request ends as the invocation's Timeout
            # (answered by Node) rather than as a FetchError.
            time_left = (
                call.deadline - limits.KILL_GRACE_S - process.loop.time() + limits.FETCH_OVERRUN_S
            )
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
            slots.release(*slot)
    if trace is not None and len(call.requests) < limits.MAX_REQUESTS:
        call.requests.append(trace)
        call.emit({"type": "request", **trace})
    if process.alive and call.id in process.pending:
        process.answer_fetch(call, request_id, result)
