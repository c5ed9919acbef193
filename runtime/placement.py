"""Which worker process runs a call: tenant partitions, then sticky by function.

Tenant isolation. A workspace's functions share worker processes only with
functions of the same workspace: each workspace gets a *partition* (its own set of
worker slots, whose processes start on demand) the first time one of its functions
runs. So a worker killed for a CPU hog, a native call the vm timeout cannot stop,
a crash or an out-of-memory only ever touches calls of its own workspace. Beyond
``PoolConfig.max_partitions`` partitions, a new workspace shares an existing
partition, chosen by a hash of its id (and kept while that partition lives). A
partition with nothing in flight for ``PoolConfig.partition_idle_s`` is reaped: its
processes are stopped, and started again on its next call.

Within a partition, placement is sticky by function id: every call of one function
goes to the same worker slot, where its `vm` contexts (and so its globals and
`cache`) live between invocations. crc32, not ``hash()``: the same id lands on the
same slot in every process, whatever its string-hash seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runtime.worker_slot import Worker

if TYPE_CHECKING:
    from runtime.pool import WorkerPool


def worker_index(function_id: str, worker_count: int) -> int:
    """The index, in ``range(worker_count)``, of the worker that runs ``function_id``."""
    return zlib.crc32(function_id.encode()) % worker_count


@dataclass
class Partition:
    """The worker slots of one workspace (or, past the cap, of several)."""

    key: str
    workers: list[Worker]
    last_used: float
    tenants: set[str] = field(default_factory=set)  # workspace ids placed here

    def busy(self) -> bool:
        return any(w.process is not None and w.process.pending for w in self.workers)


class Placement:
    """The partitions of one pool, created on demand and reaped when idle."""

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self.partitions: dict[str, Partition] = {}
        self._shared: dict[str, str] = {}  # workspace id -> key of the partition it shares
        self._next_reap = 0.0

    def partition_for(self, workspace_id: str, now: float) -> Partition:
        key = workspace_id if workspace_id in self.partitions else self._shared.get(workspace_id)
        partition = self.partitions.get(key) if key is not None else None
        if partition is None:
            partition = self._place(workspace_id, now)
        partition.last_used = now
        return partition

    def _place(self, workspace_id: str, now: float) -> Partition:
        config = self.pool.config
        if len(self.partitions) < max(1, config.max_partitions):
            workers = [Worker(self.pool, i) for i in range(config.worker_count)]
            partition = Partition(workspace_id, workers, now)
            self.partitions[workspace_id] = partition
        else:
            keys = sorted(self.partitions)
            partition = self.partitions[keys[zlib.crc32(workspace_id.encode()) % len(keys)]]
            self._shared[workspace_id] = partition.key
        partition.tenants.add(workspace_id)
        return partition

    def worker_for(self, workspace_id: str, function_id: str, now: float) -> Worker:
        workers = self.partition_for(workspace_id, now).workers
        return workers[worker_index(function_id, len(workers))]

    def reap_idle(self, now: float) -> list[Partition]:
        """Forget the partitions idle for longer than the configured time; the caller
        stops their workers. Checked at most twice per idle time."""
        idle_s = self.pool.config.partition_idle_s
        if now < self._next_reap:
            return []
        self._next_reap = now + idle_s / 2
        reaped = [
            p for p in self.partitions.values() if now - p.last_used > idle_s and not p.busy()
        ]
        for partition in reaped:
            del self.partitions[partition.key]
            for tenant in partition.tenants:
                self._shared.pop(tenant, None)
        return reaped

    def all_workers(self) -> list[Worker]:
        return [w for p in self.partitions.values() for w in p.workers]
