"""Which worker of a pool runs a function.

Placement is sticky by function id: every call of one function goes to the same
worker, where its `vm` contexts (and so its globals and `cache`) live between
invocations. crc32, not ``hash()``: the same id lands on the same worker in every
process, whatever its string-hash seed.
"""

from __future__ import annotations

import zlib


def worker_index(function_id: str, worker_count: int) -> int:
    """The index, in ``range(worker_count)``, of the worker that runs ``function_id``."""
    return zlib.crc32(function_id.encode()) % worker_count
