"""The web server's process hides what it loaded from the garbage collector's full
collections, which it runs ten times less often (pipeline/collector.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from django.conf import settings

from pipeline.collector import OLDEST_THRESHOLD

LOAD_THE_SERVER = """
import gc, json
before = gc.get_freeze_count(), gc.get_threshold()
import functions_ide.asgi
print(json.dumps([before, [gc.get_freeze_count(), gc.get_threshold()]]))
"""


def test_loading_the_web_server_freezes_what_it_loaded_and_spaces_full_collections() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOAD_THE_SERVER],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    (frozen_before, before), (frozen_after, after) = json.loads(done.stdout.splitlines()[-1])
    assert frozen_before == 0 and before[2] != OLDEST_THRESHOLD
    assert frozen_after > 50_000  # Django and the apps, at the least
    assert after == [before[0], before[1], OLDEST_THRESHOLD]
