from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from workspaces.models import Workspace


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    target: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


def audit_event_list(
    *, workspace: Workspace, filters: AuditFilters | None = None
) -> QuerySet[AuditEvent]:
    """What happened in the workspace. Sign-ins (and failed ones) belong to no workspace and
    stay out of every workspace's trail: a member's sign-in times and addresses are theirs,
    not their workspaces' owners' (one may be in several workspaces of different owners)."""
    filters = filters or AuditFilters()
    events = AuditEvent.objects.filter(workspace=workspace)
    if filters.actor:
        events = events.filter(actor_label__icontains=filters.actor)
    if filters.action:
        events = events.filter(action__icontains=filters.action)
    if filters.target:
        events = events.filter(
            Q(target_label__icontains=filters.target)
            | Q(target_type__iexact=filters.target)
            | Q(target_id=filters.target)
        )
    if filters.since:
        events = events.filter(created_at__date__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__date__lte=filters.until)
    return events.order_by("-created_at", "-id")


def audit_action_names(*, workspace: Workspace) -> list[str]:
    return sorted(set(audit_event_list(workspace=workspace).values_list("action", flat=True)))


CSV_COLUMNS = ["time", "actor", "action", "target_type", "target_id", "target", "ip", "changes"]


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_events_csv_rows(*, events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV lines for streaming; cells starting with a formula character are defused."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=500):
        row = [
            event.created_at.isoformat(),
            event.actor_label,
            event.action,
            event.target_type,
            event.target_id,
            event.target_label,
            event.ip_address or "",
            event.changes,
        ]
        yield writer.writerow([_defuse(str(cell)) for cell in row])


def _defuse(cell: str) -> str:
    # Spreadsheets execute cells starting with these; a name like "=cmd()" must stay text.
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
