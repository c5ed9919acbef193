"""``manage.py deliver``: a delivery worker (``manage.py serve`` starts one)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import Any

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from pipeline.batching import BatchSupport
from pipeline.collector import collector_settle_long_lived
from pipeline.database_threads import DatabaseThreads, database_threads_default
from pipeline.delivery import (
    DEFAULT_CONCURRENCY,
    DEFAULT_LEASE_S,
    DEFAULT_LIMIT,
    DEFAULT_ROUNDS,
    PAUSE_AFTER_ERROR_S,
    RoundSummary,
    WorkerSlots,
    delivery_round,
    delivery_rounds_run,
)
from pipeline.services import delivery_housekeep
from runtime.pool import get_pool, shutdown_pool

logger = logging.getLogger(__name__)

# Retention and the recovery of instances that stopped receiving events, between rounds.
HOUSEKEEP_EVERY_S = 300.0


class Command(BaseCommand):
    help = "Deliver events to destination functions: claim jobs, run them, record, in rounds."
    # A worker starts often (serve starts one; one that died is started again, and its
    # jobs wait meanwhile): Django's system checks, which import every URL's views, took
    # a second of each start on the bench machine. `serve`, `check` and `migrate` run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="invocations at once"
        )
        parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="jobs per round")
        parser.add_argument(
            "--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds in flight at most"
        )
        parser.add_argument(
            "--lease",
            type=float,
            default=DEFAULT_LEASE_S,
            help="seconds a claim lasts unless its round extends it (rounds in progress "
            "do); a job whose worker died is claimed again after this",
        )
        parser.add_argument(
            "--once", action="store_true", help="run one round, print what it did, exit"
        )

    def handle(
        self,
        *args: Any,
        concurrency: int,
        limit: int,
        rounds: int,
        lease: float,
        once: bool,
        **options: Any,
    ) -> None:
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.limit, self.lease_s = limit, lease
        collector_settle_long_lived()
        asyncio.run(self._work(concurrency=concurrency, rounds=1 if once else rounds, once=once))

    async def _work(self, *, concurrency: int, rounds: int, once: bool) -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # SIGTERM ends the worker after the rounds in flight: their results get recorded.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stopping.set)
        self.slots = WorkerSlots(
            concurrency=concurrency, database=DatabaseThreads(database_threads_default())
        )
        # The loop's runtime pool, given to each invocation (not looked up by each).
        self.pool = get_pool()
        # What the worker learns of each version's onBatch, kept for its life.
        self.support = BatchSupport()
        try:
            if once:
                summary = await self._round()
                if summary is not None:
                    self._report(summary)
                return
            await asyncio.gather(
                self._housekeeping(stopping),
                delivery_rounds_run(
                    round_=self._round, slots=self.slots, stopping=stopping, most=rounds
                ),
            )
        finally:
            await shutdown_pool()
            await self.slots.database.close()

    async def _housekeeping(self, stopping: asyncio.Event) -> None:
        # At start too: a worker restarted often still cleans.
        while not stopping.is_set():
            await self._housekeep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=HOUSEKEEP_EVERY_S)

    async def _round(self, claimed: asyncio.Future[int] | None = None) -> RoundSummary | None:
        try:
            return await delivery_round(
                worker_id=self.worker_id,
                limit=self.limit,
                lease_s=self.lease_s,
                slots=self.slots,
                pool=self.pool,
                support=self.support,
                claimed=claimed,
            )
        except Exception:  # the worker outlives a failed round; its leases expire
            logger.exception("A delivery round failed; trying again in %s s.", PAUSE_AFTER_ERROR_S)
            if claimed is not None and not claimed.done():
                claimed.set_exception(RuntimeError("the round failed"))
            return None

    async def _housekeep(self) -> None:
        try:
            done = await sync_to_async(delivery_housekeep)(now=timezone.now())
        except Exception:  # deliveries go on; the next housekeeping tries again
            logger.exception("Delivery housekeeping failed.")
            return
        # Logged every time: it also tells that the worker is up (its signals handled).
        logger.info("Delivery housekeeping: %s", done)

    def _report(self, summary: RoundSummary) -> None:
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(summary.outcomes.items()))
        self.stdout.write(
            f"Claimed {summary.claimed} jobs, recorded {summary.recorded}"
            + (f" ({outcomes})." if outcomes else ".")
        )
