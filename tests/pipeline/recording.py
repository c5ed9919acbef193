"""Recording delivery results the way a worker does: claim, load, record."""

from __future__ import annotations

from catalog.models import DestinationInstance
from pipeline.selectors import delivery_batch_load
from pipeline.services import (
    DeliveryResult,
    delivery_jobs_claim,
    delivery_results_record,
)
from tests.pipeline.test_delivery_claims import pending_jobs

_rounds = iter(range(1_000_000))


def record_round(
    instance: DestinationInstance, *results: tuple[str, int | None], worker: str = "w1"
) -> int:
    """A round of one job per ``(outcome, duration_ms)`` of ``instance``, recorded."""
    pending_jobs(instance, len(results), prefix=f"r{next(_rounds)}")
    job_ids = delivery_jobs_claim(worker_id=worker, limit=len(results), lease_s=60)
    claims, _ = delivery_batch_load(job_ids=job_ids)
    return delivery_results_record(
        results=[
            DeliveryResult(
                job_id=claim.job_id, attempt=claim.attempt, outcome=outcome, duration_ms=ms
            )
            for claim, (outcome, ms) in zip(claims, results, strict=True)
        ],
        worker_id=worker,
    )
