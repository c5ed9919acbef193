"""Fixtures for the runtime tests: real Node workers, no mocks of the runtime.

Each test module shares one worker pool on a module-scoped event loop (starting
Node costs ~70 ms a process); tests use a fresh function id so that they do not
see each other's globals.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import pytest_asyncio

from runtime.egress import EgressPolicy
from runtime.management.loopback_serve import LoopbackHTTPServer
from runtime.pool import PoolConfig, WorkerPool
from runtime.services import InvocationResult, function_invoke
from tests.runtime.vendor import Vendor, vendor_server


def make_pool(*, allow: list[str] | None = None, workers: int = 2, **kwargs: Any) -> WorkerPool:
    return WorkerPool(
        PoolConfig(workers=workers, egress=EgressPolicy.from_allowlist(allow or []), **kwargs)
    )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    p = make_pool()
    yield p
    await p.shutdown()


async def run(
    pool: WorkerPool,
    code: str,
    payload: dict[str, Any] | list[dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
    *,
    function_id: str | None = None,
    version_id: str = "v1",
    **kwargs: Any,
) -> InvocationResult:
    """Invoke ``code`` on ``payload`` (a track event by default) with a fresh function id."""
    return await function_invoke(
        code=code,
        settings=settings or {},
        payload=payload if payload is not None else {"type": "track", "event": "Signed Up"},
        function_id=function_id or f"fn_{uuid.uuid4().hex}",
        version_id=version_id,
        pool=pool,
        **kwargs,
    )


@contextlib.contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 for the duration of the block; yields its base URL."""
    httpd = LoopbackHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    """A loopback stand-in for a vendor's API (tests/runtime/vendor.py)."""
    with vendor_server() as v:
        yield v
