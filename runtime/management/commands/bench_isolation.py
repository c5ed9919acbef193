"""python manage.py bench_isolation (make bench): what tenant isolation costs.

Tenant isolation gives each workspace its own partition of worker processes
(runtime/placement.py). This prints the memory one partition's worker holds (its
resident set after a warm-up call), and warm throughput for the same traffic, 20
functions at the same concurrency, first with all 20 in one workspace and then with
each in a workspace of its own. Not a test: it prints figures.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from runtime.pool import PoolConfig, WorkerPool
from runtime.services import function_invoke

CODE = "async function onTrack(event, settings) { return event.messageId }"
FUNCTIONS = 20
EVENT = {"type": "track", "event": "Order Completed", "messageId": "m1", "userId": "u1"}


def resident_mb(pid: int) -> float:
    """A process's resident set (VmRSS), in MB; 0 where /proc is not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Command(BaseCommand):
    help = "Benchmark the cost of tenant isolation (not a test)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, default=20000)
        parser.add_argument("--concurrency", type=int, default=256)

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self.bench(options["calls"], options["concurrency"]))

    def line(self, label: str, value: str) -> None:
        self.stdout.write(f"  {label:<44} {value}")

    async def bench(self, calls: int, concurrency: int) -> None:
        self.stdout.write("Tenant isolation benchmark")
        config = replace(PoolConfig.from_settings(), max_partitions=FUNCTIONS + 1)
        shared = await self.throughput(config, calls, concurrency, workspaces=1)
        pool = WorkerPool(config)
        try:
            await self.warm(pool, workspaces=FUNCTIONS)
            sizes = [resident_mb(pid) for pid in pool.pids()]
            per_process = sum(sizes) / len(sizes) if sizes else 0.0
            self.line(
                "memory per partition (1 warm worker)",
                f"{per_process:.1f} MB resident ({len(sizes)} processes, "
                f"{sum(sizes):.0f} MB for {len(pool.partitions)} partitions)",
            )
        finally:
            await pool.shutdown()
        isolated = await self.throughput(config, calls, concurrency, workspaces=FUNCTIONS)
        self.line(f"throughput, {FUNCTIONS} functions in 1 workspace", f"{shared:,.0f} calls/s")
        self.line(
            f"throughput, {FUNCTIONS} functions in {FUNCTIONS} workspaces",
            f"{isolated:,.0f} calls/s ({isolated / shared:.2f}x the shared figure)",
        )

    async def warm(self, pool: WorkerPool, *, workspaces: int) -> None:
        for i in range(FUNCTIONS):
            result = await self.invoke(pool, i, workspaces)
            assert result == "success", result

    async def invoke(self, pool: WorkerPool, i: int, workspaces: int) -> str:
        result = await function_invoke(
            code=CODE,
            settings={},
            payload=EVENT,
            function_id=f"bench-fn-{i % FUNCTIONS}",
            version_id="v1",
            workspace_id=f"bench-ws-{i % FUNCTIONS % workspaces}",
            pool=pool,
        )
        return result.outcome

    async def throughput(
        self, config: PoolConfig, calls: int, concurrency: int, *, workspaces: int
    ) -> float:
        pool = WorkerPool(config)
        try:
            await self.warm(pool, workspaces=workspaces)
            next_call = 0

            async def client() -> None:
                nonlocal next_call
                while next_call < calls:
                    i = next_call
                    next_call += 1
                    await self.invoke(pool, i, workspaces)

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(concurrency)))
            return calls / (time.perf_counter() - started)
        finally:
            await pool.shutdown()
