"""``manage.py serve`` in a child process on a free loopback port: what the benchmarks
measure against (the real server, as ``make run`` starts it); and the HTTP server of the
stand-in destinations that benchmarks and tests deliver to."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A stand-in destination's server: a thread per request, none kept at exit. Its
    listen backlog is the system's, not Python's 5: on a busy machine, connections beyond
    the backlog are reset by the kernel, and a function's fetch fails (``ReadError``)."""

    request_queue_size = socket.SOMAXCONN
    daemon_threads = True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers_http(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), 1) as connection:
        connection.settimeout(1)
        connection.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        return connection.recv(5) == b"HTTP/"


def _wait_for_answer(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Until the server answers HTTP: ``serve`` binds its socket before its web processes
    start, so a connection is accepted long before anything answers it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError("the server exited before it answered")
        with contextlib.suppress(OSError):
            if _answers_http(port):
                return
        time.sleep(0.1)
    raise CommandError(f"the server did not answer on port {port} within {seconds:.0f} s")


@contextlib.contextmanager
def serving(env: dict[str, str], port: int, *serve_args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``manage.py serve`` with ``env`` on ``port`` until the block ends; its process."""
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    serve = [*manage, "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args]
    with serving_command(serve, env, port) as process:
        yield process


@contextlib.contextmanager
def serving_command(
    command: list[str], env: dict[str, str], port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """A server ``command`` (``manage.py serve``, or Daphne itself) answering on ``port``
    until the block ends; its process."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_answer(port, process)
        yield process
    finally:
        # As systemd stops it: `serve` stops its children (Daphne, workers) before it exits.
        # Not SIGINT: a process started in the background by a shell ignores it, and so
        # would the server, left running after the benchmark or test.
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
