"""The threads a delivery worker loads and records on (pipeline/database_threads.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections

from pipeline.database_threads import (
    DATABASE_THREADS,
    DatabaseThreads,
    database_threads_default,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def djangos_thread_closed_after() -> AsyncIterator[None]:
    yield
    # What the test opened on Django's database thread (the test database is dropped at
    # the end: PostgreSQL refuses while a session is connected to it).
    await sync_to_async(connections.close_all)()


def _where() -> tuple[int, Any]:
    """This thread, and its connection (Django's, per thread), used (opened if need be)."""
    wrapper = connections["default"]
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
    return threading.get_ident(), wrapper


@pytest.mark.asyncio
async def test_without_threads_the_work_runs_on_djangos_database_thread() -> None:
    djangos = await sync_to_async(_where)()
    assert await DatabaseThreads(0).run(_where) == djangos


@pytest.mark.asyncio
async def test_a_thread_keeps_its_connection_until_closed() -> None:
    threads = DatabaseThreads(2)
    first_thread, first = await threads.run(_where)
    again_thread, again = await threads.run(_where)
    djangos, _ = await sync_to_async(_where)()
    assert first_thread == again_thread != djangos  # the least busy: the first, when idle
    assert first is again and first.connection is not None
    await threads.close()
    # Closed on its own thread (Django never closes SQLite's in-memory test database).
    assert first.connection is None or first.is_in_memory_db()
    assert await threads.run(threading.get_ident) == djangos  # closed: Django's thread


@pytest.mark.asyncio
async def test_work_on_several_threads_runs_at_once() -> None:
    threads = DatabaseThreads(2)
    # Each waits for the other: run one after the other, the barrier breaks.
    barrier = threading.Barrier(2, timeout=5)

    def meet() -> int:
        _where()
        barrier.wait()
        return threading.get_ident()

    try:
        idents = await asyncio.gather(threads.run(meet), threads.run(meet))
    finally:
        await threads.close()
    assert len(set(idents)) == 2


def test_threads_are_opened_only_where_the_database_takes_concurrent_writers() -> None:
    expected = 0 if connection.vendor == "sqlite" else DATABASE_THREADS
    assert database_threads_default() == expected
