"""``manage.py serve``: one socket for its web processes, bound before they start, and its
delivery workers."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from functions_ide.management.commands.serve import MULTIPLE_WEB_PROCESSES_NEED_REDIS
from runtime.management.loopback_serve import free_port, serving


def test_several_web_processes_need_redis() -> None:
    with override_settings(REDIS_URL=""), pytest.raises(CommandError) as refused:
        call_command("serve", "--web-processes", "2", "--port", str(free_port()))
    assert str(refused.value) == MULTIPLE_WEB_PROCESSES_NEED_REDIS


def test_a_port_in_use_is_said_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError) as refused:
            call_command("serve", "--port", str(port))
    assert str(refused.value) == f"Cannot listen on 127.0.0.1:{port}: Address already in use."


@contextlib.contextmanager
def _redis_url() -> Iterator[str]:
    """CI's Redis when the suite runs with one; else a redis-server of the test's own."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _children(pid: int) -> list[str]:
    listed = subprocess.run(
        ["ps", "--ppid", str(pid), "-o", "args="], capture_output=True, text=True, check=True
    )
    return listed.stdout.splitlines()


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL") and shutil.which("redis-server") is None,
    reason="several web processes need Redis (REDIS_URL, or redis-server to start one)",
)
def test_web_processes_share_one_port_and_workers_run_beside_them(tmp_path: Path) -> None:
    env = os.environ | {"SQLITE_PATH": str(tmp_path / "serve.sqlite3")}
    env.pop("DATABASE_URL", None)  # a database of the test's own
    port = free_port()
    with _redis_url() as redis_url:
        env["REDIS_URL"] = redis_url
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)
        with serving(env, port, "--web-processes", "2", "--workers", "2") as serve:
            children = _children(serve.pid)
            answers = [
                httpx.post(f"http://127.0.0.1:{port}/v1/track", auth=("wrong", ""), json={})
                for _ in range(12)  # a connection each: the kernel spreads them
            ]
    assert sum("daphne --fd" in child for child in children) == 2
    assert sum(child.endswith("manage.py deliver") for child in children) == 2
    assert {answer.status_code for answer in answers} == {401}
