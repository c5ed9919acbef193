"""Where a delivery worker's database work runs: threads with a connection each.

A worker's rounds overlap (pipeline/delivery.py), but their database work went through
Django's one database thread, one statement at a time. On PostgreSQL most of a round's
database time is the server's, so while one round's results were being recorded, the
worker waited, and the server, idle between statements, did nothing for another round:
the busiest worker used about half a core in Python and half in PostgreSQL, the machine's
second core unused. On connections of their own, one round records while another loads
its events. SQLite takes one writer at a time (a second one sleeps in its busy handler),
so there the work stays on Django's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection, connections

# Connections a worker opens beside Django's own thread's, on a database that takes
# concurrent writers: more rounds than this rarely wait for the database at once.
DATABASE_THREADS = 3

P = ParamSpec("P")
R = TypeVar("R")


def database_threads_default() -> int:
    """DATABASE_THREADS where the database takes concurrent writers, else none."""
    return 0 if connection.vendor == "sqlite" else DATABASE_THREADS


class DatabaseThreads:
    """``size`` threads, each with its database connection for its life (closed by
    ``close``); none: everything runs on Django's one database thread."""

    def __init__(self, size: int = 0) -> None:
        self.threads = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"delivery-db-{n}")
            for n in range(size)
        ]
        self.busy = [0] * size

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``function(*args, **kwargs)`` on the least busy thread (its own transactions)."""
        if not self.threads:
            return await sync_to_async(function)(*args, **kwargs)
        n = self.busy.index(min(self.busy))
        self.busy[n] += 1
        try:
            run = sync_to_async(function, thread_sensitive=False, executor=self.threads[n])
            return await run(*args, **kwargs)
        finally:
            self.busy[n] -= 1

    async def close(self) -> None:
        """Close each thread's connection, on its thread, and end the threads."""
        for thread in self.threads:
            await asyncio.wrap_future(thread.submit(connections.close_all))
            thread.shutdown(wait=False)
        self.threads, self.busy = [], []
