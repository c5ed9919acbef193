"""The benchmarks' server (functions_ide/loopback_serve.py): it stops with them."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from functions_ide.loopback_serve import free_port, serving


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
