from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from catalog.models import Function
from tests.conftest import SECRET_API_KEY, World

A = "/api/v1/workspaces/acme"


def _token_for(world: World, username: str, api) -> str:
    response = api(username).post(f"{A}/tokens/", {"name": "cli"}, format="json")
    assert response.status_code == 201
    return response.json()["token"]


def test_bearer_token_opens_only_its_workspace(world: World, api) -> None:
    raw = _token_for(world, "olivia", api)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    names = {f["name"] for f in client.get(f"{A}/functions/").json()["results"]}
    assert names == {"Webhook", "Mailer"}
    assert [w["slug"] for w in client.get("/api/v1/workspaces/").json()] == ["acme"]
    # Even a workspace the user belongs to is closed to a token made for another one.
    from workspaces.services import GrantSpec, member_add

    member_add(
        workspace=world.globex,
        username="olivia",
        grants=[GrantSpec(role="owner")],
        actor=world.users["gary"],
    )
    assert client.get("/api/v1/workspaces/globex/functions/").status_code == 404


def test_revoked_and_malformed_tokens_are_refused(world: World, api) -> None:
    raw = _token_for(world, "adam", api)
    token_id = api("adam").get(f"{A}/tokens/").json()["results"][0]["id"]
    assert api("adam").delete(f"{A}/tokens/{token_id}/").status_code == 204
    for header in (f"Bearer {raw}", "Bearer nope", "Bearer a b"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get(f"{A}/functions/").status_code == 401, header


def test_token_plaintext_is_shown_once_and_not_stored(world: World, api) -> None:
    raw = _token_for(world, "rita", api)
    listed = api("rita").get(f"{A}/tokens/").content.decode()
    assert raw not in listed
    from workspaces.models import ApiToken

    assert not ApiToken.objects.filter(token_hash=raw).exists()
    assert raw[:10] == ApiToken.objects.get(user=world.users["rita"]).prefix


def test_bad_input_names_the_field_and_saves_nothing(world: World, api) -> None:
    olivia = api("olivia")
    count = Function.objects.count()
    cases = [
        ({}, "name"),
        ({"name": "Webhook"}, "name"),
        ({"name": "X", "settings_schema": [{"label": "A", "type": "float"}]}, "settings_schema"),
        ({"name": "X", "code": 5}, "code"),
    ]
    for body, field in cases:
        response = olivia.post(f"{A}/functions/", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], (body, response.json())
    assert Function.objects.count() == count
    response = olivia.post(f"{A}/functions/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_encrypted_values_never_leave_the_api(world: World, api) -> None:
    olivia = api("olivia")
    responses = [
        olivia.get(f"{A}/instances/"),
        olivia.get(f"{A}/instances/{world.instance.pk}/"),
        olivia.patch(f"{A}/instances/{world.instance.pk}/", {"settings": {"region": "us"}},
                     format="json"),
        olivia.get(f"{A}/audit-events/"),
    ]  # fmt: skip
    for response in responses:
        assert response.status_code == 200
        assert SECRET_API_KEY not in response.content.decode()
    assert responses[1].json()["settings"]["apiKey"] == "••••WXYZ"


def test_versions_show_latest_and_deployed(world: World, api) -> None:
    olivia = api("olivia")
    olivia.patch(f"{A}/functions/{world.function.pk}/", {"code": "// v2"}, format="json")
    versions = olivia.get(f"{A}/functions/{world.function.pk}/versions/").json()["results"]
    assert [(v["number"], v["states"]) for v in versions] == [(2, ["LATEST"]), (1, ["DEPLOYED"])]
    response = olivia.post(
        f"{A}/functions/{world.function.pk}/deployments/",
        {"instances": [world.instance.pk]},
        format="json",
    )
    assert response.status_code == 201 and response.json()["version"] == 2
    versions = olivia.get(f"{A}/functions/{world.function.pk}/versions/").json()["results"]
    assert versions[0]["states"] == ["LATEST", "DEPLOYED"]


def test_audit_api_filters(world: World, api) -> None:
    olivia = api("olivia")
    olivia.patch(f"{A}/functions/{world.function.pk}/", {"code": "// v2"}, format="json")
    results = olivia.get(f"{A}/audit-events/", {"action": "function.saved"}).json()["results"]
    assert [r["action"] for r in results] == ["function.saved"]
    assert results[0]["actor"] == "olivia" and results[0]["target"] == "Webhook"
    assert olivia.get(f"{A}/audit-events/", {"since": "not-a-date"}).status_code == 400
    everything = olivia.get(f"{A}/audit-events/").json()
    assert all("Globex" not in json.dumps(r) for r in everything["results"])


def test_openapi_schema_and_docs_are_served_locally(world: World, api) -> None:
    schema = api("olivia").get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = json.loads(schema.content)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/workspaces/{workspace_slug}/functions/" in document["paths"]
    docs = api("olivia").get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()


def test_openapi_schema_is_valid_without_warnings() -> None:
    from django.core.management import call_command

    # --fail-on-warn turns ambiguous components or unknown authenticators into failures.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_huge_and_deeply_nested_input_is_a_400(world: World, api) -> None:
    olivia = api("olivia")
    response = olivia.post(
        f"{A}/invitations/",
        {"roles": [{"role": "functions_admin", "all_functions": False, "functions": [2**70]}]},
        format="json",
    )
    assert response.status_code == 400 and "roles" in response.json()["errors"]
    nested = "[" * 5000 + "]" * 5000
    response = olivia.patch(
        f"{A}/functions/{world.function.pk}/", nested, content_type="application/json"
    )
    assert response.status_code == 400


def test_strict_types_and_clashes_are_400s(world: World, api) -> None:
    from catalog.services import instance_create

    olivia = api("olivia")
    fn = f"{A}/functions/{world.function.pk}/"
    for timeout in ("500", 500.0, True):
        response = olivia.patch(fn, {"timeout_ms": timeout}, format="json")
        assert response.status_code == 400 and "timeout_ms" in response.json()["errors"]
    deploy = olivia.post(
        fn + "deployments/", {"version": 0, "instances": [world.instance.pk]}, format="json"
    )
    assert deploy.status_code == 400 and "version" in deploy.json()["errors"]
    second = instance_create(
        function=world.function,
        source=world.source,
        name="Second",
        settings={"apiKey": "k"},
        actor=world.users["olivia"],
    )
    for name in ("Webhook (prod)", "webhook (PROD)"):
        response = olivia.patch(f"{A}/instances/{second.pk}/", {"name": name}, format="json")
        assert response.status_code == 400 and "name" in response.json()["errors"]
    for body in (
        {"code": "a\x00b"},
        {"settings_schema": [{"label": "A\x00"}]},
    ):
        response = olivia.patch(fn, body, format="json")
        assert response.status_code == 400, body
    response = olivia.patch(
        f"{A}/instances/{world.instance.pk}/", {"settings": {"region": "e\x00u"}}, format="json"
    )
    assert response.status_code == 400 and "settings" in response.json()["errors"]


def test_a_new_token_is_never_cached_by_the_api(world: World, api) -> None:
    response = api("rita").post(f"{A}/tokens/", {"name": "cli"}, format="json")
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"


def test_lone_surrogates_are_refused_before_they_are_stored(world: World, api) -> None:
    olivia = api("olivia")
    body = '{"settings_schema": [{"label": "A\\ud800"}]}'
    response = olivia.patch(
        f"{A}/functions/{world.function.pk}/", body, content_type="application/json"
    )
    assert response.status_code == 400 and "settings_schema" in response.json()["errors"]
    body = '{"settings": {"region": "\\udfff"}}'
    response = olivia.patch(
        f"{A}/instances/{world.instance.pk}/", body, content_type="application/json"
    )
    assert response.status_code == 400 and "settings" in response.json()["errors"]
    assert olivia.get(f"{A}/audit-events/").status_code == 200


def test_a_token_cannot_mint_or_revoke_tokens(world: World, api) -> None:
    raw = _token_for(world, "adam", api)
    token_id = api("adam").get(f"{A}/tokens/").json()["results"][0]["id"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.post(f"{A}/tokens/", {"name": "successor"}, format="json").status_code == 403
    assert client.delete(f"{A}/tokens/{token_id}/").status_code == 403
    assert client.get(f"{A}/tokens/").status_code == 200


# --- pagination bounds (issue 8) -----------------------------------------------------------
def _lists(world: World) -> list[str]:
    fn = f"{A}/functions/{world.function.pk}"
    return [
        f"{A}/functions/", f"{A}/instances/", f"{A}/sources/", f"{A}/members/", f"{A}/tokens/",
        f"{A}/audit-events/", f"{fn}/versions/", f"{fn}/deployments/", f"{fn}/test-cases/",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=9223372036854775808", "limit"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=1.5", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("offset=9223372036854775808", "offset"),
    ],
)
def test_out_of_range_page_parameters_are_400s(world: World, api, query: str, field: str) -> None:
    olivia = api("olivia")
    for url in _lists(world):
        response = olivia.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
        assert field in response.json()["errors"], (url, response.json())


def test_pages_hold_at_most_the_documented_maximum(world: World, api) -> None:
    from catalog.services import source_create
    from workspaces.api_base import MAX_PAGE_SIZE

    assert MAX_PAGE_SIZE == 200
    for number in range(MAX_PAGE_SIZE + 5):
        source_create(workspace=world.acme, name=f"Source {number}", actor=world.users["olivia"])
    olivia = api("olivia")
    for limit in (201, 1000, 2**63 - 1):
        body = olivia.get(f"{A}/sources/?limit={limit}").json()
        assert body["count"] == MAX_PAGE_SIZE + 6 and len(body["results"]) == MAX_PAGE_SIZE
    assert len(olivia.get(f"{A}/sources/?limit=7&offset=200").json()["results"]) == 6
    schema = olivia.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = schema["paths"]["/api/v1/workspaces/{workspace_slug}/sources/"]["get"][
        "parameters"
    ]
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit["schema"]["maximum"] == MAX_PAGE_SIZE and "200" in limit["description"]
