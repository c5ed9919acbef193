"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections on loopback,
each sending prepared requests one after the other and timing the answers.

A general client (httpx) spends more CPU per request than the server under test, and on
a 2-core machine the client's cost is taken from the server: this one writes the bytes it
was given and reads a status line, headers and a Content-Length body, nothing more.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadResult:
    elapsed_s: float
    latencies_ms: list[float] = field(default_factory=list)


class UnexpectedAnswer(Exception):
    """The server answered something else than the status the load expects."""


def post_request(*, host: str, path: str, body: bytes, write_key: str) -> bytes:
    """The bytes of one keep-alive ``POST`` with a JSON body and Basic auth."""
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def load_run(
    *,
    port: int,
    requests: int,
    connections: int,
    request_bytes: Callable[[int], bytes],
    expect_status: int = 200,
) -> LoadResult:
    """Send ``requests`` requests (``request_bytes(i)`` for the i-th) over ``connections``
    keep-alive connections to 127.0.0.1:``port``; every answer must be ``expect_status``."""
    counter = iter(range(requests))
    result = LoadResult(elapsed_s=0.0)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                payload = request_bytes(i)
                started = time.perf_counter()
                writer.write(payload)
                status, body = await _answer(reader)
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                if status != expect_status:
                    raise UnexpectedAnswer(f"answered {status}: {body[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - started
    return result


async def ok_application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The least an ASGI application can answer (``{"success": true}`` to everything): on
    the same server, the ceiling that a benchmark's figures stand beside."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"16")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"success":true}'})
