from __future__ import annotations

import json
from typing import Any

from django.db.models import Max, QuerySet
from django.http import Http404

from catalog.models import (
    Deployment,
    DestinationInstance,
    Function,
    FunctionVersion,
    Source,
)
from catalog.settings_schema import setting_values_masked
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


def function_get(*, access: WorkspaceAccess, function_id: int) -> Function:
    function = function_list(access=access).filter(id=function_id).first()
    if function is None:
        raise Http404("No such function")
    return function


def function_latest_number(*, function: Function) -> int:
    return function.versions.aggregate(n=Max("number"))["n"] or 0


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


def instance_list(*, access: WorkspaceAccess) -> QuerySet[DestinationInstance]:
    instances = DestinationInstance.objects.filter(workspace=access.workspace)
    if not access.can_manage_sources:
        instances = instances.filter(access.visible_functions_q(prefix="function__"))
    return instances.select_related("function", "source", "deployed_version")


def instance_get(*, access: WorkspaceAccess, instance_id: int) -> DestinationInstance:
    instance = instance_list(access=access).filter(id=instance_id).first()
    if instance is None:
        raise Http404("No such destination instance")
    return instance


def instance_secret_values(*, instance: DestinationInstance) -> dict[str, str]:
    """Decrypted values of encrypted settings: for the runtime only, never for display."""
    return json.loads(instance.encrypted_settings or "{}")


def instance_settings_masked(*, instance: DestinationInstance) -> dict[str, Any]:
    return setting_values_masked(
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
