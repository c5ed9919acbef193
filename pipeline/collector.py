"""The garbage collector's settings for the pipeline's long-running processes: the web
server (the Tracking API's) and the delivery workers.

Each holds some 100,000 objects loaded at start (Django, the apps, the runtime client),
and a full collection walks all of them: 30 to 100 ms on the bench machine, during which
no request is answered and no result recorded. With Python's defaults one runs every
few hundred Tracking API requests (Daphne keeps a request's objects for about a second,
long enough to age them into the oldest generation): those pauses were the p99 of the
single-event ingest (``make bench``). Hence, once a process is loaded:

* ``gc.freeze()``: what is loaded by now lives as long as the process, out of the
  collector's sight;
* the oldest generation is collected ten times less often (``OLDEST_THRESHOLD``). Python
  still waits, besides, until it has grown by a quarter, so its garbage stays bounded.
"""

from __future__ import annotations

import gc

OLDEST_THRESHOLD = 100  # Python's default: 10


def collector_settle_long_lived() -> None:
    """Call once the process has loaded what it keeps for its life."""
    gc.collect()
    gc.freeze()
    youngest, middle, _ = gc.get_threshold()
    gc.set_threshold(youngest, middle, OLDEST_THRESHOLD)
