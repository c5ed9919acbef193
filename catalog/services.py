from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit.redaction import mask_secret
from audit.services import audit_record
from catalog.events import function_changed_notify
from catalog.models import (
    Deployment,
    DeploymentKind,
    DestinationInstance,
    Function,
    FunctionVersion,
    Source,
)
from catalog.selectors import (
    function_latest_number,
    function_latest_version,
    instance_previous_version,
    instance_secret_values,
)
from catalog.settings_schema import (
    contains_bad_text,
    setting_values_clean,
    setting_values_masked,
    setting_values_problems,
    setting_values_rehome,
    settings_schema_clean,
)
from runtime.pool import MAX_TIMEOUT_MS
from workspaces.models import Role, RoleGrant, Workspace
from workspaces.permissions import DELETE_FUNCTION_REFUSED, DELETE_SOURCE_REFUSED

MAX_CODE_BYTES = 512 * 1024
MAX_DESCRIPTION_CHARS = 2000
# Whether the caller may change (and so remove) the destinations of a function, by its id.
MayChangeInstances = Callable[[int], bool]
MIN_TIMEOUT_MS = 100
# Marks an optional argument the caller left out, where None is a meaningful value.
UNCHANGED: Any = object()
TEMPLATES_DIR = Path(__file__).parent / "function_templates"


def function_default_code() -> str:
    from catalog.function_templates import template_default

    return template_default().code


class VersionConflict(ValidationError):
    """A save based on a version that is no longer LATEST: someone saved (or restored)
    since the editor was opened. Nothing was saved; the caller should reload or compare."""

    def __init__(self, *, base_version: int, latest_version: int, saved_by: str | None) -> None:
        self.base_version = base_version
        self.latest_version = latest_version
        self.saved_by = saved_by
        if base_version > latest_version:
            message = (
                f"You opened version {base_version}, but the latest is version "
                f"{latest_version}. Reload before saving."
            )
        else:
            by = f" by {saved_by}" if saved_by else ""
            message = (
                f"Version {latest_version} was saved{by} since you opened version "
                f"{base_version}. Reload or compare before saving."
            )
        super().__init__({"base_version": message})


def _base_version_check(*, function: Function, base_version: int | None) -> None:
    """Call while holding the function's row lock, so that no save slips in between."""
    if base_version is None:
        return
    latest = function_latest_version(function=function)
    assert latest is not None, "every function has a version 1"
    if latest.number != base_version:
        raise VersionConflict(
            base_version=base_version,
            latest_version=latest.number,
            saved_by=latest.created_by.get_username() if latest.created_by else None,
        )


def _clean_name(value: Any, *, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({field: "This field is required."})
    if len(value.strip()) > 100:
        raise ValidationError({field: "At most 100 characters."})
    return value.strip()


def _clean_description(value: Any) -> str:
    # Too long is refused, never cut: cutting would lose text without a word (and every
    # resubmission of the same text would count as a change).
    if not isinstance(value, str):
        raise ValidationError({"description": "Must be text."})
    if len(value) > MAX_DESCRIPTION_CHARS:
        raise ValidationError({"description": f"At most {MAX_DESCRIPTION_CHARS} characters."})
    if contains_bad_text(value):
        raise ValidationError({"description": "Cannot contain NUL characters or lone surrogates."})
    return value


def _clean_code(code: Any) -> str:
    if not isinstance(code, str):
        raise ValidationError({"code": "Code must be text."})
    if contains_bad_text(code):
        raise ValidationError({"code": "Code cannot contain NUL characters or lone surrogates."})
    if len(code.encode()) > MAX_CODE_BYTES:
        raise ValidationError({"code": f"Code is larger than {MAX_CODE_BYTES // 1024} KB."})
    return code


def _clean_timeout(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError({"timeout_ms": "Give a whole number of milliseconds, or null."})
    if not MIN_TIMEOUT_MS <= value <= MAX_TIMEOUT_MS:
        raise ValidationError(
            {"timeout_ms": f"Must be between {MIN_TIMEOUT_MS} and {MAX_TIMEOUT_MS} ms."}
        )
    return value


def _schema_summary(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    old, new = {s["name"]: s for s in before}, {s["name"]: s for s in after}
    return {
        "settings_added": sorted(set(new) - set(old)),
        "settings_removed": sorted(set(old) - set(new)),
        "settings_changed": sorted(n for n in set(old) & set(new) if old[n] != new[n]),
    }


def _create_version(
    *, function: Function, actor: User, restored_from: int | None = None
) -> FunctionVersion:
    return FunctionVersion.objects.create(
        function=function,
        number=function_latest_number(function=function) + 1,
        code=function.code,
        settings_schema=function.settings_schema,
        timeout_ms=function.timeout_ms,
        restored_from=restored_from,
        created_by=actor,
    )


def _unique_name_check(*, workspace: Workspace, name: str, exclude_id: int | None = None) -> None:
    clash = Function.objects.filter(workspace=workspace, name__iexact=name)
    if exclude_id is not None:
        clash = clash.exclude(id=exclude_id)
    if clash.exists():
        raise ValidationError({"name": f"A function named '{name}' already exists."})


@transaction.atomic
def function_create(
    *,
    workspace: Workspace,
    name: str,
    actor: User,
    description: str = "",
    code: str | None = None,
    settings_schema: Any = None,
    timeout_ms: int | None = None,
) -> Function:
    """Create a function and its version 1 (LATEST). A creator whose Functions Admin role
    covers a subset gets the new function added to it, so they can go on editing it."""
    name = _clean_name(name)
    _unique_name_check(workspace=workspace, name=name)
    function = Function.objects.create(
        workspace=workspace,
        name=name,
        description=_clean_description("" if description is None else description),
        code=_clean_code(function_default_code() if code is None else code),
        settings_schema=settings_schema_clean([] if settings_schema is None else settings_schema),
        timeout_ms=_clean_timeout(timeout_ms),
        created_by=actor,
        updated_by=actor,
    )
    _create_version(function=function, actor=actor)
    scoped_grant = RoleGrant.objects.filter(
        membership__workspace=workspace,
        membership__user=actor,
        role=Role.FUNCTIONS_ADMIN,
        all_functions=False,
    ).first()
    if scoped_grant is not None:
        scoped_grant.functions.add(function)
    audit_record(
        action="function.created",
        actor=actor,
        workspace=workspace,
        target=function,
        changes={
            "added_to_creators_subset": scoped_grant is not None,
            "name": name,
            "version": 1,
            "settings": [s["name"] for s in function.settings_schema],
        },
    )
    return function


@transaction.atomic
def function_update(
    *,
    function: Function,
    actor: User,
    name: str | None = None,
    description: str | None = None,
    code: str | None = None,
    settings_schema: Any = None,
    timeout_ms: int | object | None = UNCHANGED,
    base_version: int | None = None,
) -> Function:
    """Edit a function. Changing code, settings or the time limit saves a new LATEST
    version; deployed instances keep running the version they have until a deploy.
    Nothing changed, nothing written (no audit row either).

    ``base_version`` is the version the editor was opened on: when given and no longer
    LATEST, nothing is saved and ``VersionConflict`` is raised (None: last write wins)."""
    function = Function.objects.select_for_update().get(pk=function.pk)
    _base_version_check(function=function, base_version=base_version)
    changes: dict[str, Any] = {}
    if name is not None:
        name = _clean_name(name)
        if name != function.name:
            _unique_name_check(workspace=function.workspace, name=name, exclude_id=function.pk)
            changes["name"] = {"from": function.name, "to": name}
            function.name = name
    if description is not None:
        description = _clean_description(description)
        if description != function.description:
            changes["description"] = "changed"
            function.description = description
    saves_version = False
    # The time limit is part of the version, like the code: changing it on a live
    # instance takes a deploy.
    if timeout_ms is not UNCHANGED:
        timeout = _clean_timeout(timeout_ms)
        if timeout != function.timeout_ms:
            changes["timeout_ms"] = {"from": function.timeout_ms, "to": timeout}
            function.timeout_ms = timeout
            saves_version = True
    if code is not None and _clean_code(code) != function.code:
        changes["code"] = "changed"
        function.code = code
        saves_version = True
    if settings_schema is not None:
        cleaned = settings_schema_clean(settings_schema)
        if cleaned != function.settings_schema:
            changes.update(_schema_summary(function.settings_schema, cleaned))
            function.settings_schema = cleaned
            saves_version = True
    if not changes:
        return function
    function.updated_by = actor
    function.save()
    action = "function.edited"
    if saves_version:
        version = _create_version(function=function, actor=actor)
        changes["version"] = version.number
        action = "function.saved"
    audit_record(
        action=action, actor=actor, workspace=function.workspace, target=function, changes=changes
    )
    function_changed_notify(
        function_id=function.pk,
        change=action,
        version=changes.get("version"),
        actor=actor.get_username(),
    )
    return function


@transaction.atomic
def function_delete(
    *, function: Function, actor: User, may_change_instances: MayChangeInstances
) -> None:
    """Delete a function with its versions and destinations. Removing live destinations
    needs the right to change them (``may_change_instances(function_id)``), checked under a
    lock on the function so that a destination connected meanwhile counts too."""
    function = Function.objects.select_for_update().get(pk=function.pk)
    workspace, label, function_id = function.workspace, function.name, function.pk
    instance_count = function.instances.count()
    if instance_count and not may_change_instances(function_id):
        raise PermissionDenied(DELETE_FUNCTION_REFUSED)
    function.delete()
    audit_record(
        action="function.deleted",
        actor=actor,
        workspace=workspace,
        target_label=label,
        changes={"function_id": function_id, "instances_removed": instance_count},
    )
    function_changed_notify(
        function_id=function_id, change="function.deleted", actor=actor.get_username()
    )


@transaction.atomic
def function_version_restore(
    *, function: Function, version: FunctionVersion, actor: User
) -> FunctionVersion:
    """Copy an old version as the new LATEST; deployed instances are untouched."""
    if version.function_id != function.pk:
        raise ValidationError({"version": "That version belongs to another function."})
    function = Function.objects.select_for_update().get(pk=function.pk)
    function.code = version.code
    function.settings_schema = version.settings_schema
    function.timeout_ms = version.timeout_ms
    function.updated_by = actor
    function.save(
        update_fields=["code", "settings_schema", "timeout_ms", "updated_by", "updated_at"]
    )
    restored = _create_version(function=function, actor=actor, restored_from=version.number)
    audit_record(
        action="function.restored",
        actor=actor,
        workspace=function.workspace,
        target=function,
        changes={"restored_from": version.number, "version": restored.number},
    )
    function_changed_notify(
        function_id=function.pk,
        change="function.restored",
        version=restored.number,
        actor=actor.get_username(),
    )
    return restored


def _instances_of(function: Function, instances: Sequence[DestinationInstance]) -> None:
    if not instances:
        raise ValidationError({"instances": "Choose at least one destination instance."})
    foreign = [i.pk for i in instances if i.function_id != function.pk]
    if foreign:
        raise ValidationError({"instances": f"Not instances of this function: {foreign}."})


def _point_at(
    *,
    function: Function,
    version: FunctionVersion,
    instances: Sequence[DestinationInstance],
    actor: User,
    kind: str,
) -> tuple[Deployment, list[DestinationInstance]]:
    """Point the instances (of ``function``) at ``version`` and record it in their history;
    the checks and the moves every deploy shares. All or none: the stored values of every
    instance are checked against the version's schema (types and required settings) and
    any problem stops the whole deploy, naming instance, setting and problem. Call inside
    a transaction."""
    locked = list(
        DestinationInstance.objects.select_for_update().filter(pk__in=[i.pk for i in instances])
    )
    schema = version.settings_schema
    rehomed: list[tuple[DestinationInstance, dict[str, Any], dict[str, str]]] = []
    problems: list[str] = []
    for instance in locked:
        plain, secret = setting_values_rehome(
            schema=schema, plain=instance.settings, secret=instance_secret_values(instance=instance)
        )
        found = setting_values_problems(schema=schema, plain=plain, secret=secret)
        problems.extend(f"{instance.name}: {problem}" for problem in found)
        rehomed.append((instance, plain, secret))
    if problems:
        raise ValidationError({"instances": problems})
    for instance, plain, secret in rehomed:
        _store_settings(instance, plain, secret)
        instance.deployed_version = version
        instance.save(
            update_fields=["deployed_version", "settings", "encrypted_settings", "updated_at"]
        )
    deployment = Deployment.objects.create(
        function=function, version=version, kind=kind, created_by=actor
    )
    deployment.instances.set(locked)
    return deployment, locked


@transaction.atomic
def function_deploy(
    *,
    function: Function,
    version: FunctionVersion,
    instances: Sequence[DestinationInstance],
    actor: User,
) -> Deployment:
    """Point the chosen instances at ``version``. All or none: an instance whose stored
    values the version does not accept (a wrong type, a required setting missing) stops
    the whole deploy."""
    if version.function_id != function.pk:
        raise ValidationError({"version": "That version belongs to another function."})
    _instances_of(function, instances)
    deployment, locked = _point_at(
        function=function,
        version=version,
        instances=instances,
        actor=actor,
        kind=DeploymentKind.DEPLOY,
    )
    audit_record(
        action="function.deployed",
        actor=actor,
        workspace=function.workspace,
        target=function,
        changes={"version": version.number, "instances": sorted(i.name for i in locked)},
    )
    function_changed_notify(
        function_id=function.pk,
        change="function.deployed",
        version=version.number,
        actor=actor.get_username(),
    )
    return deployment


@transaction.atomic
def instance_rollback(*, instance: DestinationInstance, actor: User) -> DestinationInstance:
    """Deploy to this one instance the version it ran before its current one (see
    ``instance_previous_version``), with the checks of every deploy. Rolling back twice
    returns to where it started: the rollback itself is the newest entry of the history."""
    instance = DestinationInstance.objects.select_for_update().get(pk=instance.pk)
    current = instance.deployed_version
    previous = instance_previous_version(instance=instance)
    if previous is None:
        raise ValidationError(
            {
                "instance": f"{instance.name} has run no other version of "
                f"{instance.function.name} yet: nothing to roll back to."
            }
        )
    try:
        _point_at(
            function=instance.function,
            version=previous,
            instances=[instance],
            actor=actor,
            kind=DeploymentKind.ROLLBACK,
        )
    except ValidationError as exc:
        raise ValidationError(
            {"instance": f"Cannot roll back to version {previous.number}: {' '.join(exc.messages)}"}
        ) from exc
    audit_record(
        action="instance.rolled_back",
        actor=actor,
        workspace=instance.workspace,
        target=instance,
        changes={
            "from_version": current.number,
            "to_version": previous.number,
            "function": instance.function.name,
        },
    )
    function_changed_notify(
        function_id=instance.function_id,
        change="instance.rolled_back",
        version=previous.number,
        from_version=current.number,
        instance=instance.pk,
        actor=actor.get_username(),
    )
    return DestinationInstance.objects.select_related("function", "source", "deployed_version").get(
        pk=instance.pk
    )


def _unique_instance_name_check(
    *, workspace: Workspace, name: str, exclude_id: int | None = None
) -> None:
    clash = DestinationInstance.objects.filter(workspace=workspace, name__iexact=name)
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise ValidationError({"name": f"A destination named '{name}' already exists."})


def _store_settings(
    instance: DestinationInstance, plain: dict[str, Any], secret: dict[str, str]
) -> None:
    instance.settings = plain
    instance.encrypted_settings = json.dumps(secret)


@transaction.atomic
def instance_create(
    *,
    function: Function,
    source: Source,
    name: str,
    actor: User,
    settings: Any = None,
    enabled: bool = True,
) -> DestinationInstance:
    """Connect a function to a source as a destination running the function's LATEST.
    The connection is the first entry of the instance's deployment history (a ``connect``
    row, without an audit row of its own), so a later rollback can return to it."""
    if source.workspace_id != function.workspace_id:
        raise ValidationError({"source": "That source belongs to another workspace."})
    # Same locks as the deletes take: a destination is never connected to a function or
    # source whose deletion has already counted its destinations.
    function = Function.objects.select_for_update().get(pk=function.pk)
    source = Source.objects.select_for_update().get(pk=source.pk)
    name = _clean_name(name)
    _unique_instance_name_check(workspace=function.workspace, name=name)
    version = function.versions.order_by("-number").first()
    assert version is not None, "every function has a version 1"
    schema = version.settings_schema
    plain, secret = setting_values_clean(schema=schema, values=settings or {})
    instance = DestinationInstance(
        workspace=function.workspace,
        function=function,
        source=source,
        name=name,
        enabled=bool(enabled),
        deployed_version=version,
        created_by=actor,
    )
    _store_settings(instance, plain, secret)
    instance.save()
    connection = Deployment.objects.create(
        function=function, version=version, kind=DeploymentKind.CONNECT, created_by=actor
    )
    connection.instances.add(instance)
    audit_record(
        action="instance.connected",
        actor=actor,
        workspace=function.workspace,
        target=instance,
        changes={
            "function": function.name,
            "source": source.name,
            "version": version.number,
            "settings": setting_values_masked(schema=schema, plain=plain, secret=secret),
        },
    )
    return instance


@transaction.atomic
def instance_update(
    *,
    instance: DestinationInstance,
    actor: User,
    name: str | None = None,
    enabled: bool | None = None,
    settings: Any = None,
) -> DestinationInstance:
    instance = DestinationInstance.objects.select_for_update().get(pk=instance.pk)
    schema = instance.deployed_version.settings_schema
    changes: dict[str, Any] = {}
    if name is not None and _clean_name(name) != instance.name:
        _unique_instance_name_check(
            workspace=instance.workspace, name=name.strip(), exclude_id=instance.pk
        )
        changes["name"] = {"from": instance.name, "to": name.strip()}
        instance.name = name.strip()
    if enabled is not None and bool(enabled) != instance.enabled:
        changes["enabled"] = bool(enabled)
        instance.enabled = bool(enabled)
    if settings is not None:
        old_secret = instance_secret_values(instance=instance)
        plain, secret = setting_values_clean(
            schema=schema,
            values=settings,
            previous_plain=instance.settings,
            previous_secret=old_secret,
        )
        if plain != instance.settings or secret != old_secret:
            changes["settings"] = setting_values_masked(schema=schema, plain=plain, secret=secret)
            _store_settings(instance, plain, secret)
    if not changes:
        return instance
    instance.save()
    if set(changes) == {"enabled"}:
        action = "instance.enabled" if instance.enabled else "instance.disabled"
    elif set(changes) == {"settings"}:
        action = "instance.settings_changed"
    else:
        action = "instance.updated"
    audit_record(
        action=action, actor=actor, workspace=instance.workspace, target=instance, changes=changes
    )
    return instance


@transaction.atomic
def instance_delete(*, instance: DestinationInstance, actor: User) -> None:
    workspace, label, instance_id = instance.workspace, instance.name, instance.pk
    instance.delete()
    audit_record(
        action="instance.deleted",
        actor=actor,
        workspace=workspace,
        target_label=label,
        changes={"instance_id": instance_id},
    )


def _new_write_key() -> str:
    return secrets.token_urlsafe(24)


@transaction.atomic
def source_create(*, workspace: Workspace, name: str, actor: User) -> Source:
    name = _clean_name(name)
    if Source.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise ValidationError({"name": f"A source named '{name}' already exists."})
    source = Source.objects.create(
        workspace=workspace, name=name, write_key=_new_write_key(), created_by=actor
    )
    audit_record(
        action="source.created",
        actor=actor,
        workspace=workspace,
        target=source,
        changes={"name": name},
    )
    return source


@transaction.atomic
def source_update(*, source: Source, name: str, actor: User) -> Source:
    name = _clean_name(name)
    if name == source.name:
        return source
    clash = Source.objects.filter(workspace=source.workspace, name__iexact=name).exclude(
        pk=source.pk
    )
    if clash.exists():
        raise ValidationError({"name": f"A source named '{name}' already exists."})
    changes = {"name": {"from": source.name, "to": name}}
    source.name = name
    source.save(update_fields=["name"])
    audit_record(
        action="source.renamed",
        actor=actor,
        workspace=source.workspace,
        target=source,
        changes=changes,
    )
    return source


@transaction.atomic
def source_write_key_rotate(*, source: Source, actor: User) -> Source:
    """Give the source a new write key; from the commit on, the old one is refused (401)
    by the Tracking API. The audit row names both keys masked, never in full."""
    source = Source.objects.select_for_update().get(pk=source.pk)
    old_key, source.write_key = source.write_key, _new_write_key()
    source.save(update_fields=["write_key"])
    audit_record(
        action="source.write_key_rotated",
        actor=actor,
        workspace=source.workspace,
        target=source,
        changes={"write_key": {"from": mask_secret(old_key), "to": mask_secret(source.write_key)}},
    )
    return source


@transaction.atomic
def source_delete(*, source: Source, actor: User, may_change_instances: MayChangeInstances) -> None:
    """Delete a source and the destinations connected to it; each of those needs the right
    to change it, checked under a lock on the source."""
    source = Source.objects.select_for_update().get(pk=source.pk)
    workspace, label, source_id = source.workspace, source.name, source.pk
    connected = set(source.instances.values_list("function_id", flat=True))
    if not all(may_change_instances(function_id) for function_id in connected):
        raise PermissionDenied(DELETE_SOURCE_REFUSED)
    instance_count = source.instances.count()
    source.delete()
    audit_record(
        action="source.deleted",
        actor=actor,
        workspace=workspace,
        target_label=label,
        changes={"source_id": source_id, "instances_removed": instance_count},
    )


def instances_health_set(
    *, failing: Collection[int], healthy: Collection[int], now: datetime
) -> int:
    """Flag the ``failing`` instances as failing since ``now`` (those not flagged yet) and
    clear the flag of the ``healthy`` ones; returns how many changed. Called by the event
    pipeline, which judges deliveries. No audit row: health is an observation of
    deliveries, not a change anyone made. ``update()``: ``updated_at`` stays the time of
    the last user change."""
    changed = DestinationInstance.objects.filter(
        pk__in=sorted(failing), failing_since__isnull=True
    ).update(failing_since=now)
    changed += DestinationInstance.objects.filter(
        pk__in=sorted(healthy), failing_since__isnull=False
    ).update(failing_since=None)
    return changed
