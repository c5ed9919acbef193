from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import DestinationInstance, Source
from pipeline.models import Event

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
