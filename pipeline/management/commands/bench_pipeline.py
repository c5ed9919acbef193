"""python manage.py bench_pipeline (make bench): the event pipeline against a real server.

Ingest: single-event ``/v1/track`` requests and 100-event ``/v1/batch`` requests sent by
concurrent clients to ``manage.py serve --no-workers`` on loopback, events/s and request
latency p50 / p99, each beside the same events stored directly (``events_store``, one
transaction per request, no HTTP) in the same run. End to end: a backlog of events
delivered by one ``manage.py deliver`` worker to a trivial function, events/s beside the
runtime's own rate for the same invocations. Not a test: figures beside their limits.

On SQLite the server runs on a database of its own in a temporary folder, never on var/;
with DATABASE_URL set, on a database of its own on that server, dropped after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from runtime.management.commands.bench_runtime import cpu_model, percentile
from runtime.management.loopback_load import UnexpectedAnswer, load_run, post_request
from runtime.management.loopback_serve import free_port, serving, serving_command

TRIVIAL_CODE = "async function onTrack(event, settings) {\n  return event.event;\n}\n"
SEED = f"""
import uuid
from django.contrib.auth import get_user_model
from catalog.services import function_create, instance_create, source_create
from workspaces.services import workspace_create
name = "bench-" + uuid.uuid4().hex[:8]
user = get_user_model().objects.create_user(username=name)
workspace = workspace_create(name=name, owner=user)
function = function_create(workspace=workspace, name="Trivial", actor=user, code={TRIVIAL_CODE!r})
source = source_create(workspace=workspace, name="Bench", actor=user)
instance_create(function=function, source=source, name="Trivial", settings={{}}, actor=user)
print(workspace.pk, source.pk, source.write_key)
"""
TARGETS = {
    "single": (1_500, 50.0),  # requests/s at least, p99 ms at most
    "batch": (10_000, 100.0),  # events/s at least, p99 ms at most
}
END_TO_END_TARGET = 5_000


def _event(i: int) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Bench",
        "userId": f"u-{i % 1000}",
        "messageId": str(uuid.uuid4()),
        "properties": {"i": i, "plan": "pro"},
    }


# Run in the bench's database by `manage.py shell`: stores `requests` requests of `size`
# events directly, one transaction each, and prints the seconds each took.
DIRECT = """
import json, time, uuid
from django.utils import timezone
from catalog.models import Source
from pipeline.services import events_store
source = Source.objects.get(pk={source_id})
times = []
for r in range({requests}):
    events = [dict(type="track", event="Bench", userId="u-1", messageId=str(uuid.uuid4()),
                   properties=dict(i=i)) for i in range({size})]
    started = time.perf_counter()
    events_store(source=source, events=events, received_at=timezone.now())
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""
# The runtime's own rate for the end-to-end invocations: the same trivial function, the
# same events, `concurrency` at once, on a pool of this process.
RUNTIME_RATE = """
import asyncio, json, time
from runtime.pool import shutdown_pool
from runtime.services import function_invoke
CODE = {code!r}
async def main():
    semaphore = asyncio.Semaphore({concurrency})
    async def one(i):
        async with semaphore:
            await function_invoke(code=CODE, function_id="bench", version_id="v1",
                settings={{}}, payload=dict(type="track", event="Bench", userId="u-1",
                messageId=str(i)), workspace_id="ws_bench")
    await asyncio.gather(*(one(i) for i in range(50)))
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range({count})))
    print(json.dumps({count} / (time.perf_counter() - started)))
    await shutdown_pool()
asyncio.run(main())
"""
# Forgets the ingest figures' events and jobs, so that the worker has no backlog.
FORGET_JOBS = """
from pipeline.models import Event
Event.objects.filter(source_id={source_id}).delete()
"""
# Waits until `count` jobs of the source are delivered; prints "ready" once it is loaded
# and polling (its start, a second of CPU, must not fall in what is timed), then the
# monotonic clock when they are.
# Read from the per-minute counts, as Event Delivery reads them: counting the jobs took
# PostgreSQL 20 ms a time, a third of a core taken from what the figure measures. One
# statement, prepared once: through the ORM each poll cost this process ~5 ms of Python,
# half a core of the 2-core bench machine at one poll per 20 ms.
DRAINED = """
import time
from django.db import connection
from catalog.models import DestinationInstance
from pipeline.models import DeliveryMinute, JobState
ids = list(DestinationInstance.objects.filter(source_id={source_id}).values_list("pk", flat=True))
table = connection.ops.quote_name(DeliveryMinute._meta.db_table)
marks = ", ".join(["%s"] * len(ids))
sql = f"SELECT SUM(count) FROM {{table}} WHERE state = %s AND instance_id IN ({{marks}})"
with connection.cursor() as cursor:
    cursor.execute(sql, [JobState.DELIVERED, *ids])
    print("ready", flush=True)
    while True:
        cursor.execute(sql, [JobState.DELIVERED, *ids])
        if (cursor.fetchone()[0] or 0) >= {count}:
            break
        time.sleep(0.02)
print(time.monotonic())
"""


class Command(BaseCommand):
    help = "Benchmark ingest and delivery against a real server on loopback (not a test)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=3000, help="single-event requests")
        parser.add_argument("--batches", type=int, default=150, help="100-event batches")
        parser.add_argument(
            "--clients", type=int, default=32, help="concurrent single-event senders"
        )
        # Each in-flight batch adds its 100 events to every other's wait: with 32 of them
        # a request's latency is 3,200 events' storing, whatever the server does.
        parser.add_argument("--batch-clients", type=int, default=4, help="concurrent batches")
        parser.add_argument("--deliver", type=int, default=10_000, help="end-to-end events")
        parser.add_argument(
            "--workers", type=int, default=1, help="delivery workers end to end (serve's)"
        )
        parser.add_argument(
            "--web-processes", type=int, default=1, help="web processes (more need REDIS_URL)"
        )

    def line(self, label: str, value: str) -> None:
        self.stdout.write(f"  {label:<50} {value}")

    def handle(self, *args: Any, **options: Any) -> None:
        with tempfile.TemporaryDirectory() as folder, self.database_of_its_own(folder) as env:
            self.env = env
            self.shell(["migrate", "--noinput", "-v", "0"])
            _, source_id, write_key = self.shell(["shell", "-c", SEED]).split()[-3:]
            database = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"
            self.stdout.write(f"Event pipeline benchmark ({database}, manage.py serve on loopback)")
            self.line("CPU", f"{cpu_model()} ({os.cpu_count()} cores)")
            self.measure(int(source_id), write_key, options)

    @contextlib.contextmanager
    def database_of_its_own(self, folder: str) -> Iterator[dict[str, str]]:
        """The environment of the bench's processes: a SQLite file in ``folder``, or, with
        DATABASE_URL set, a new database on that server, dropped after (what the bench
        makes there cannot be deleted row by row: the audit trail keeps its workspace)."""
        env = dict(os.environ)
        url = env.get("DATABASE_URL")
        if not url:
            env["SQLITE_PATH"] = str(Path(folder) / "bench.sqlite3")
            yield env
            return
        name = f"{settings.DATABASES['default']['NAME']}_bench_{uuid.uuid4().hex[:8]}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            env["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
            yield env
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def shell(self, arguments: list[str]) -> str:
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        done = subprocess.run(
            [*manage, *arguments], env=self.env, check=True, capture_output=True, text=True
        )
        return done.stdout

    def measure(self, source_id: int, write_key: str, options: dict[str, Any]) -> None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        clients, batch_clients = options["clients"], options["batch_clients"]
        with self.serving(port, options, workers=0):
            single = asyncio.run(self.send(base, write_key, options["requests"], 1, clients))
            batch = asyncio.run(self.send(base, write_key, options["batches"], 100, batch_clients))
        ceiling = self.server_ceiling(options["requests"], clients)
        direct_single = self.direct(source_id, options["requests"] // 3, 1)
        direct_batch = self.direct(source_id, options["batches"], 100)
        processes = options["web_processes"]
        self.stdout.write(
            f"Ingest (the server: Daphne, {processes} process{'es' if processes > 1 else ''}):"
        )
        self.report(f"single-event /v1/track, {clients} clients", single, direct_single, 1,
                    "single")  # fmt: skip
        self.line(
            "  the same requests answered by an empty ASGI app",
            f"{ceiling:,.0f} requests/s (one Daphne process's own ceiling on this machine)",
        )
        self.report(f"100-event /v1/batch, {batch_clients} clients", batch, direct_batch, 100,
                    "batch")  # fmt: skip
        self.end_to_end(base, port, source_id, write_key, options)

    def serving(
        self, port: int, options: dict[str, Any], *, workers: int
    ) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
        """``manage.py serve`` on ``port`` with ``--web-processes`` and ``workers``."""
        web = ("--web-processes", str(options["web_processes"]))
        return serving(self.env, port, "--workers", str(workers), *web)

    def server_ceiling(self, requests: int, clients: int) -> float:
        """Requests/s of Daphne, started as serve starts it, answering with an application
        that does nothing: what no Tracking API on this server can exceed."""
        port = free_port()
        app = "runtime.management.loopback_load:ok_application"
        daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
        with serving_command(daphne, self.env, port):
            elapsed, _ = asyncio.run(self.send(f"http://127.0.0.1:{port}", "-", requests, 1,
                                               clients))  # fmt: skip
        return requests / elapsed

    def report(
        self, label: str, sent: tuple[float, list[float]], direct: list[float], size: int, key: str
    ) -> None:
        elapsed, latencies = sent
        rate = len(latencies) * size / elapsed
        direct_rate = len(direct) * size / sum(direct)
        minimum, p99_limit = TARGETS[key]
        unit = "requests/s" if size == 1 else "events/s"
        self.line(
            f"{label}: {unit}",
            f"{rate:,.0f} (target >= {minimum:,}; stored directly, one transaction per "
            f"request: {direct_rate:,.0f})",
        )
        self.line(
            f"{label}: latency p50 / p99",
            f"{percentile(latencies, 0.5):.1f} / {percentile(latencies, 0.99):.1f} ms "
            f"(target p99 < {p99_limit:.0f} ms; "
            f"direct p99 {percentile(direct, 0.99) * 1000:.1f} ms)",
        )

    async def send(
        self, base: str, write_key: str, requests: int, size: int, clients: int
    ) -> tuple[float, list[float]]:
        """Send ``requests`` requests of ``size`` events from ``clients`` connections; the
        elapsed seconds and each request's latency in ms. Every answer must be a 200."""
        path = "/v1/track" if size == 1 else "/v1/batch"
        host = urlsplit(base)

        def request(i: int) -> bytes:
            body: Any = _event(i) if size == 1 else {"batch": [_event(i) for _ in range(size)]}
            return post_request(
                host=host.netloc, path=path, body=json.dumps(body).encode(), write_key=write_key
            )

        # Prepared before the clock starts: the figures are the server's, not the client's.
        prepared = [request(i) for i in range(requests)]
        try:
            done = await load_run(
                port=int(host.port or 80),
                requests=requests,
                connections=clients,
                request_bytes=prepared.__getitem__,
            )
        except UnexpectedAnswer as exc:
            raise CommandError(f"{path} {exc}") from exc
        return done.elapsed_s, done.latencies_ms

    def direct(self, source_id: int, requests: int, size: int) -> list[float]:
        script = DIRECT.format(source_id=source_id, requests=requests, size=size)
        return list(json.loads(self.shell(["shell", "-c", script]).split("\n")[-2]))

    def end_to_end(
        self, base: str, port: int, source_id: int, write_key: str, options: dict[str, Any]
    ) -> None:
        """The events of ``--deliver`` 100-event batches' worth, from the first request to
        the last delivered, with ``--workers`` delivery workers beside the server: warm (a
        first batch delivered before the clock starts), and with no backlog of the ingest
        figures' events (deleted first: they would be delivered first)."""
        count = options["deliver"] - options["deliver"] % 100
        self.shell(["shell", "-c", FORGET_JOBS.format(source_id=source_id)])
        workers = options["workers"]
        with self.serving(port, options, workers=workers):
            asyncio.run(self.send(base, write_key, 1, 100, 1))
            self.drained(source_id, 100)
            waiter = self.drained(source_id, 100 + count, wait=False)
            started = time.monotonic()
            asyncio.run(self.send(base, write_key, count // 100, 100, 8))
            finished = float((waiter.communicate(timeout=600)[0] or "0").split()[-1])
        rate = count / (finished - started)
        runtime = json.loads(
            self.shell(
                ["shell", "-c", RUNTIME_RATE.format(code=TRIVIAL_CODE, concurrency=16, count=count)]
            ).split()[-1]
        )
        self.stdout.write(
            f"End to end, {count:,} events, ingest -> {workers} delivery "
            f"worker{'s' if workers > 1 else ''} -> function:"
        )
        self.line(
            "events/s",
            f"{rate:,.0f} (target >= {END_TO_END_TARGET:,}; the runtime alone, same "
            f"invocations 16 at once: {runtime:,.0f}/s)",
        )

    def drained(self, source_id: int, count: int, *, wait: bool = True) -> subprocess.Popen[str]:
        """A process that ends once ``count`` jobs of the source are delivered, printing the
        monotonic clock then; waited for unless ``wait`` is False (then returned once it is
        polling)."""
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        script = DRAINED.format(source_id=source_id, count=count)
        waiter = subprocess.Popen(
            [*manage, "shell", "-c", script], env=self.env, stdout=subprocess.PIPE, text=True
        )
        assert waiter.stdout is not None
        # After what Django's shell prints first (the models it imported).
        if not any(line.strip() == "ready" for line in iter(waiter.stdout.readline, "")):
            raise CommandError("the process that waits for the deliveries did not start")
        if wait:
            waiter.communicate(timeout=600)
        return waiter
