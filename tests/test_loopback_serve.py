"""The benchmarks' server and the tests' stand-in destinations
(runtime/management/loopback_serve.py)."""

from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.management.loopback_serve import LoopbackHTTPServer, free_port, serving

CONNECTIONS = 40


def test_the_server_stops_with_the_benchmark(tmp_path: Path) -> None:
    env = os.environ | {"SQLITE_PATH": str(tmp_path / "bench.sqlite3")}
    env.pop("DATABASE_URL", None)
    port = free_port()
    with serving(env, port), socket.create_connection(("127.0.0.1", port), 5):
        pass  # it answers while the benchmark runs
    # `manage.py serve` runs Daphne as a child: that one must be gone too, not left
    # listening (and using memory and CPU) after every run of `make bench`.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), 5).close()


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_stand_in_destination_keeps_connections_waiting_while_it_is_too_busy_to_accept() -> None:
    # A CI machine busy with the delivery workers starves the test process that serves a
    # stand-in: with Python's backlog of 5, the kernel reset the connections over it, and
    # a function's fetch failed (a FetchError, bad_request: an event discarded).
    httpd = LoopbackHTTPServer(("127.0.0.1", 0), _Ok)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    with ThreadPoolExecutor(CONNECTIONS) as senders:
        sent = [
            senders.submit(httpx.post, url, json={"n": n}, timeout=20) for n in range(CONNECTIONS)
        ]
        time.sleep(2)  # nothing accepts meanwhile
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            statuses = [future.result().status_code for future in sent]
        finally:
            httpd.shutdown()
            httpd.server_close()
    assert statuses == [200] * CONNECTIONS
