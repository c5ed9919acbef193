from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from catalog import selectors, services
from catalog.models import DestinationInstance, Function, FunctionVersion
from catalog.settings_schema import setting_name_from_label, settings_schema_clean
from tests.conftest import SECRET_API_KEY, World


def test_create_saves_version_one_with_default_template(world: World) -> None:
    function = services.function_create(
        workspace=world.acme, name="Fresh", actor=world.users["adam"]
    )
    version = function.versions.get()
    assert version.number == 1
    assert "async function onTrack(event, settings)" in version.code
    assert "async function onBatch(events, settings)" in function.code


def test_scoped_admin_keeps_access_to_what_they_create(world: World) -> None:
    from workspaces.selectors import workspace_access_get

    sally = world.users["sally"]
    function = services.function_create(workspace=world.acme, name="Mine", actor=sally)
    access = workspace_access_get(user=sally, workspace=world.acme)
    assert access is not None and access.can_edit_function(function.pk)
    assert not access.can_edit_function(world.other_function.pk)
    event = AuditEvent.objects.get(action="function.created", target_id=str(function.pk))
    assert event.changes["added_to_creators_subset"] is True


def test_duplicate_name_is_refused_case_insensitively(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        services.function_create(workspace=world.acme, name="webhook", actor=world.users["adam"])
    assert "name" in exc.value.message_dict
    # Another workspace may use the same name.
    services.function_create(workspace=world.globex, name="Webhook", actor=world.users["gary"])


def test_saving_code_creates_latest_and_keeps_instances_on_deployed(world: World) -> None:
    olivia = world.users["olivia"]
    services.function_update(function=world.function, code="// v2", actor=olivia)
    world.function.refresh_from_db()
    latest = world.function.versions.order_by("-number").first()
    assert latest is not None and latest.number == 2 and latest.code == "// v2"
    world.instance.refresh_from_db()
    assert world.instance.deployed_version.number == 1
    assert selectors.function_version_states(function=world.function, version=latest) == ["LATEST"]
    v1 = world.function.versions.get(number=1)
    assert selectors.function_version_states(function=world.function, version=v1) == ["DEPLOYED"]


def test_metadata_edit_does_not_create_a_version(world: World) -> None:
    services.function_update(
        function=world.function, description="new words", actor=world.users["olivia"]
    )
    assert world.function.versions.count() == 1
    assert AuditEvent.objects.filter(action="function.edited").count() == 1


def test_unchanged_save_is_a_no_op(world: World) -> None:
    before = AuditEvent.objects.count()
    services.function_update(
        function=world.function, code=world.function.code, actor=world.users["olivia"]
    )
    assert world.function.versions.count() == 1
    assert AuditEvent.objects.count() == before


def test_restore_copies_old_version_as_new_latest(world: World) -> None:
    olivia = world.users["olivia"]
    original = world.function.code
    services.function_update(function=world.function, code="// broken", actor=olivia)
    restored = services.function_version_restore(
        function=world.function, version=world.function.versions.get(number=1), actor=olivia
    )
    assert restored.number == 3 and restored.restored_from == 1 and restored.code == original
    assert Function.objects.get(pk=world.function.pk).code == original


def test_versions_are_immutable(world: World) -> None:
    version = world.function.versions.get(number=1)
    version.code = "tampered"
    with pytest.raises(Exception, match="immutable"):
        version.save()
    assert FunctionVersion.objects.get(pk=version.pk).code != "tampered"


def test_deploy_moves_instances_and_records_deployment(world: World) -> None:
    olivia = world.users["olivia"]
    services.function_update(function=world.function, code="// v2", actor=olivia)
    v2 = world.function.versions.get(number=2)
    deployment = services.function_deploy(
        function=world.function, version=v2, instances=[world.instance], actor=olivia
    )
    world.instance.refresh_from_db()
    assert world.instance.deployed_version == v2
    assert list(deployment.instances.all()) == [world.instance]


def test_deploy_is_all_or_nothing_when_a_required_setting_is_missing(world: World) -> None:
    olivia = world.users["olivia"]
    schema = [*world.function.settings_schema, {"label": "Account", "required": True}]
    services.function_update(function=world.function, settings_schema=schema, actor=olivia)
    v2 = world.function.versions.get(number=2)
    with pytest.raises(ValidationError) as exc:
        services.function_deploy(
            function=world.function, version=v2, instances=[world.instance], actor=olivia
        )
    assert "account" in str(exc.value)
    world.instance.refresh_from_db()
    assert world.instance.deployed_version.number == 1
    assert not AuditEvent.objects.filter(action="function.deployed").exists()


def test_deploy_refuses_instances_of_other_functions(world: World) -> None:
    with pytest.raises(ValidationError):
        services.function_deploy(
            function=world.other_function,
            version=world.other_function.versions.get(),
            instances=[world.instance],
            actor=world.users["olivia"],
        )


def test_encrypted_settings_are_encrypted_at_rest_and_masked(world: World) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT encrypted_settings, settings FROM catalog_destinationinstance WHERE id = %s",
            [world.instance.pk],
        )
        stored_secret, stored_plain = cursor.fetchone()
    assert SECRET_API_KEY not in stored_secret and SECRET_API_KEY not in stored_plain
    assert selectors.instance_secret_values(instance=world.instance) == {"apiKey": SECRET_API_KEY}
    masked = selectors.instance_settings_masked(instance=world.instance)
    assert masked == {"apiKey": "••••WXYZ", "region": "eu"}


def test_omitted_secret_keeps_its_value_on_update(world: World) -> None:
    services.instance_update(
        instance=world.instance, settings={"region": "us"}, actor=world.users["olivia"]
    )
    instance = DestinationInstance.objects.get(pk=world.instance.pk)
    assert instance.settings == {"region": "us"}
    assert json.loads(instance.encrypted_settings) == {"apiKey": SECRET_API_KEY}
    event = AuditEvent.objects.get(action="instance.settings_changed")
    assert SECRET_API_KEY not in json.dumps(event.changes)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"apiKey": 5}, "must be a string"),
        ({"nope": "x"}, "Unknown settings"),
        ({"region": "eu"}, "Required settings missing"),
    ],
)
def test_bad_setting_values_are_refused(world: World, values: dict, problem: str) -> None:
    count = DestinationInstance.objects.count()
    with pytest.raises(ValidationError, match=problem):
        services.instance_create(
            function=world.function,
            source=world.source,
            name="Bad",
            settings=values,
            actor=world.users["olivia"],
        )
    assert DestinationInstance.objects.count() == count


def test_enable_disable_are_distinct_audit_actions(world: World) -> None:
    olivia = world.users["olivia"]
    services.instance_update(instance=world.instance, enabled=False, actor=olivia)
    services.instance_update(instance=world.instance, enabled=True, actor=olivia)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))[-2:]
    assert actions == ["instance.disabled", "instance.enabled"]


def test_deleting_a_function_removes_its_instances(world: World) -> None:
    services.function_delete(
        function=world.function, actor=world.users["olivia"], may_change_instances=lambda _: True
    )
    assert not DestinationInstance.objects.filter(pk=world.instance.pk).exists()
    event = AuditEvent.objects.get(action="function.deleted")
    assert event.changes["instances_removed"] == 1 and event.target_label == "Webhook"


@pytest.mark.parametrize(
    ("label", "name"),
    [("API Key", "apiKey"), ("Webhook URL", "webhookUrl"), ("2 factor code", "factorCode")],
)
def test_setting_names_are_generated_from_labels(label: str, name: str) -> None:
    assert setting_name_from_label(label) == name


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ("nope", "list"),
        ([{"label": ""}], "label is required"),
        ([{"label": "A", "type": "number"}], "type must be one of"),
        ([{"label": "A", "type": "boolean", "encrypted": True}], "only string"),
        ([{"label": "A"}, {"label": "a"}], "Duplicate"),
        ([{"label": "A", "required": "yes"}], "true or false"),
        ([{"label": "A", "colour": "red"}], "unknown field"),
    ],
)
def test_bad_settings_schemas_are_refused(schema: object, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        settings_schema_clean(schema)


def test_time_limit_is_validated_and_audited(world: World) -> None:
    olivia = world.users["olivia"]
    for bad in (5, 10**6, "5000", True):
        with pytest.raises(ValidationError, match=r"milliseconds|between"):
            services.function_update(function=world.function, timeout_ms=bad, actor=olivia)
    services.function_update(function=world.function, timeout_ms=2000, actor=olivia)
    assert Function.objects.get(pk=world.function.pk).timeout_ms == 2000
    event = AuditEvent.objects.filter(action="function.saved").latest("id")
    assert event.changes["timeout_ms"] == {"from": None, "to": 2000}
    # Leaving it out keeps it; null goes back to the platform default.
    services.function_update(function=world.function, description="d", actor=olivia)
    assert Function.objects.get(pk=world.function.pk).timeout_ms == 2000
    services.function_update(function=world.function, timeout_ms=None, actor=olivia)
    assert Function.objects.get(pk=world.function.pk).timeout_ms is None


def test_a_setting_that_becomes_encrypted_moves_into_the_encrypted_store(world: World) -> None:
    olivia = world.users["olivia"]
    token = "Bearer live_abcdef1234567890"
    schema = [*world.function.settings_schema, {"label": "Auth Header"}]
    services.function_update(function=world.function, settings_schema=schema, actor=olivia)
    services.function_deploy(
        function=world.function,
        version=world.function.versions.get(number=2),
        instances=[world.instance],
        actor=olivia,
    )
    services.instance_update(instance=world.instance, settings={"authHeader": token}, actor=olivia)
    schema[-1] = {"label": "Auth Header", "encrypted": True}
    services.function_update(function=world.function, settings_schema=schema, actor=olivia)
    # Before the deploy the running version still calls it plain; after it, it is a secret.
    services.function_deploy(
        function=world.function,
        version=world.function.versions.get(number=3),
        instances=[world.instance],
        actor=olivia,
    )
    instance = DestinationInstance.objects.get(pk=world.instance.pk)
    assert "authHeader" not in instance.settings
    assert selectors.instance_secret_values(instance=instance)["authHeader"] == token
    assert selectors.instance_settings_masked(instance=instance)["authHeader"] == "••••7890"
    services.instance_update(instance=instance, settings={"region": "us"}, actor=olivia)
    latest = AuditEvent.objects.filter(action="instance.settings_changed").latest("id")
    assert token not in json.dumps(latest.changes)
    assert latest.changes["settings"]["authHeader"] == "••••7890"


def test_masking_follows_the_schema_wherever_a_value_is_stored() -> None:
    from catalog.settings_schema import setting_values_masked

    schema = [{"name": "key", "encrypted": True}, {"name": "region", "encrypted": False}]
    shown = setting_values_masked(
        schema=schema, plain={"key": "plaintext-leftover-1234", "region": "eu"}, secret={}
    )
    assert shown == {"key": "••••1234", "region": "eu"}


def test_live_destinations_are_only_removed_by_who_may_change_them(world: World) -> None:
    from django.core.exceptions import PermissionDenied

    adam = world.users["adam"]

    def never(function_id: int) -> bool:
        return False

    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.function_delete(function=world.function, actor=adam, may_change_instances=never)
    with pytest.raises(PermissionDenied):
        services.source_delete(source=world.source, actor=adam, may_change_instances=never)
    assert DestinationInstance.objects.filter(pk=world.instance.pk).exists()
    assert AuditEvent.objects.count() == before
    # Without destinations the same predicate does not matter.
    services.function_delete(function=world.other_function, actor=adam, may_change_instances=never)
    assert not Function.objects.filter(pk=world.other_function.pk).exists()


# --- optimistic concurrency ------------------------------------------------------------
def _version_count(function: Function) -> int:
    return FunctionVersion.objects.filter(function=function).count()


def test_a_save_based_on_an_outdated_version_is_refused(world: World) -> None:
    adam, olivia = world.users["adam"], world.users["olivia"]
    services.function_update(function=world.function, code="// adam's", actor=adam, base_version=1)
    before = AuditEvent.objects.count()
    with pytest.raises(services.VersionConflict) as exc:
        services.function_update(
            function=world.function, code="// olivia's", actor=olivia, base_version=1
        )
    conflict = exc.value
    assert isinstance(conflict, ValidationError)
    assert (conflict.base_version, conflict.latest_version, conflict.saved_by) == (1, 2, "adam")
    assert conflict.message_dict == {
        "base_version": [
            "Version 2 was saved by adam since you opened version 1. "
            "Reload or compare before saving."
        ]
    }
    # Nothing saved: no new version, the code is adam's, no audit row.
    assert _version_count(world.function) == 2
    assert Function.objects.get(pk=world.function.pk).code == "// adam's"
    assert AuditEvent.objects.count() == before


def test_an_outdated_base_refuses_metadata_edits_too(world: World) -> None:
    olivia = world.users["olivia"]
    services.function_update(function=world.function, code="// v2", actor=olivia)
    with pytest.raises(services.VersionConflict):
        services.function_update(
            function=world.function, name="Renamed", description="new", actor=olivia,
            base_version=1,
        )  # fmt: skip
    function = Function.objects.get(pk=world.function.pk)
    assert (function.name, function.description) == ("Webhook", "")


def test_a_base_that_never_existed_is_a_conflict(world: World) -> None:
    with pytest.raises(services.VersionConflict) as exc:
        services.function_update(
            function=world.function, code="// x", actor=world.users["olivia"], base_version=9
        )
    assert exc.value.latest_version == 1
    assert "version 9" in exc.value.messages[0]
    assert _version_count(world.function) == 1


def test_a_save_based_on_latest_saves(world: World) -> None:
    olivia = world.users["olivia"]
    services.function_update(function=world.function, code="// v2", actor=olivia, base_version=1)
    services.function_update(function=world.function, code="// v3", actor=olivia, base_version=2)
    assert selectors.function_latest_number(function=world.function) == 3
    # A restore is a new LATEST as well: a draft opened before it is outdated.
    services.function_version_restore(
        function=world.function, version=world.function.versions.get(number=1), actor=olivia
    )
    with pytest.raises(services.VersionConflict):
        services.function_update(
            function=world.function, code="// v5", actor=olivia, base_version=3
        )
    # Without a base the caller opts out of the check (last write wins).
    services.function_update(function=world.function, code="// v5", actor=olivia)
    assert selectors.function_latest_number(function=world.function) == 5


# --- instance rollback ------------------------------------------------------------------
def _save_and_deploy(world: World, **changes: object) -> FunctionVersion:
    olivia = world.users["olivia"]
    services.function_update(function=world.function, actor=olivia, **changes)  # type: ignore[arg-type]
    version = world.function.versions.order_by("-number").first()
    assert version is not None
    services.function_deploy(
        function=world.function, version=version, instances=[world.instance], actor=olivia
    )
    return version


def _deployed_number(instance: DestinationInstance) -> int:
    return DestinationInstance.objects.get(pk=instance.pk).deployed_version.number


def test_connecting_records_the_first_entry_of_the_history(world: World) -> None:
    deployment = world.instance.deployments.get()
    assert deployment.version.number == 1 and deployment.kind == "connect"
    assert selectors.instance_previous_version(instance=world.instance) is None


def test_rollback_deploys_the_version_the_instance_ran_before(world: World) -> None:
    _save_and_deploy(world, code="// v2")
    instance = DestinationInstance.objects.get(pk=world.instance.pk)
    previous = selectors.instance_previous_version(instance=instance)
    assert previous is not None and previous.number == 1
    before = AuditEvent.objects.count()
    rolled = services.instance_rollback(instance=instance, actor=world.users["dana"])
    assert rolled.deployed_version.number == 1 == _deployed_number(world.instance)
    events = list(AuditEvent.objects.order_by("-id")[: AuditEvent.objects.count() - before])
    assert [e.action for e in events] == ["instance.rolled_back"]
    assert events[0].changes == {"from_version": 2, "to_version": 1, "function": "Webhook"}
    assert events[0].target_id == str(instance.pk)
    assert world.instance.deployments.order_by("-id").first().kind == "rollback"
    # The one before the current one is now 2: a second rollback undoes the first.
    assert selectors.instance_previous_version(instance=rolled).number == 2
    services.instance_rollback(instance=rolled, actor=world.users["dana"])
    assert _deployed_number(world.instance) == 2


def test_rollback_skips_redeploys_of_the_same_version(world: World) -> None:
    v2 = _save_and_deploy(world, code="// v2")
    services.function_deploy(
        function=world.function, version=v2, instances=[world.instance], actor=world.users["olivia"]
    )
    services.instance_rollback(instance=world.instance, actor=world.users["olivia"])
    assert _deployed_number(world.instance) == 1


def test_rollback_only_touches_that_instance(world: World) -> None:
    olivia = world.users["olivia"]
    second = services.instance_create(
        function=world.function, source=world.source, name="Second",
        settings={"apiKey": "k-second"}, actor=olivia,
    )  # fmt: skip
    services.function_update(function=world.function, code="// v2", actor=olivia)
    services.function_deploy(
        function=world.function, version=world.function.versions.get(number=2),
        instances=[world.instance, second], actor=olivia,
    )  # fmt: skip
    services.instance_rollback(instance=second, actor=olivia)
    assert (_deployed_number(world.instance), _deployed_number(second)) == (2, 1)


def test_nothing_to_roll_back_to_changes_nothing(world: World) -> None:
    before = AuditEvent.objects.count(), world.instance.deployments.count()
    with pytest.raises(ValidationError, match="has run no other version"):
        services.instance_rollback(instance=world.instance, actor=world.users["olivia"])
    assert (AuditEvent.objects.count(), world.instance.deployments.count()) == before


def test_rollback_checks_required_settings_like_a_deploy(world: World) -> None:
    olivia = world.users["olivia"]
    optional = [{**s, "required": False} for s in world.function.settings_schema]
    _save_and_deploy(world, settings_schema=optional)
    services.instance_update(instance=world.instance, settings={"apiKey": None}, actor=olivia)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="Required settings missing"):
        services.instance_rollback(instance=world.instance, actor=olivia)
    assert _deployed_number(world.instance) == 2
    assert AuditEvent.objects.count() == before


def test_rollback_keeps_values_that_became_secrets_encrypted(world: World) -> None:
    schema = [
        s if s["name"] != "region" else {**s, "encrypted": True}
        for s in world.function.settings_schema
    ]
    _save_and_deploy(world, settings_schema=schema)
    assert "region" not in DestinationInstance.objects.get(pk=world.instance.pk).settings
    services.instance_rollback(instance=world.instance, actor=world.users["olivia"])
    instance = DestinationInstance.objects.get(pk=world.instance.pk)
    # Once a secret, always a secret (until a new value): v1 calls region plain, but a
    # value entered while v2 ran may be a real secret, so none moves back into clear.
    assert instance.settings == {}
    assert selectors.instance_secret_values(instance=instance) == {
        "apiKey": SECRET_API_KEY,
        "region": "eu",
    }
    assert selectors.instance_write_only_names(instance=instance) == ["apiKey", "region"]
    event = AuditEvent.objects.get(action="instance.rolled_back")
    assert SECRET_API_KEY not in json.dumps(event.changes)


def test_rollback_tells_open_editors(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, object]] = []
    monkeypatch.setattr(services, "function_changed_notify", lambda **kw: sent.append(kw))
    _save_and_deploy(world, code="// v2")
    sent.clear()
    services.instance_rollback(instance=world.instance, actor=world.users["olivia"])
    assert sent == [
        {
            "function_id": world.function.pk,
            "change": "instance.rolled_back",
            "version": 1,
            "from_version": 2,
            "instance": world.instance.pk,
            "actor": "olivia",
        }
    ]


def test_instance_list_annotates_the_previous_version(world: World) -> None:
    from workspaces.selectors import workspace_access_get

    access = workspace_access_get(user=world.users["olivia"], workspace=world.acme)
    assert access is not None
    assert selectors.instance_list(access=access).get().previous_version_number is None
    _save_and_deploy(world, code="// v2")
    assert selectors.instance_list(access=access).get().previous_version_number == 1


# --- hardening (issue 8) ------------------------------------------------------------------
def _schema_with(world: World, name: str, **changes: object) -> list[dict[str, object]]:
    """The function's LATEST schema with setting ``name`` changed (added when missing)."""
    schema = [dict(s) for s in Function.objects.get(pk=world.function.pk).settings_schema]
    for setting in schema:
        if setting["name"] == name:
            setting.update(changes)
            return schema
    return [*schema, {"label": name, "name": name, **changes}]


def test_a_value_entered_encrypted_stays_masked_whatever_the_schema_says_later(
    world: World,
) -> None:
    olivia = world.users["olivia"]
    _save_and_deploy(world, settings_schema=_schema_with(world, "apiKey", encrypted=False))
    instance = DestinationInstance.objects.get(pk=world.instance.pk)
    assert SECRET_API_KEY not in json.dumps(instance.settings)  # still encrypted at rest
    assert selectors.instance_settings_masked(instance=instance)["apiKey"] == "••••WXYZ"
    assert selectors.instance_write_only_names(instance=instance) == ["apiKey"]
    # Editing another setting (the next audit row) does not reveal it either.
    services.instance_update(instance=instance, settings={"region": "us"}, actor=olivia)
    row = AuditEvent.objects.filter(action="instance.settings_changed").latest("id")
    assert row.changes["settings"]["apiKey"] == "••••WXYZ"
    assert SECRET_API_KEY not in json.dumps(list(AuditEvent.objects.values("changes")))
    # Rolling back and forth keeps it a secret.
    services.instance_rollback(instance=instance, actor=olivia)
    services.instance_rollback(instance=instance, actor=olivia)
    instance = DestinationInstance.objects.get(pk=world.instance.pk)
    assert selectors.instance_settings_masked(instance=instance)["apiKey"] == "••••WXYZ"
    # Until someone enters a new value: the schema now says plain, so that one is shown.
    services.instance_update(instance=instance, settings={"apiKey": "pk_public_1"}, actor=olivia)
    instance = DestinationInstance.objects.get(pk=world.instance.pk)
    assert selectors.instance_settings_masked(instance=instance)["apiKey"] == "pk_public_1"
    assert selectors.instance_write_only_names(instance=instance) == []
    assert selectors.instance_secret_values(instance=instance) == {}


def test_deploy_checks_stored_values_against_the_new_versions_schema(world: World) -> None:
    olivia = world.users["olivia"]
    _save_and_deploy(world, settings_schema=_schema_with(world, "sendEmail", type="string"))
    services.instance_update(instance=world.instance, settings={"sendEmail": "yes"}, actor=olivia)
    second = services.instance_create(
        function=world.function, source=world.source, name="Second",
        settings={"apiKey": "k-second"}, actor=olivia,
    )  # fmt: skip
    services.function_update(
        function=world.function,
        settings_schema=_schema_with(world, "sendEmail", type="boolean"),
        actor=olivia,
    )
    v3 = world.function.versions.get(number=3)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.function_deploy(
            function=world.function, version=v3, instances=[second, world.instance], actor=olivia
        )
    assert exc.value.message_dict == {
        "instances": ["Webhook (prod): sendEmail: must be true or false."]
    }
    # All or nothing: the instance that would have passed did not move either.
    assert (_deployed_number(world.instance), _deployed_number(second)) == (2, 2)
    assert AuditEvent.objects.count() == before
    # The same answer a PATCH with that value gets.
    from catalog.settings_schema import setting_values_clean

    with pytest.raises(ValidationError, match="sendEmail: must be true or false"):
        setting_values_clean(schema=v3.settings_schema, values={"sendEmail": "yes"})


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [400, 900])
def test_deeply_nested_json_is_refused_before_any_recursive_walk(world: World, depth: int) -> None:
    from catalog.preview import preview_input_clean
    from catalog.settings_schema import MAX_JSON_DEPTH, json_depth_check

    olivia = world.users["olivia"]
    calls = [
        lambda: settings_schema_clean([{"label": "A", "description": _nested(depth)}]),
        lambda: services.instance_update(
            instance=world.instance, settings={"region": _nested(depth)}, actor=olivia
        ),
        lambda: preview_input_clean(
            code="", settings_schema=[], settings={}, payload={"deep": _nested(depth)}
        ),
    ]
    for call in calls:
        with pytest.raises(ValidationError, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
            call()
    json_depth_check(_nested(MAX_JSON_DEPTH), field="payload")
    with pytest.raises(ValidationError) as exc:
        json_depth_check(_nested(MAX_JSON_DEPTH + 1), field="payload")
    assert exc.value.message_dict == {
        "payload": [f"JSON is nested deeper than {MAX_JSON_DEPTH} levels."]
    }


def test_over_long_text_is_refused_not_cut(world: World) -> None:
    olivia = world.users["olivia"]
    cases = [
        ({"description": "d" * 2001}, "description", "At most 2000 characters."),
        (
            {"settings_schema": [{"label": "L" * 101}]},
            "settings_schema",
            "Setting #1: label has at most 100 characters.",
        ),
        (
            {"settings_schema": [{"label": "A", "description": "d" * 1001}]},
            "settings_schema",
            "Setting #1: description has at most 1000 characters.",
        ),
    ]
    before = AuditEvent.objects.count()
    for changes, field, problem in cases:
        for _ in range(2):  # resubmitting the same text writes nothing either
            with pytest.raises(ValidationError) as exc:
                services.function_update(function=world.function, actor=olivia, **changes)
            assert exc.value.message_dict == {field: [problem]}
    with pytest.raises(ValidationError, match="At most 2000 characters"):
        services.function_create(
            workspace=world.acme, name="Long", description="d" * 2001, actor=olivia
        )
    assert AuditEvent.objects.count() == before
    function = Function.objects.get(pk=world.function.pk)
    assert function.description == "" and function.versions.count() == 1
    # At the limits, everything is kept as given.
    services.function_update(
        function=world.function,
        description="d" * 2000,
        settings_schema=[{"label": "L" * 100, "description": "d" * 1000}],
        actor=olivia,
    )
    function = Function.objects.get(pk=world.function.pk)
    assert len(function.description) == 2000
    assert function.settings_schema[0]["label"] == "L" * 100


def test_resubmitting_a_function_as_it_is_writes_no_audit_row(world: World) -> None:
    olivia = world.users["olivia"]
    services.function_update(
        function=world.function, description="Posts events", timeout_ms=2000, actor=olivia
    )
    function = Function.objects.get(pk=world.function.pk)
    before = AuditEvent.objects.count(), function.versions.count()
    services.function_update(
        function=function,
        name=function.name,
        description=function.description,
        code=function.code,
        settings_schema=function.settings_schema,
        timeout_ms=function.timeout_ms,
        actor=olivia,
    )
    assert (AuditEvent.objects.count(), function.versions.count()) == before


def test_the_time_limit_belongs_to_the_version(world: World) -> None:
    olivia = world.users["olivia"]
    services.function_update(function=world.function, timeout_ms=2000, actor=olivia)
    function = Function.objects.get(pk=world.function.pk)
    v1, v2 = function.versions.get(number=1), function.versions.get(number=2)
    assert (v1.timeout_ms, v2.timeout_ms, function.timeout_ms) == (None, 2000, 2000)
    assert v2.code == v1.code
    event = AuditEvent.objects.filter(target_id=str(function.pk)).latest("id")
    assert event.action == "function.saved"
    assert event.changes == {"timeout_ms": {"from": None, "to": 2000}, "version": 2}
    # Live instances keep the time limit of the version they run until a deploy.
    assert DestinationInstance.objects.get(pk=world.instance.pk).deployed_version.timeout_ms is None
    services.function_deploy(
        function=function, version=v2, instances=[world.instance], actor=olivia
    )
    assert DestinationInstance.objects.get(pk=world.instance.pk).deployed_version.timeout_ms == 2000
    # A restore brings the old version's time limit back as LATEST's.
    restored = services.function_version_restore(function=function, version=v1, actor=olivia)
    assert restored.timeout_ms is None
    assert Function.objects.get(pk=function.pk).timeout_ms is None


def test_the_timeout_migration_copies_each_functions_limit_onto_its_versions(
    world: World,
) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("catalog.migrations.0005_version_timeout")
    Function.objects.filter(pk=world.function.pk).update(timeout_ms=1500)
    FunctionVersion.objects.filter(function=world.function).update(timeout_ms=None)
    migration.copy_function_timeouts(apps, None)  # a data step: no schema editor needed
    assert set(world.function.versions.values_list("timeout_ms", flat=True)) == {1500}
    assert set(world.other_function.versions.values_list("timeout_ms", flat=True)) == {None}
