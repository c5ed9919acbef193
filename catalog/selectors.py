from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from catalog.models import (
    Deployment,
    DestinationInstance,
    Function,
    FunctionVersion,
    Source,
)
from catalog.settings_schema import setting_values_masked, setting_values_write_only
from workspaces.permissions import WorkspaceAccess


def function_list(*, access: WorkspaceAccess) -> QuerySet[Function]:
    """The workspace's functions that this member may see (filtered, not only checked)."""
    return Function.objects.filter(workspace=access.workspace).filter(access.visible_functions_q())


def function_list_with_latest(*, access: WorkspaceAccess) -> QuerySet[Function]:
    """Visible functions annotated with ``latest_version``, by name (Meta.ordering does not
    apply to aggregate queries)."""
    return (
        function_list(access=access)
        .annotate(latest_version=Max("versions__number"))
        .order_by("name")
    )


class HealthState(NamedTuple):
    """A health state of destination instances: its name, how it reads, which are in it."""

    state: str
    label: str
    instances: Q  # a filter on DestinationInstance


# An enabled instance whose deliveries fail consistently: the event pipeline judges that
# and sets ``failing_since`` (``instances_health_set``); a disabled one is just disabled.
FAILING_INSTANCES = Q(enabled=True, failing_since__isnull=False)

# The health states the Catalog shows, in display order.
INSTANCE_HEALTH_STATES: tuple[HealthState, ...] = (
    HealthState("failing", "failing", FAILING_INSTANCES),
    HealthState("enabled", "enabled", Q(enabled=True, failing_since__isnull=True)),
    HealthState("disabled", "disabled", Q(enabled=False)),
)
# Dots drawn per state before the rest are summed up as "+n".
HEALTH_DOTS_MAX = 10
# Longest search the Functions tab takes (names are at most 100 characters).
CATALOG_QUERY_MAX = 100


@dataclass(frozen=True)
class HealthCount:
    """How many of a function's destination instances are in one health state."""

    state: str
    label: str
    count: int

    @property
    def dots(self) -> range:
        return range(min(self.count, HEALTH_DOTS_MAX))

    @property
    def overflow(self) -> int:
        return max(self.count - HEALTH_DOTS_MAX, 0)


@dataclass(frozen=True)
class FunctionCatalogRow:
    """One line of the Catalog's Functions tab."""

    function: Function  # with ``updated_by`` loaded
    latest_version: int
    instance_count: int
    health: list[HealthCount]  # states with at least one instance, in INSTANCE_HEALTH_STATES order

    @property
    def health_summary(self) -> str:
        return ", ".join(f"{h.count} {h.label}" for h in self.health)


def _instance_count(instances: Q) -> Coalesce:
    """A correlated count of the function's instances (a subquery, so that counting several
    states and the latest version never multiplies joined rows)."""
    counted = (
        DestinationInstance.objects.filter(instances, function=OuterRef("pk"))
        .order_by()
        .values("function")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def function_catalog_list(*, access: WorkspaceAccess, query: str = "") -> list[FunctionCatalogRow]:
    """The visible functions as the Catalog lists them, in one query: latest version, who
    edited each last, how many destination instances run it and their health. ``query``
    keeps those whose name or description contains it (case-insensitive)."""
    functions = function_list_with_latest(access=access).select_related("updated_by")
    query = query.strip()[:CATALOG_QUERY_MAX]
    if query:
        functions = functions.filter(Q(name__icontains=query) | Q(description__icontains=query))
    counts = {f"health_{h.state}": _instance_count(h.instances) for h in INSTANCE_HEALTH_STATES}
    rows = []
    for function in functions.annotate(**counts):
        health = [
            HealthCount(state=h.state, label=h.label, count=getattr(function, f"health_{h.state}"))
            for h in INSTANCE_HEALTH_STATES
        ]
        rows.append(
            FunctionCatalogRow(
                function=function,
                latest_version=function.latest_version,  # type: ignore[attr-defined]  # from annotate()
                instance_count=sum(h.count for h in health),
                health=[h for h in health if h.count],
            )
        )
    return rows


def function_get(*, access: WorkspaceAccess, function_id: int) -> Function:
    function = function_list(access=access).filter(id=function_id).first()
    if function is None:
        raise Http404("No such function")
    return function


def function_latest_number(*, function: Function) -> int:
    return function.versions.aggregate(n=Max("number"))["n"] or 0


def function_latest_version(*, function: Function) -> FunctionVersion | None:
    """The LATEST version, with who saved it."""
    return function.versions.select_related("created_by").order_by("-number").first()


def function_version_list(*, function: Function) -> QuerySet[FunctionVersion]:
    return function.versions.order_by("-number")


def function_version_get(*, function: Function, number: int) -> FunctionVersion:
    version = function.versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version")
    return version


def function_deployed_numbers(*, function: Function) -> set[int]:
    """Numbers of the versions that at least one instance runs."""
    return set(
        DestinationInstance.objects.filter(function=function).values_list(
            "deployed_version__number", flat=True
        )
    )


def version_states(*, number: int, latest: int, deployed: set[int]) -> list[str]:
    """LATEST is the newest version; DEPLOYED, any version an instance runs."""
    return (["LATEST"] if number == latest else []) + (["DEPLOYED"] if number in deployed else [])


def function_version_states(*, function: Function, version: FunctionVersion) -> list[str]:
    return version_states(
        number=version.number,
        latest=function_latest_number(function=function),
        deployed=function_deployed_numbers(function=function),
    )


def function_versions_with_states(*, function: Function) -> list[tuple[FunctionVersion, list[str]]]:
    latest = function_latest_number(function=function)
    deployed = function_deployed_numbers(function=function)
    versions = function_version_list(function=function).select_related("created_by")
    return [
        (v, version_states(number=v.number, latest=latest, deployed=deployed)) for v in versions
    ]


def deployment_list(*, function: Function) -> QuerySet[Deployment]:
    return function.deployments.select_related("version", "created_by").prefetch_related(
        "instances"
    )


def _previous_deployments(instance_ref: Any, deployed_version_ref: Any) -> QuerySet[Deployment]:
    """An instance's history before its current version, newest first: the entries that put
    a version other than the one it runs now on it (redeploys of the same one do not count).
    Ordered by id, which grows with every entry whatever the clock says."""
    return (
        Deployment.objects.filter(instances=instance_ref)
        .exclude(version_id=deployed_version_ref)
        .order_by("-id")
    )


def instance_list(*, access: WorkspaceAccess) -> QuerySet[DestinationInstance]:
    """Visible instances, each annotated with ``previous_version_number`` (the version it
    ran before its current one, None when it has run no other)."""
    instances = DestinationInstance.objects.filter(workspace=access.workspace)
    if not access.can_manage_sources:
        instances = instances.filter(access.visible_functions_q(prefix="function__"))
    previous = _previous_deployments(OuterRef("pk"), OuterRef("deployed_version_id")).values(
        "version__number"
    )[:1]
    return instances.select_related("function", "source", "deployed_version").annotate(
        previous_version_number=Subquery(previous, output_field=IntegerField())
    )


def instance_failing_list(*, access: WorkspaceAccess) -> QuerySet[DestinationInstance]:
    """The visible instances whose deliveries fail consistently, longest failing first."""
    return instance_list(access=access).filter(FAILING_INSTANCES).order_by("failing_since", "pk")


def instance_get(*, access: WorkspaceAccess, instance_id: int) -> DestinationInstance:
    instance = instance_list(access=access).filter(id=instance_id).first()
    if instance is None:
        raise Http404("No such destination instance")
    return instance


def instance_previous_version(*, instance: DestinationInstance) -> FunctionVersion | None:
    """The version the instance ran before its current one, or None when it has run no
    other: what a rollback would deploy to it."""
    deployment = (
        _previous_deployments(instance.pk, instance.deployed_version_id)
        .select_related("version")
        .first()
    )
    return deployment.version if deployment is not None else None


def instance_previous_number(*, instance: DestinationInstance) -> int | None:
    """``previous_version_number`` from ``instance_list``'s annotation when the instance came
    from there, else read."""
    if hasattr(instance, "previous_version_number"):
        annotated: int | None = instance.previous_version_number
        return annotated
    previous = instance_previous_version(instance=instance)
    return previous.number if previous is not None else None


def instance_secret_values(*, instance: DestinationInstance) -> dict[str, str]:
    """Decrypted values of encrypted settings: for the runtime only, never for display."""
    values: dict[str, str] = json.loads(instance.encrypted_settings or "{}")
    return values


def instance_settings_masked(*, instance: DestinationInstance) -> dict[str, Any]:
    return setting_values_masked(
        schema=instance.deployed_version.settings_schema,
        plain=instance.settings,
        secret=instance_secret_values(instance=instance),
    )


def instance_write_only_names(*, instance: DestinationInstance) -> list[str]:
    """The settings whose values ``instance_settings_masked`` shows masked: encrypted by
    the schema, or entered as secrets when an earlier schema said so."""
    return setting_values_write_only(
        schema=instance.deployed_version.settings_schema,
        plain=instance.settings,
        secret=instance_secret_values(instance=instance),
    )


def source_list(*, access: WorkspaceAccess) -> QuerySet[Source]:
    if not access.can_view_sources:
        return Source.objects.none()
    return Source.objects.filter(workspace=access.workspace)


def source_get(*, access: WorkspaceAccess, source_id: int) -> Source:
    source = source_list(access=access).filter(id=source_id).first()
    if source is None:
        raise Http404("No such source")
    return source
