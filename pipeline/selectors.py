from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from catalog.models import DestinationInstance, FunctionVersion, Source
from catalog.selectors import instance_secret_values
from pipeline.models import DeliveryJob, Event, InstanceFilters

# The events a source keeps at hand for the IDE's sample picker.
RECENT_EVENTS_MAX = 100


def source_for_write_key(*, write_key: str) -> Source | None:
    if not write_key:
        return None
    return Source.objects.filter(write_key=write_key).first()


def source_enabled_instance_ids(*, source: Source) -> list[int]:
    """The destinations each new event of ``source`` goes to."""
    return list(
        DestinationInstance.objects.filter(source=source, enabled=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def source_recent_events(*, source: Source, limit: int = RECENT_EVENTS_MAX) -> QuerySet[Event]:
    """The source's most recent events, newest first (at most ``RECENT_EVENTS_MAX``)."""
    limit = max(0, min(limit, RECENT_EVENTS_MAX))
    return Event.objects.filter(source=source).order_by("-id")[:limit]


def instance_filters_get(*, instance: DestinationInstance) -> InstanceFilters:
    """The instance's destination filters: an unsaved row without rules when it has none."""
    found = InstanceFilters.objects.filter(instance=instance).select_related("updated_by").first()
    return found or InstanceFilters(instance=instance, rules=[])


@dataclass(frozen=True)
class InstanceRun:
    """What running one instance's deliveries takes, loaded once per batch. ``settings``
    holds the values of encrypted settings too: for the runtime only."""

    instance_id: int
    workspace_id: int
    enabled: bool
    version: FunctionVersion
    settings: dict[str, Any]
    # Why its stored row cannot be run (then its jobs are discarded, not the round).
    problem: str | None = None
    # Its destination filters, as stored (pipeline/filters.py); empty: every event passes.
    filters: Sequence[dict[str, Any]] = ()


@dataclass(frozen=True)
class ClaimedJob:
    job_id: int
    attempt: int  # the attempt this claim is (the job's ``attempts`` after the claim)
    instance_id: int
    payload: dict[str, Any]


def _instance_run(instance: DestinationInstance, filters: Sequence[dict[str, Any]]) -> InstanceRun:
    problem = None
    settings: dict[str, Any] = {}
    try:
        if not isinstance(instance.settings, dict):
            raise ValueError("they are not a JSON object")
        settings = {**instance.settings, **instance_secret_values(instance=instance)}
    except Exception as exc:  # one broken row must not stall the other instances' jobs
        problem = f"The instance's stored settings could not be read ({exc})."
    return InstanceRun(
        instance_id=instance.pk,
        workspace_id=instance.workspace_id,
        enabled=instance.enabled,
        version=instance.deployed_version,
        settings=settings,
        problem=problem,
        filters=filters,
    )


def delivery_batch_load(*, job_ids: list[int]) -> tuple[list[ClaimedJob], dict[int, InstanceRun]]:
    """The claimed jobs with their events, and each of their instances once, with its
    deployed version, full setting values and filters."""
    jobs = list(DeliveryJob.objects.filter(pk__in=job_ids).select_related("event").order_by("pk"))
    instance_ids = {job.instance_id for job in jobs}
    instances = DestinationInstance.objects.filter(pk__in=instance_ids).select_related(
        "deployed_version"
    )
    filters = dict(
        InstanceFilters.objects.filter(instance_id__in=instance_ids).values_list(
            "instance_id", "rules"
        )
    )
    runs = {
        instance.pk: _instance_run(instance, filters.get(instance.pk, ())) for instance in instances
    }
    claims = [
        ClaimedJob(
            job_id=job.pk,
            attempt=job.attempts,
            instance_id=job.instance_id,
            payload=job.event.payload,
        )
        for job in jobs
    ]
    return claims, runs
