"""Config API of the catalog: saves based on an outdated version, instance rollback."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from catalog import services
from catalog.models import DestinationInstance, Function
from tests.conftest import World

A = "/api/v1/workspaces/acme"


@pytest.fixture
def api(world: World):
    """``api("olivia")``: a DRF client signed in as that persona (as in tests/api)."""

    def _client(username: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=world.users[username])
        return client

    return _client


def _fn(world: World) -> str:
    return f"{A}/functions/{world.function.pk}/"


def _rollback(world: World) -> str:
    return f"{A}/instances/{world.instance.pk}/rollback/"


# --- PATCH functions/<id>/ with base_version ---------------------------------------------
def test_a_stale_base_version_is_a_409_that_saves_nothing(world: World, api) -> None:
    services.function_update(function=world.function, code="// alice's", actor=world.users["adam"])
    before = AuditEvent.objects.count()
    response = api("olivia").patch(
        _fn(world), {"code": "// mine", "base_version": 1}, format="json"
    )
    assert response.status_code == 409
    message = (
        "Version 2 was saved by adam since you opened version 1. Reload or compare before saving."
    )
    assert response.json() == {
        "detail": message,
        "errors": {"base_version": [message]},
        "latest_version": 2,
    }
    function = Function.objects.get(pk=world.function.pk)
    assert function.code == "// alice's" and function.versions.count() == 2
    assert AuditEvent.objects.count() == before


def test_the_current_base_version_saves(world: World, api) -> None:
    response = api("olivia").patch(_fn(world), {"code": "// v2", "base_version": 1}, format="json")
    assert response.status_code == 200
    assert response.json()["latest_version"] == 2
    assert AuditEvent.objects.filter(action="function.saved").count() == 1
    # null or no base: no check, as before.
    for body in ({"code": "// v3", "base_version": None}, {"code": "// v4"}):
        assert api("olivia").patch(_fn(world), body, format="json").status_code == 200
    assert Function.objects.get(pk=world.function.pk).versions.count() == 4


@pytest.mark.parametrize("base", ["1", 1.0, True, 0, -1])
def test_base_version_must_be_a_whole_version_number(world: World, api, base: object) -> None:
    response = api("olivia").patch(
        _fn(world), {"code": "// x", "base_version": base}, format="json"
    )
    assert response.status_code == 400
    assert "base_version" in response.json()["errors"]
    assert Function.objects.get(pk=world.function.pk).versions.count() == 1


def test_a_conflict_is_only_reported_to_who_may_edit(world: World, api) -> None:
    services.function_update(function=world.function, code="// v2", actor=world.users["adam"])
    body = {"code": "// x", "base_version": 1}
    assert api("rita").patch(_fn(world), body, format="json").status_code == 403
    assert api("gary").patch(_fn(world), body, format="json").status_code == 404


# --- POST instances/<id>/rollback/ -------------------------------------------------------
def _deploy_v2(world: World) -> None:
    olivia = world.users["olivia"]
    services.function_update(function=world.function, code="// v2", actor=olivia)
    services.function_deploy(
        function=world.function,
        version=world.function.versions.get(number=2),
        instances=[world.instance],
        actor=olivia,
    )


def test_rollback_answers_the_instance_with_its_new_history(world: World, api) -> None:
    _deploy_v2(world)
    listed = api("dana").get(f"{A}/instances/").json()["results"]
    assert [(i["deployed_version"], i["previous_version"]) for i in listed] == [(2, 1)]
    before = AuditEvent.objects.count()
    response = api("dana").post(_rollback(world), format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["deployed_version"], body["previous_version"]) == (
        world.instance.pk, 1, 2,
    )  # fmt: skip
    assert body["settings"]["apiKey"] == "••••WXYZ"
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.first().action == "instance.rolled_back"
    history = api("dana").get(_fn(world) + "deployments/").json()["results"]
    assert [(d["kind"], d["version"]) for d in history] == [
        ("rollback", 1), ("deploy", 2), ("connect", 1),
    ]  # fmt: skip


def test_rollback_with_nothing_to_roll_back_to_is_a_clear_400(world: World, api) -> None:
    before = AuditEvent.objects.count()
    response = api("olivia").post(_rollback(world), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == (
        "Webhook (prod) has run no other version of Webhook yet: nothing to roll back to."
    )
    assert body["errors"] == {"instance": [body["detail"]]}
    assert AuditEvent.objects.count() == before
    single = api("olivia").get(f"{A}/instances/{world.instance.pk}/").json()
    assert single["previous_version"] is None


def test_a_refused_rollback_explains_why(world: World, api) -> None:
    olivia = world.users["olivia"]
    optional = [{**s, "required": False} for s in world.function.settings_schema]
    services.function_update(function=world.function, settings_schema=optional, actor=olivia)
    services.function_deploy(
        function=world.function,
        version=world.function.versions.get(number=2),
        instances=[world.instance],
        actor=olivia,
    )
    services.instance_update(instance=world.instance, settings={"apiKey": None}, actor=olivia)
    response = api("olivia").post(_rollback(world), format="json")
    assert response.status_code == 400
    assert "Required settings missing" in response.json()["detail"]
    assert DestinationInstance.objects.get(pk=world.instance.pk).deployed_version.number == 2


@pytest.mark.parametrize("persona", ["adam", "sally", "rita", "sam", "audrey"])
def test_rollback_needs_deploy_rights(world: World, api, persona: str) -> None:
    _deploy_v2(world)
    response = api(persona).post(_rollback(world), format="json")
    assert response.status_code in (403, 404)
    assert DestinationInstance.objects.get(pk=world.instance.pk).deployed_version.number == 2


def test_rollback_is_in_the_openapi_schema(world: World, api) -> None:
    schema = api("olivia").get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    rollback = paths["/api/v1/workspaces/{workspace_slug}/instances/{instance_id}/rollback/"]
    assert set(rollback["post"]["responses"]) >= {"200", "400"}
    patch = paths["/api/v1/workspaces/{workspace_slug}/functions/{function_id}/"]["patch"]
    assert "409" in patch["responses"]


# --- hardening (issue 8) ------------------------------------------------------------------
def _csv_export(world: World) -> str:
    from django.test import Client

    from tests.conftest import PASSWORD

    client = Client()
    assert client.login(username="audrey", password=PASSWORD)
    response = client.get("/w/acme/audit/export.csv")
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def test_a_secret_stays_masked_everywhere_after_the_schema_stops_encrypting_it(
    world: World, api
) -> None:
    from tests.conftest import SECRET_API_KEY

    olivia = api("olivia")
    schema = [{**s, "encrypted": False} for s in world.function.settings_schema]
    assert olivia.patch(_fn(world), {"settings_schema": schema}, format="json").status_code == 200
    deploy = olivia.post(
        _fn(world) + "deployments/", {"instances": [world.instance.pk]}, format="json"
    )
    assert deploy.status_code == 201
    instance_url = f"{A}/instances/{world.instance.pk}/"
    patched = olivia.patch(instance_url, {"settings": {"region": "us"}}, format="json")
    assert patched.status_code == 200
    for persona in ("rita", "sam", "olivia"):  # read-only, Source Admin, owner
        for response in (api(persona).get(f"{A}/instances/"), api(persona).get(instance_url)):
            assert response.status_code == 200
            assert SECRET_API_KEY not in response.content.decode()
        body = api(persona).get(instance_url).json()
        assert body["settings"]["apiKey"] == "••••WXYZ"
        assert body["write_only_settings"] == ["apiKey"]
    audit = olivia.get(f"{A}/audit-events/")
    assert audit.status_code == 200 and SECRET_API_KEY not in audit.content.decode()
    assert SECRET_API_KEY not in _csv_export(world)


def test_a_deploy_refuses_stored_values_the_new_version_does_not_accept(world: World, api) -> None:
    olivia = api("olivia")
    schema = [*world.function.settings_schema, {"label": "Send Email"}]
    olivia.patch(_fn(world), {"settings_schema": schema}, format="json")
    olivia.post(_fn(world) + "deployments/", {"instances": [world.instance.pk]}, format="json")
    instance_url = f"{A}/instances/{world.instance.pk}/"
    olivia.patch(instance_url, {"settings": {"sendEmail": "yes"}}, format="json")
    schema[-1] = {"label": "Send Email", "type": "boolean"}
    olivia.patch(_fn(world), {"settings_schema": schema}, format="json")
    before = AuditEvent.objects.count()
    response = olivia.post(
        _fn(world) + "deployments/", {"instances": [world.instance.pk]}, format="json"
    )
    assert response.status_code == 400
    problem = "Webhook (prod): sendEmail: must be true or false."
    assert response.json() == {"detail": problem, "errors": {"instances": [problem]}}
    assert DestinationInstance.objects.get(pk=world.instance.pk).deployed_version.number == 2
    assert AuditEvent.objects.count() == before


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [400, 900])
def test_deeply_nested_json_is_a_400_naming_the_problem(world: World, api, depth: int) -> None:
    olivia = api("olivia")
    bodies = [
        (_fn(world), "patch", '{"settings_schema": [{"label": "A", "description": DEEP}]}'),
        (f"{A}/instances/{world.instance.pk}/", "patch", '{"settings": {"region": DEEP}}'),
        (f"{A}/functions/preview/", "post", '{"code": "", "payload": {"deep": DEEP}}'),
        (_fn(world) + "preview/", "post", '{"payload": [DEEP]}'),
    ]
    before = AuditEvent.objects.count()
    for url, method, template in bodies:
        body = template.replace("DEEP", _deep(depth))
        response = getattr(olivia, method)(url, body, content_type="application/json")
        assert response.status_code == 400, (url, response.content[:200])
        assert "nested deeper than 64 levels" in response.content.decode(), url
    assert AuditEvent.objects.count() == before


def test_over_long_descriptions_and_labels_are_400s_naming_field_and_limit(
    world: World, api
) -> None:
    olivia = api("olivia")
    cases = [
        ({"description": "d" * 2001}, "description", "2000"),
        ({"settings_schema": [{"label": "L" * 101}]}, "settings_schema", "100"),
        (
            {"settings_schema": [{"label": "A", "description": "d" * 1001}]},
            "settings_schema",
            "1000",
        ),
    ]
    before = AuditEvent.objects.count()
    for body, field, limit in cases:
        response = olivia.patch(_fn(world), body, format="json")
        assert response.status_code == 400, body
        assert limit in " ".join(response.json()["errors"][field]), response.json()
    created = olivia.post(f"{A}/functions/", {"name": "Long", "description": "d" * 2001})
    assert created.status_code == 400 and "description" in created.json()["errors"]
    assert AuditEvent.objects.count() == before
    assert Function.objects.get(pk=world.function.pk).versions.count() == 1


def test_a_patch_that_changes_nothing_writes_no_audit_row(world: World, api) -> None:
    olivia = api("olivia")
    current = olivia.get(_fn(world)).json()
    before = AuditEvent.objects.count()
    body = {key: current[key] for key in ("name", "description", "code", "settings_schema")}
    response = olivia.patch(_fn(world), {**body, "timeout_ms": None}, format="json")
    assert response.status_code == 200 and response.json()["latest_version"] == 1
    assert AuditEvent.objects.count() == before


SLEEPS_300_MS = """async function onTrack(event) {
  await new Promise((resolve) => setTimeout(resolve, 300));
  return 'done';
}"""


def test_the_time_limit_is_versioned_and_previews_use_the_versions_own(world: World, api) -> None:
    olivia = api("olivia")
    assert olivia.patch(_fn(world), {"code": SLEEPS_300_MS}, format="json").status_code == 200
    response = olivia.patch(_fn(world), {"timeout_ms": 100}, format="json")
    assert response.status_code == 200
    assert (response.json()["latest_version"], response.json()["timeout_ms"]) == (3, 100)
    versions = olivia.get(_fn(world) + "versions/").json()["results"]
    assert [(v["number"], v["timeout_ms"]) for v in versions] == [(3, 100), (2, None), (1, None)]
    run = {"payload": {"type": "track", "event": "x"}, "settings": {"apiKey": "k"}}
    runs = {
        number: olivia.post(
            _fn(world) + "preview/", {"version": number, **run}, format="json"
        ).json()["outcome"]
        for number in (2, 3)
    }
    assert runs == {2: "success", 3: "timeout"}
