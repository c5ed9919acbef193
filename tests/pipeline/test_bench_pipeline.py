"""python manage.py bench_pipeline (make bench), run small: every figure is printed."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command


def test_the_benchmark_prints_each_figure_beside_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)  # a temporary SQLite of its own
    out = io.StringIO()
    call_command(
        "bench_pipeline", requests=30, batches=3, deliver=200, clients=4, batch_clients=2,
        stdout=out,
    )  # fmt: skip
    report = out.getvalue()
    for label in (
        "single-event /v1/track, 4 clients: requests/s",
        "single-event /v1/track, 4 clients: latency p50 / p99",
        "100-event /v1/batch, 2 clients: events/s",
        "100-event /v1/batch, 2 clients: latency p50 / p99",
    ):
        assert re.search(rf"{re.escape(label)}\s+[\d,.]+ .*target", report), label
    assert re.search(
        r"empty ASGI app\s+[\d,]+ requests/s \(one Daphne process's own ceiling", report
    )
    assert re.search(
        r"events/s\s+[\d,]+ \(target >= 5,000; the runtime alone.*: [\d,]+/s\)", report
    )
