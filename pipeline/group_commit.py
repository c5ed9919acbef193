"""Group commit: the requests that arrive while one group is being stored are stored
together next, in one call of ``store`` (one transaction, one commit), instead of one
transaction each. A commit costs about as much for one event as for a hundred, so under
load the commits per second stay few while the requests per second grow; with a single
request in flight it is stored at once, with no waiting for company.

``store`` runs on the thread that Django's thread-sensitive code runs on (asgiref's
``sync_to_async(thread_sensitive=True)``): in a server that is one thread, whose
database connection stays open between groups; under a test's ``async_to_sync`` it is
the test's own thread, whose connection holds the test's transaction.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from asgiref.sync import sync_to_async

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


@dataclass
class _Queue(Generic[Item]):
    waiting: list[tuple[Item, asyncio.Future[object]]] = field(default_factory=list)
    flusher: asyncio.Task[None] | None = None


class GroupCommit(Generic[Item, Outcome]):
    """``await submit(item)`` is the outcome of ``item`` in the ``store`` call of its
    group; ``store`` returns one outcome per item, in order, and an outcome that is an
    exception is raised to that item's submitter."""

    def __init__(
        self,
        store: Callable[[Sequence[Item]], Sequence[Outcome | BaseException]],
        *,
        size_of: Callable[[Item], int],
        max_group_size: int,
    ) -> None:
        self._store = sync_to_async(store, thread_sensitive=True)
        self._size_of = size_of
        self._max_group_size = max_group_size
        # Futures belong to an event loop: each loop has a queue of its own.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[Item]] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: Item) -> Outcome:
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _Queue())
        done: asyncio.Future[object] = loop.create_future()
        queue.waiting.append((item, done))
        if queue.flusher is None:
            # A task of its own, not the submitter's: a sender that goes away (its request
            # cancelled) must not stop the storing of the others' events.
            queue.flusher = loop.create_task(self._flush(queue))
        return await done  # type: ignore[return-value]

    def _next_group(self, queue: _Queue[Item]) -> list[tuple[Item, asyncio.Future[object]]]:
        """The oldest waiting items up to ``max_group_size`` (at least one)."""
        total, count = 0, 0
        for item, _ in queue.waiting:
            total += self._size_of(item)
            if count and total > self._max_group_size:
                break
            count += 1
        group = queue.waiting[:count]
        del queue.waiting[:count]
        return group

    async def _flush(self, queue: _Queue[Item]) -> None:
        try:
            while queue.waiting:
                group = self._next_group(queue)
                try:
                    outcomes: Sequence[object] = await self._store([item for item, _ in group])
                except Exception as exc:  # the group's items fail with it
                    outcomes = [exc] * len(group)
                if len(outcomes) != len(group):
                    mismatch = RuntimeError(f"store gave {len(outcomes)} outcomes for {len(group)}")
                    outcomes = [mismatch] * len(group)
                for (_, done), outcome in zip(group, outcomes, strict=True):
                    if done.done():  # its sender went away
                        continue
                    if isinstance(outcome, BaseException):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
        finally:
            queue.flusher = None
            for _, done in queue.waiting:  # only when this task itself was cancelled
                if not done.done():
                    done.cancel()
            queue.waiting.clear()
