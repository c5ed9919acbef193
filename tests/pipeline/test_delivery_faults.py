"""At least once, under faults: events flow through the real server to two real delivery
workers while the workers are killed with SIGKILL (their Node processes with them) and
restarted, the destination answers 500 for a while, and, on PostgreSQL, the database is
restarted once. At the end every accepted messageId reached the destination; duplicates
are counted and printed, losses fail the test.

It runs on the database under test: on PostgreSQL (CI's second run) in a database of its
own, on SQLite in a file of its own; the processes share it as separate machines would.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from django.conf import settings

from runtime.management.loopback_serve import free_port, serving
from tests.pipeline.conftest import basic_auth
from tests.runtime.conftest import loopback_server

EVENTS = 2000
BATCH = 50
KILLS = 10
REFUSE_FIRST = 300  # deliveries the destination answers 500 before it recovers
CODE = """
async function onTrack(event, settings) {
  const response = await fetch(settings.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messageId: event.messageId }),
  });
  if (response.status >= 500) throw new RetryError(`the recorder answered ${response.status}`);
}
"""
SEED = f"""
from django.contrib.auth import get_user_model
from catalog.services import function_create, instance_create, source_create
from workspaces.services import workspace_create
user = get_user_model().objects.create_user(username="faults")
workspace = workspace_create(name="Faults", owner=user)
function = function_create(workspace=workspace, name="Recorder", actor=user, code={CODE!r},
    settings_schema=[{{"label": "URL", "type": "string", "required": True}}])
source = source_create(workspace=workspace, name="Faults", actor=user)
instance_create(function=function, source=source, name="Recorder", settings={{"url": RECORDER_URL}},
    actor=user)
print(source.write_key)
"""
# What became of lost events: their jobs and attempts, printed when the test fails.
LOST = """
import json, os
from pipeline.models import DeliveryAttempt, DeliveryJob, Event
lost = json.loads(os.environ["LOST"])[:5]
print("lost", lost, "stored", Event.objects.filter(message_id__in=lost).count())
for job in DeliveryJob.objects.filter(event__message_id__in=lost):
    print(job.event.message_id, job.state, "attempts", job.attempts, "next", job.next_attempt_at,
          "leased_by", repr(job.leased_by), "last", job.last_outcome, repr(job.last_error))
    for a in DeliveryAttempt.objects.filter(job_id=job.pk).order_by("number"):
        print("  attempt", a.number, a.worker, a.started_at, a.finished_at, a.outcome,
              a.error_type, repr(a.error_message))
"""


class Recorder(BaseHTTPRequestHandler):
    """The destination: counts each messageId it accepted; answers its first
    REFUSE_FIRST deliveries 500 (recording nothing)."""

    received: Counter[str] = Counter()
    refused = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Recorder.lock:
            failing = Recorder.refused < REFUSE_FIRST
            if failing:
                Recorder.refused += 1
            else:
                Recorder.received[body["messageId"]] += 1
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _postgres_cluster() -> list[str] | None:
    """``pg_ctlcluster <version> <name>`` of the local cluster, when this process may
    restart it (CI runs as root beside its own PostgreSQL)."""
    if os.geteuid() != 0 or shutil.which("pg_lsclusters") is None:
        return None
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    fields = listed.stdout.split()
    return ["pg_ctlcluster", fields[0], fields[1]] if len(fields) >= 2 else None


@pytest.fixture
def database_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of the processes: a database of their own, migrated."""
    env = {
        **os.environ,
        "FUNCTIONS_EGRESS_ALLOWLIST": "127.0.0.1",
        "FUNCTIONS_WORKERS": "1",
        "DELIVERY_RETRY_BASE_S": "1",
    }
    url = os.environ.get("DATABASE_URL")
    name = f"faults_{uuid.uuid4().hex[:8]}"
    if url:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
    else:
        env["SQLITE_PATH"] = str(tmp_path / "faults.sqlite3")
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, timeout=300)
    try:
        yield env
    finally:
        if url:
            for _ in range(30):  # the database may still be coming back from its restart
                try:
                    with psycopg.connect(url, autocommit=True) as admin:
                        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    break
                except psycopg.OperationalError:
                    time.sleep(1)


class Sender(threading.Thread):
    """Sends EVENTS events in batches, each batch again until it is answered 200 (as
    Segment's libraries retry); ``accepted`` holds the messageIds answered 200."""

    def __init__(self, base_url: str, write_key: str) -> None:
        super().__init__(daemon=True)
        self.base_url, self.write_key = base_url, write_key
        self.accepted: set[str] = set()
        self.refusals = 0

    def run(self) -> None:
        headers = {"Authorization": basic_auth(self.write_key)}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as client:
            for start in range(0, EVENTS, BATCH):
                ids = [f"fault-{i}" for i in range(start, start + BATCH)]
                batch = [{"type": "track", "event": "Fault", "userId": "u", "messageId": m}
                         for m in ids]  # fmt: skip
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    try:
                        if client.post("/v1/batch", json={"batch": batch}).status_code == 200:
                            self.accepted.update(ids)
                            break
                    except httpx.HTTPError:
                        pass
                    self.refusals += 1
                    time.sleep(0.3)
                time.sleep(0.05)


class Workers:
    """Two ``manage.py deliver`` processes, each in a process group of its own with its
    Node workers, so that a kill takes the whole worker down as a crash would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        # A short lease: a killed worker's jobs come back within seconds, not minutes.
        self.command = [*manage, "deliver", "--lease", "3", "--concurrency", "8"]
        self.processes = [self._start(), self._start()]
        self.kills = 0

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill_one(self) -> None:
        index = random.randrange(len(self.processes))
        os.killpg(self.processes[index].pid, signal.SIGKILL)
        self.processes[index].wait()
        self.kills += 1
        self.processes[index] = self._start()

    def stop(self) -> None:
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _lost_report(manage: list[str], env: dict[str, str], missing: set[str]) -> str:
    env = {**env, "LOST": json.dumps(sorted(missing))}
    report = subprocess.run(
        [*manage, "shell", "-c", LOST], env=env, capture_output=True, text=True, timeout=120
    )
    return report.stdout + report.stderr


def test_every_accepted_event_is_delivered_through_kills_failures_and_a_restart(
    database_env: dict[str, str],
) -> None:
    Recorder.received, Recorder.refused = Counter(), 0
    cluster = _postgres_cluster() if database_env.get("DATABASE_URL") else None
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    with loopback_server(Recorder) as recorder_url:
        seed = SEED.replace("RECORDER_URL", repr(recorder_url))
        seeded = subprocess.run(
            [*manage, "shell", "-c", seed], env=database_env, check=True, capture_output=True
        )
        write_key = seeded.stdout.decode().split()[-1]
        port = free_port()
        with serving(database_env, port, "--no-workers"):
            sender = Sender(f"http://127.0.0.1:{port}", write_key)
            workers = Workers(database_env)
            restarted = False
            try:
                sender.start()
                while sender.is_alive() or workers.kills < KILLS:
                    time.sleep(random.uniform(0.3, 1.5))
                    workers.kill_one()
                    if cluster and not restarted and workers.kills == KILLS // 2:
                        subprocess.run([*cluster, "restart"], check=True, timeout=120)
                        restarted = True
                sender.join()
                deadline = time.monotonic() + 240
                while time.monotonic() < deadline:
                    with Recorder.lock:
                        missing = sender.accepted - set(Recorder.received)
                    if not missing:
                        break
                    time.sleep(0.5)
            finally:
                workers.stop()
        lost = _lost_report(manage, database_env, missing) if missing else ""
    duplicates = sum(n - 1 for n in Recorder.received.values())
    print(
        f"\naccepted {len(sender.accepted)} events ({sender.refusals} sends refused or "
        f"failed), {workers.kills} worker kills, database restarted: {restarted}; the "
        f"destination refused {Recorder.refused} deliveries, then received "
        f"{len(Recorder.received)} events, {duplicates} of them more than once; lost "
        f"{len(missing)}\n{lost}"
    )
    assert len(sender.accepted) == EVENTS
    assert workers.kills >= KILLS
    assert Recorder.refused == REFUSE_FIRST  # the failing phase was met, and retried past
    assert cluster is None or restarted
    assert not missing, f"lost {len(missing)} accepted events, e.g. {sorted(missing)[:5]}"
