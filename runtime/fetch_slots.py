"""The pool's fetch slots, shared fairly: between workspaces, then between functions.

Every fetch holds a slot while it runs. A call holds at most
MAX_FETCHES_IN_FLIGHT_PER_CALL, a function MAX_FETCHES_IN_FLIGHT_PER_FUNCTION, and
the pool has MAX_CONCURRENT_FETCHES shared slots. Those caps alone let four
functions with slow requests hold all the shared slots, and a fifth function's one
fetch waited until its call timed out. So:

- a workspace's fair share is the shared slots divided by the workspaces that hold
  or want slots, and a function's, its workspace's share divided by the workspace's
  functions that hold or want slots;
- when the shared slots are all taken, a fetch whose workspace and function are both
  under their share, and whose workspace holds fewer than FETCH_RESERVE_PER_WORKSPACE
  slots, gets one of the FETCH_RESERVE slots at once (so a newcomer does not wait for
  other tenants' slow requests, and the reserve serves several newcomers);
- a slot released goes to the waiting fetch whose workspace holds the fewest slots,
  then whose function does, the oldest first; while the reserve is in use, only to
  one that may use the reserve, so that it drains back.

At most MAX_CONCURRENT_FETCHES + FETCH_RESERVE fetches are in flight. A fetch waits
first for its call's share, then for a pool slot, each until its deadline at most.
Pure accounting on one event loop: no I/O, no locks.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque

from runtime import limits


class _Function:
    __slots__ = ("held", "waiters")

    def __init__(self) -> None:
        self.held = 0
        self.waiters: deque[tuple[int, asyncio.Future[None]]] = deque()  # (order, future)


class _Workspace:
    __slots__ = ("functions", "held")

    def __init__(self) -> None:
        self.held = 0
        self.functions: dict[str, _Function] = {}  # those holding or wanting slots


class FetchSlots:
    """The fetch slots of one pool (one event loop)."""

    def __init__(
        self,
        *,
        shared: int | None = None,
        reserve: int | None = None,
        reserve_per_workspace: int | None = None,
        per_call: int | None = None,
        per_function: int | None = None,
    ) -> None:
        self.shared = limits.MAX_CONCURRENT_FETCHES if shared is None else shared
        self.reserve = limits.FETCH_RESERVE if reserve is None else reserve
        self.reserve_per_workspace = (
            limits.FETCH_RESERVE_PER_WORKSPACE
            if reserve_per_workspace is None
            else reserve_per_workspace
        )
        self.per_call = limits.MAX_FETCHES_IN_FLIGHT_PER_CALL if per_call is None else per_call
        self.per_function = (
            limits.MAX_FETCHES_IN_FLIGHT_PER_FUNCTION if per_function is None else per_function
        )
        self.in_use = 0  # pool slots held (shared and reserve)
        self._workspaces: dict[str, _Workspace] = {}  # those holding or wanting slots
        self._calls: dict[int, int] = {}  # call id -> its slots (held or being sought)
        self._call_waiters: dict[int, deque[asyncio.Future[None]]] = {}
        self._order = itertools.count()

    @property
    def idle(self) -> bool:
        """Nothing held, nobody waiting."""
        return not (self.in_use or self._workspaces or self._calls or self._call_waiters)

    def held_by(self, workspace_id: str, function_id: str | None = None) -> int:
        """Slots held by a workspace (or one of its functions)."""
        workspace = self._workspaces.get(workspace_id)
        if workspace is None:
            return 0
        if function_id is None:
            return workspace.held
        function = workspace.functions.get(function_id)
        return 0 if function is None else function.held

    async def acquire(
        self, call_id: int, workspace_id: str, function_id: str, deadline: float
    ) -> bool:
        """Take a slot for a fetch of call ``call_id``, waiting until ``deadline`` (loop
        time) at most. False if the deadline passed first; pair True with :meth:`release`."""
        if not await self._call_slot(call_id, deadline):
            return False
        try:
            granted = await self._pool_slot(workspace_id, function_id, deadline)
        except BaseException:
            self._release_call(call_id)
            raise
        if not granted:
            self._release_call(call_id)
        return granted

    def release(self, call_id: int, workspace_id: str, function_id: str) -> None:
        """Give back a slot taken by :meth:`acquire`."""
        workspace = self._workspaces[workspace_id]
        function = workspace.functions[function_id]
        function.held -= 1
        workspace.held -= 1
        self.in_use -= 1
        self._forget_if_idle(workspace_id, function_id)
        self._dispatch()
        self._release_call(call_id)

    # ------------------------------------------------------------------ per call
    async def _call_slot(self, call_id: int, deadline: float) -> bool:
        held = self._calls.get(call_id, 0)
        if held < self.per_call and call_id not in self._call_waiters:
            self._calls[call_id] = held + 1
            return True
        future = asyncio.get_running_loop().create_future()
        self._call_waiters.setdefault(call_id, deque()).append(future)
        try:
            async with asyncio.timeout_at(deadline):
                await future  # handed over by _release_call, count unchanged
        except BaseException as exc:
            if future.done() and not future.cancelled():
                self._release_call(call_id)  # handed over as we gave up: pass it on
            else:
                queue = self._call_waiters.get(call_id)  # (gone once its last one left)
                if queue is not None and future in queue:
                    queue.remove(future)
                    if not queue:
                        del self._call_waiters[call_id]
            if isinstance(exc, TimeoutError):
                return False
            raise
        return True

    def _release_call(self, call_id: int) -> None:
        queue = self._call_waiters.get(call_id)
        while queue:
            future = queue.popleft()
            if not queue:
                del self._call_waiters[call_id]
            if not future.done():
                future.set_result(None)
                return
        if self._calls[call_id] <= 1:
            del self._calls[call_id]
        else:
            self._calls[call_id] -= 1

    # ------------------------------------------------------------------ pool-wide
    async def _pool_slot(self, workspace_id: str, function_id: str, deadline: float) -> bool:
        workspace = self._workspaces.get(workspace_id)
        if workspace is None:
            workspace = self._workspaces[workspace_id] = _Workspace()
        function = workspace.functions.get(function_id)
        if function is None:
            function = workspace.functions[function_id] = _Function()
        # Whoever waits could not be granted a slot then, and would be now if it could
        # (_dispatch runs whenever a slot frees or a share grows): no queue jumping.
        if self._grantable(workspace, function):
            self._grant(workspace, function)
            return True
        future = asyncio.get_running_loop().create_future()
        entry = (next(self._order), future)
        function.waiters.append(entry)
        try:
            async with asyncio.timeout_at(deadline):
                await future  # granted by _dispatch, counts already taken
        except BaseException as exc:
            if future.done() and not future.cancelled():
                # Granted as we gave up: give it back (release dispatches it again).
                workspace.held -= 1
                function.held -= 1
                self.in_use -= 1
            elif entry in function.waiters:  # (not if _dispatch dropped it, cancelled)
                function.waiters.remove(entry)
            self._forget_if_idle(workspace_id, function_id)
            # One fewer requester: the others' shares grew, and they may use the reserve.
            self._dispatch()
            if isinstance(exc, TimeoutError):
                return False
            raise
        return True

    def _grantable(self, workspace: _Workspace, function: _Function) -> bool:
        if function.held >= self.per_function:
            return False
        if self.in_use < self.shared:
            return True
        if self.in_use >= self.shared + self.reserve:
            return False
        # The reserve: for a workspace under its share (and under its part of the
        # reserve), and a function under its share of the workspace's.
        share = self.shared / len(self._workspaces)
        under_share = workspace.held < min(share, self.reserve_per_workspace)
        return under_share and function.held < share / len(workspace.functions)

    def _grant(self, workspace: _Workspace, function: _Function) -> None:
        workspace.held += 1
        function.held += 1
        self.in_use += 1

    def _dispatch(self) -> None:
        """Hand free slots to waiting fetches: the least-served workspace first, then
        its least-served function, the oldest fetch first."""
        while self.in_use < self.shared + self.reserve:
            best: tuple[tuple[int, int, int], _Workspace, _Function] | None = None
            for workspace in self._workspaces.values():
                for function in workspace.functions.values():
                    if function.waiters and self._grantable(workspace, function):
                        rank = (workspace.held, function.held, function.waiters[0][0])
                        if best is None or rank < best[0]:
                            best = (rank, workspace, function)
            if best is None:
                return
            _, workspace, function = best
            _, future = function.waiters.popleft()
            if not future.done():  # else cancelled, its task not yet told: skip it
                self._grant(workspace, function)
                future.set_result(None)

    def _forget_if_idle(self, workspace_id: str, function_id: str) -> None:
        workspace = self._workspaces.get(workspace_id)
        if workspace is None:
            return
        function = workspace.functions.get(function_id)
        if function is None or function.held or function.waiters:
            return
        del workspace.functions[function_id]
        if not workspace.functions:
            del self._workspaces[workspace_id]
