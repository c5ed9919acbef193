"""``manage.py deliver`` as a process: it idles on an empty queue and SIGTERM ends it
cleanly (after the round in flight), stopping its Node workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings


def test_sigterm_ends_an_idle_worker_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True, timeout=120)
    worker = subprocess.Popen([*manage, "deliver"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert worker.stderr is not None
        # Its first housekeeping is logged once its signal handlers are in place.
        seen = []
        for line in worker.stderr:
            seen.append(line)
            if "Delivery housekeeping" in line:
                break
        assert worker.poll() is None, "".join(seen)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert "Traceback" not in "".join(seen) + worker.stderr.read()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def _children_commands(pid: int) -> list[str]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [Path(f"/proc/{child}/cmdline").read_text().replace("\0", " ") for child in children]


def _start_serve(tmp_path: Path, *flags: str) -> subprocess.Popen[bytes]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True, timeout=120)
    return subprocess.Popen(
        [*manage, "serve", "--port", str(port), *flags], env=env, cwd=settings.BASE_DIR
    )


def _wait_for_children(pid: int, expect: int) -> None:
    """Until ``expect`` children run (waited for, not slept for: a busy machine starts
    them later)."""
    deadline = time.monotonic() + 30
    while len(_children_commands(pid)) < expect and time.monotonic() < deadline:
        time.sleep(0.1)


def _serve_children(tmp_path: Path, *flags: str, expect: int) -> list[str]:
    """The commands of serve's child processes once ``expect`` of them run, and a moment
    after."""
    serve = _start_serve(tmp_path, *flags)
    try:
        _wait_for_children(serve.pid, expect)
        time.sleep(0.5)  # time for one more child, if serve started too many
        return _children_commands(serve.pid)
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=20)


def test_serve_starts_one_delivery_worker(tmp_path: Path) -> None:
    children = _serve_children(tmp_path, expect=2)
    assert len(children) == 2
    assert [c for c in children if c.endswith("manage.py deliver ")] == [children[1]]


def test_serve_without_workers_starts_the_web_server_only(tmp_path: Path) -> None:
    children = _serve_children(tmp_path, "--no-workers", expect=1)
    assert len(children) == 1 and "daphne" in children[0]


def test_sigterm_stops_serve_and_its_children(tmp_path: Path) -> None:
    """As systemd or `docker stop` do: SIGTERM ends serve and everything it started."""
    serve = _start_serve(tmp_path)
    try:
        _wait_for_children(serve.pid, 2)
        children = Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()
        assert len(children) == 2
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        for child in children:
            deadline = time.monotonic() + 10
            while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            status = Path(f"/proc/{child}/status")
            assert not status.exists() or "zombie" in status.read_text(), f"{child} still runs"
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
