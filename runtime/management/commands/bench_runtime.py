"""python manage.py bench_runtime (make bench): throughput and latency of the runtime.

Measures, for a trivial onTrack and a ~2 KB event: warm invocations per second
sequentially and with concurrency, each as a ratio to the same handler called
in-process by Node's vm in the same run (one function, 64 functions, and mixed traffic:
128 logging functions, skewed, with different time limits), p50/p99 latency from
Python, the guard's timed vm entries per context entered, the cold load of
a new function version in a warm worker, memory per loaded function, the worst
event-loop stall while one fetch's trace is masked (20,000 secrets, 800 KB of
headers), and for each library global the cold load cost it adds (first call of a
function that uses it, in a warm worker) and the memory it adds per context.
`--libraries` runs only that last part. Not a test: it prints figures, with a
description of the machine.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from runtime.egress import EgressPolicy
from runtime.management.loopback_serve import LoopbackHTTPServer
from runtime.pool import PoolConfig, WorkerPool, node_binary
from runtime.services import function_invoke

CODE = "async function onTrack(event, settings) { return event.messageId }"
# The limit the runtime's rate is read against: the same handler called in one Node
# process by ``vm``, with nothing around it (no process boundary, limits, isolation).
VM_RATE = """
const vm = require('vm');
const [code, eventJson, count] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const context = vm.createContext({});
vm.runInContext(code, context);
const handler = vm.runInContext('onTrack', context);
const settings = { apiKey: 'k' };
(async () => {
  for (let i = 0; i < 2000; i++) await handler(JSON.parse(eventJson), settings);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await handler(JSON.parse(eventJson), settings);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(String(count / seconds));
})();
"""


def vm_rate(*, code: str, event: dict[str, Any], count: int) -> float:
    """Calls/s of ``code``'s onTrack run in-process by Node's vm, the event parsed from
    its JSON each time as a worker parses it."""
    done = subprocess.run(
        [node_binary(), "-e", VM_RATE, code, json.dumps(event), str(count)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(done.stdout)


# For the mixed-traffic scenario: a function that logs, like most real ones do.
LOGGING_CODE = """async function onTrack(event, settings) {
  console.log('sending', event.event, event.messageId);
  return { id: event.messageId, n: Object.keys(event.properties).length };
}"""
MIXED_FUNCTIONS = 128
MIXED_TIMEOUTS_MS = (1000, 5000, 10_000)
# The masking finding: every string setting is a secret to mask in traces, and one
# fetch carries 100 headers of 8 KB made of them.
MASKING_SECRETS = 20_000
MASKING_CODE = """async function onTrack(event, settings) {
  const headers = {};
  for (let i = 0; i < 100; i++) headers['x-h' + i] = settings.list[i].repeat(400).slice(0, 8000);
  return (await fetch(settings.url, { headers })).status;
}"""
MASKING_STALL_LIMIT_MS = 50
# One small function per library global, using it the way Segment's documentation
# does: what a function that mentions the library pays to load it.
LIBRARY_CODES: dict[str, str] = {
    "(no library)": CODE,
    "_ (lodash)": "async function onTrack(e) { return _.get(e, 'messageId') }",
    "moment (moment-timezone)": "async function onTrack(e) { return moment(e.timestamp).format() }",
    "uuidv5": "async function onTrack(e) { return uuidv5.uuidv5(e.messageId, uuidv5.URL) }",
    "xml": "async function onTrack(e) { return xml({ id: e.messageId }) }",
    "xml2js": "async function onTrack(e) { return typeof xml2js.parseString }",
    "jsonwebtoken": "async function onTrack(e) { return jwt.sign({ sub: e.userId }, 'k') }",
    "FormData": "async function onTrack(e) { return new FormData().getBoundary().length }",
    "OAuth": "async function onTrack(e) { return typeof OAuth.OAuth2 }",
    "zlib.zlib (pako)": (
        "async function onTrack(e) { return zlib.zlib.gzipSync(e.messageId).length }"
    ),
    "https": "async function onTrack(e) { return typeof https.request }",
    "winstonlib.winston": (
        "async function onTrack(e) { return typeof winstonlib.winston.createLogger }"
    ),
    "stripe": "async function onTrack(e) { return typeof stripe('sk_test_x').customers.create }",
    "sendgrid.mail": "async function onTrack(e) { return typeof sendgrid.mail.send }",
    "twilio": (
        "async function onTrack(e) { return typeof twilio('AC' + 'f'.repeat(32), 't').messages }"
    ),
    "nodemailjet.nodemailjet": (
        "async function onTrack(e) "
        "{ return typeof nodemailjet.nodemailjet.apiConnect('k', 's').post }"
    ),
    "hubspotlib.hubspot": (
        "async function onTrack(e) "
        "{ return typeof new hubspotlib.hubspot.Client({ accessToken: 't' }).crm.contacts }"
    ),
    "jsforce": (
        "async function onTrack(e) "
        "{ return typeof new jsforce.Connection({ accessToken: 't' }).query }"
    ),
    "AWS (aws-sdk v2, 8 services)": (
        "async function onTrack(e) { return typeof new AWS.S3({ region: 'us-east-1' }).putObject }"
    ),
    "google.cloud (bigquery, storage)": (
        "async function onTrack(e) { return typeof google.cloud.bigquery.BigQuery }"
    ),
    "skyflowlib.skyflow": "async function onTrack(e) { return typeof skyflowlib.skyflow.Skyflow }",
}
LIBRARY_VERSIONS = 20  # cold loads measured per library (new versions, one at a time)
LIBRARY_CONTEXTS = 8  # contexts kept loaded to measure memory per context


def make_event() -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "event": "Order Completed",
        "messageId": "msg-1",
        "userId": "user-42",
        "timestamp": "2024-01-01T00:00:00.000Z",
        "context": {"ip": "203.0.113.9", "library": {"name": "analytics.js", "version": "2.0"}},
        "properties": {},
    }
    i = 0
    while len(str(event)) < 2048:
        event["properties"][f"prop_{i}"] = f"value number {i} of the benchmark event"
        i += 1
    return event


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class Command(BaseCommand):
    help = "Benchmark the function runtime (not a test)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sequential", type=int, default=3000)
        parser.add_argument("--concurrent", type=int, default=30000)
        parser.add_argument("--concurrency", type=int, default=256)
        parser.add_argument("--cold", type=int, default=300)
        parser.add_argument(
            "--libraries", action="store_true", help="only the per-library load and memory figures"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self.bench(options))

    def line(self, label: str, value: str) -> None:
        self.stdout.write(f"  {label:<44} {value}")

    async def bench(self, options: dict[str, Any]) -> None:
        if options["libraries"]:
            self.describe()
            await self.libraries()
            return
        node_version = subprocess.run(
            [node_binary(), "--version"], capture_output=True, text=True
        ).stdout.strip()
        config = PoolConfig.from_settings()
        pool = WorkerPool(config)
        event = make_event()
        self.stdout.write("Function runtime benchmark")
        self.line("CPU", f"{cpu_model()} ({os.cpu_count()} cores)")
        self.line("Python / Node", f"{sys.version.split()[0]} / {node_version}")
        self.line("workers", f"{len(pool.workers)} (memory limit {config.memory_mb} MB each)")
        self.line("event size", f"{len(str(event))} bytes; handler: trivial onTrack")

        async def call(fid: str = "bench", version: str = "v1", code: str = CODE,
                       timeout_ms: int | None = None) -> float:  # fmt: skip
            t = time.perf_counter()
            r = await function_invoke(code=code, settings={"apiKey": "k"}, payload=event,
                                      function_id=fid, version_id=version, pool=pool,
                                      timeout_ms=timeout_ms)  # fmt: skip
            assert r.outcome == "success", r.error
            return time.perf_counter() - t

        try:
            # Start every worker and load the function in each.
            for i in range(len(pool.workers) * 8):
                await call(f"warmup-{i}")
            for _ in range(200):
                await call()

            n = options["sequential"]
            latencies = [await call() for _ in range(n)]
            total = sum(latencies)
            bare = vm_rate(code=CODE, event=event, count=options["concurrent"])
            self.stdout.write("Warm, sequential (one invocation at a time):")
            self.line(
                "invocations/s", f"{n / total:,.0f} ({n / total / bare:.2f}x the vm call below)"
            )
            self.line("latency p50 / p99", f"{percentile(latencies, 0.5) * 1000:.3f} ms / "
                      f"{percentile(latencies, 0.99) * 1000:.3f} ms")  # fmt: skip

            scenarios = [
                ("one function", ["bench"]),
                ("64 functions over all workers", [f"f{i}" for i in range(64)]),
            ]
            for label, ids in scenarios:
                n, conc = options["concurrent"], options["concurrency"]
                lat: list[float] = []

                async def client(k: int, ids: list[str] = ids, n: int = n, conc: int = conc,
                                 lat: list[float] = lat) -> None:  # fmt: skip
                    for j in range(k, n, conc):
                        lat.append(await call(ids[j % len(ids)]))

                for fid in ids:
                    await call(fid)
                before = await self.guard_stats(pool)
                t = time.perf_counter()
                await asyncio.gather(*(client(k) for k in range(conc)))
                elapsed = time.perf_counter() - t
                self.stdout.write(f"Warm, {conc} in flight, {label}:")
                self.line(
                    "invocations/s", f"{n / elapsed:,.0f} ({n / elapsed / bare:.2f}x the vm call)"
                )
                self.line("latency p50 / p99", f"{percentile(lat, 0.5) * 1000:.3f} ms / "
                          f"{percentile(lat, 0.99) * 1000:.3f} ms")  # fmt: skip
                await self.guard_line(pool, before)

            self.line(
                "the same handler, in-process vm call",
                f"{bare:,.0f} calls/s (one Node process, no runtime around it: the limit)",
            )
            await self.mixed(options, call, pool)

            n = options["cold"]
            warm = [await call("cold") for _ in range(50)]
            cold = [await call("cold", f"version-{i}") for i in range(n)]
            self.stdout.write("New function version in a warm worker (sequential):")
            self.line("first invocation p50 / p99",
                      f"{percentile(cold, 0.5) * 1000:.3f} ms / "
                      f"{percentile(cold, 0.99) * 1000:.3f} ms")  # fmt: skip
            extra = statistics.median(cold) - statistics.median(warm)
            self.line("load cost over a warm call (p50)", f"{extra * 1000:.3f} ms")

            await self.memory(pool, call)
        finally:
            await pool.shutdown()
        await self.masking_stall()
        await self.libraries()

    def describe(self) -> None:
        node_version = subprocess.run(
            [node_binary(), "--version"], capture_output=True, text=True
        ).stdout.strip()
        self.stdout.write("Function runtime benchmark")
        self.line("CPU", f"{cpu_model()} ({os.cpu_count()} cores)")
        self.line("Python / Node", f"{sys.version.split()[0]} / {node_version}")

    async def libraries(self) -> None:
        """Per library global: the cold load cost of a function that uses it (first call
        of a new version in a warm worker, whose compiled bundle is cached) over that
        of a trivial function, the first use in the worker (compiling the bundle too),
        and the JS heap a context holding it adds. One worker with a 1 GB heap, so
        that memory relief does not drop the contexts being measured."""
        pool = WorkerPool(PoolConfig(workers=1, memory_mb=1024))
        event = make_event()

        async def first_call(fid: str, version: str, code: str) -> float:
            t = time.perf_counter()
            r = await function_invoke(code=code, settings={}, payload=event, function_id=fid,
                                      version_id=version, pool=pool)  # fmt: skip
            assert r.outcome == "success", (fid, r.error)
            return time.perf_counter() - t

        rows: list[tuple[str, float, float, float]] = []
        try:
            for i in range(20):  # start the worker, warm the call path
                await first_call("lib-warmup", f"w{i}", CODE)
            for label, code in LIBRARY_CODES.items():
                fid = f"lib-{label}"
                first = await first_call(fid, "first", code)
                cold = [await first_call(fid, f"v{i}", code) for i in range(LIBRARY_VERSIONS)]
                await pool.request(fid, {"t": "drop"}, "dropped")
                # A dropped context is freed over more than one full collection.
                for _ in range(3):
                    before = await pool.request(fid, {"t": "ping"}, "pong")
                for i in range(LIBRARY_CONTEXTS):
                    await first_call(fid, f"m{i}", code)
                for _ in range(3):
                    after = await pool.request(fid, {"t": "ping"}, "pong")
                loaded = max(1, after["contexts"] - before["contexts"])
                rows.append((label, first, statistics.median(cold),
                             (after["heap"] - before["heap"]) / loaded))  # fmt: skip
                await pool.request(fid, {"t": "drop"}, "dropped")
        finally:
            await pool.shutdown()
        base = rows[0][2]
        self.stdout.write(
            f"Libraries (one warm worker; p50 of {LIBRARY_VERSIONS} new versions each; "
            f"memory over {LIBRARY_CONTEXTS} contexts):"
        )
        self.stdout.write(
            f"  {'library':<30} {'first in worker':>16} {'cold call p50':>14} "
            f"{'load cost':>10} {'heap/context':>13}"
        )
        for label, first, p50, heap in rows:
            self.stdout.write(
                f"  {label:<30} {first * 1000:>13.1f} ms {p50 * 1000:>11.2f} ms "
                f"{(p50 - base) * 1000:>7.2f} ms {heap / 1024 / 1024:>10.2f} MB"
            )

    async def guard_stats(self, pool: WorkerPool) -> tuple[int, int]:
        """(timed vm entries, contexts entered) summed over the workers."""
        timed = entered = 0
        for index in range(len(pool.workers)):
            fid = next(f"probe-{i}" for i in range(10_000)
                       if pool.worker_for(f"probe-{i}").index == index)  # fmt: skip
            pong = await pool.request(fid, {"t": "ping"}, "pong")
            timed += pong.get("timed", 0)
            entered += pong.get("entered", 0)
        return timed, entered

    async def guard_line(self, pool: WorkerPool, before: tuple[int, int]) -> None:
        timed, entered = await self.guard_stats(pool)
        timed, entered = timed - before[0], entered - before[1]
        self.line("contexts entered per timed vm entry", f"{entered / max(1, timed):.1f}")

    async def mixed(self, options: dict[str, Any], call: Any, pool: WorkerPool) -> None:
        """Traffic closer to production: many functions, skewed (Zipf-like: function
        k gets 1/k of the traffic), handlers that log, time limits that differ."""
        n, conc = options["concurrent"], options["concurrency"]
        rng = random.Random(42)
        weights = [1 / k for k in range(1, MIXED_FUNCTIONS + 1)]
        picks = rng.choices(range(MIXED_FUNCTIONS), weights, k=n)

        def spec(i: int) -> tuple[str, int]:
            return f"mixed-{i}", MIXED_TIMEOUTS_MS[i % len(MIXED_TIMEOUTS_MS)]

        for i in range(MIXED_FUNCTIONS):
            fid, timeout = spec(i)
            await call(fid, code=LOGGING_CODE, timeout_ms=timeout)
        lat: list[float] = []

        async def client(k: int) -> None:
            for j in range(k, n, conc):
                fid, timeout = spec(picks[j])
                lat.append(await call(fid, code=LOGGING_CODE, timeout_ms=timeout))

        before = await self.guard_stats(pool)
        t = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(conc)))
        elapsed = time.perf_counter() - t
        self.stdout.write(
            f"Warm, {conc} in flight, {MIXED_FUNCTIONS} functions, skewed traffic, "
            f"logging handlers, {len(MIXED_TIMEOUTS_MS)} time limits:"
        )
        self.line("invocations/s", f"{n / elapsed:,.0f}")
        self.line("latency p50 / p99", f"{percentile(lat, 0.5) * 1000:.3f} ms / "
                  f"{percentile(lat, 0.99) * 1000:.3f} ms")  # fmt: skip
        await self.guard_line(pool, before)

    async def memory(self, pool: WorkerPool, call: Any) -> None:
        fid = "memory"
        await call(fid)
        await pool.request(fid, {"t": "drop"}, "dropped")
        before = await pool.request(fid, {"t": "ping"}, "pong")
        count = 80
        for i in range(count):
            await call(fid, f"mem-{i}")
        await asyncio.sleep(0.2)
        after = await pool.request(fid, {"t": "ping"}, "pong")
        per = (after["heap"] - before["heap"]) / max(1, after["contexts"] - before["contexts"])
        self.stdout.write("Memory:")
        self.line("JS heap per loaded function (approx.)", f"{per / 1024 / 1024:.3f} MB")
        self.line("contexts measured", str(after["contexts"] - before["contexts"]))

    async def masking_stall(self) -> None:
        """The longest the event loop goes without running while a function with 20,000
        string settings sends one request with 100 headers of 8 KB, all of them secrets
        to mask in its trace."""
        httpd = LoopbackHTTPServer(("127.0.0.1", 0), _OkHandler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        secrets = [f"secret-{i:06d}-{random.getrandbits(32):08x}" for i in range(MASKING_SECRETS)]
        pool = WorkerPool(PoolConfig(workers=1, egress=EgressPolicy.from_allowlist(["127.0.0.1"])))
        stalls: list[float] = []
        done = False

        async def invoke(fid: str, strings: list[str]) -> float:
            t = time.perf_counter()
            r = await function_invoke(code=MASKING_CODE, settings={"list": strings, "url": url},
                                      payload={"type": "track"}, function_id=fid,
                                      version_id="v1", pool=pool, timeout_ms=30_000)  # fmt: skip
            assert r.outcome == "success", r.error
            return time.perf_counter() - t

        async def ticker() -> None:
            while not done:
                t = time.perf_counter()
                await asyncio.sleep(0.002)
                stalls.append(time.perf_counter() - t - 0.002)

        try:
            # The HTTP client is created (its TLS context loaded) on the first fetch.
            await invoke("masking-warmup", ["x" * 8] * 100)
            gc.collect()  # a full collection of this process is not masking's doing
            tick = asyncio.ensure_future(ticker())
            durations = [await invoke("masking", secrets) for _ in range(3)]
            done = True
            await tick
        finally:
            await pool.shutdown()
            httpd.shutdown()
            httpd.server_close()
        self.stdout.write("Masking a trace (one fetch with 100 headers of 8 KB, 3 invocations):")
        self.line("masking stall", f"worst loop stall {max(stalls) * 1000:.1f} ms with "
                  f"{MASKING_SECRETS:,} secrets and 800 KB of headers "
                  f"(limit {MASKING_STALL_LIMIT_MS} ms)")  # fmt: skip
        self.line("invocation, first / then (p50)", f"{durations[0] * 1000:.0f} ms / "
                  f"{statistics.median(durations[1:]) * 1000:.0f} ms")  # fmt: skip


class _OkHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass
