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
    event = AuditEvent.objects.filter(action="function.edited").latest("id")
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
