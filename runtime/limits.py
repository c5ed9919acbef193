"""The limits and timings of the worker pool, as named constants.

The runtime reads them as ``limits.NAME`` rather than importing the names, so that
changing one here (as a test does with monkeypatch) changes it everywhere at once.
The limits of one request are beside their code: fetch.py (requests and
responses), masking.py (traces), egress.py (DNS); services.py has the payload's.
"""

from __future__ import annotations

DEFAULT_TIMEOUT_MS = 5000
MAX_TIMEOUT_MS = 60_000
DEFAULT_MEMORY_MB = 128
MAX_CONTEXTS_PER_WORKER = 100  # loaded function versions kept per worker (LRU)
MAX_LOG_BYTES = 64 * 1024  # console output kept per invocation
MAX_LOG_LINES = 1000
MAX_RESULT_BYTES = 256 * 1024
MAX_REQUESTS = 200  # fetch calls (and traces) per invocation
MAX_CACHE_ENTRIES = 1000  # cache.load entries per function
# Node answers a timeout itself; the Python side only steps in (killing the worker)
# when a worker has not answered this long after the deadline.
KILL_GRACE_S = 1.0
# Whatever the worker does (even answering heartbeats), a call is answered by its
# deadline (timeout + KILL_GRACE_S) plus this: Python answers it and the worker that
# owes the answer is killed and replaced.
ANSWER_GRACE_S = 1.0
WATCHDOG_INTERVAL_S = 0.25
FETCH_OVERRUN_S = 0.25
READ_CHUNK = 1 << 16
# The longest line a worker may send (it caps its own at 8 MB); a longer one is a
# protocol violation and the worker is killed.
MAX_LINE_BYTES = 16 * 1024 * 1024
# A worker that got calls while idle must answer a heartbeat this fast; if it does
# not, it was stuck before those calls arrived (code running outside any call) and
# they are not blamed for it.
HEARTBEAT_GRACE_S = 2.0
MAX_CONCURRENT_FETCHES = 64  # per pool
# So that one function cannot take every pool slot: at most 8 fetches in flight per
# call, and 16 per function whatever its number of calls in flight.
MAX_FETCHES_IN_FLIGHT_PER_CALL = 8
MAX_FETCHES_IN_FLIGHT_PER_FUNCTION = 16
# Beyond the pool's slots, a reserve that only a workspace under its fair share may
# use, at most 4 slots of it per workspace (runtime/fetch_slots.py): so at most 80
# fetches in flight per pool.
FETCH_RESERVE = 16
FETCH_RESERVE_PER_WORKSPACE = 4
# --max-old-space-size bounds the JS heap but not ArrayBuffers (off-heap): the OS
# data-segment limit bounds those, so a buffer bomb fails with a RangeError.
DATA_LIMIT_MIN_MB = 1024
DATA_LIMIT_FACTOR = 4
# Tenant isolation (runtime/placement.py): at most this many partitions of worker
# slots (one per workspace, then shared by hash), each reaped after this idle time.
MAX_PARTITIONS = 16
PARTITION_IDLE_S = 300.0
