"""The test data API: test settings and saved test cases, for those who may run tests."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from editor.models import SavedTestCase
from tests.conftest import SECRET_API_KEY, World

A = "/api/v1/workspaces/acme"
TRACK = {"type": "track", "event": "Signed Up"}


@pytest.fixture
def api(world: World):
    def _client(username: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=world.users[username])
        return client

    return _client


def _settings_url(world: World) -> str:
    return f"{A}/functions/{world.function.pk}/test-settings/"


def _cases_url(world: World) -> str:
    return f"{A}/functions/{world.function.pk}/test-cases/"


def test_test_settings_round_trip_without_echoing_the_secret(
    world: World, api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sally = api("sally")
    assert sally.get(_settings_url(world)).json() == {"settings": {}}
    response = sally.put(
        _settings_url(world),
        {"settings": {"apiKey": SECRET_API_KEY, "region": "eu"}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()["settings"]
    assert body["region"] == "eu" and body["apiKey"].startswith("••••")
    # Leaving the secret out keeps it; the answers never carry it.
    response = sally.put(_settings_url(world), {"settings": {"region": "us"}}, format="json")
    assert response.json()["settings"]["apiKey"] == body["apiKey"]
    read = sally.get(_settings_url(world))
    assert read.json()["settings"]["region"] == "us"
    assert api("adam").get(_settings_url(world)).json() == {"settings": {}}
    trail = " ".join(str(e.changes) for e in AuditEvent.objects.all())
    for text in (response.content.decode(), read.content.decode(), trail, caplog.text):
        assert SECRET_API_KEY not in text


def test_bad_test_settings_are_400_with_the_field(world: World, api) -> None:
    olivia = api("olivia")
    for body in ({}, {"settings": "x"}, {"settings": {"nope": 1}}, {"settings": {"region": 5}}):
        response = olivia.put(_settings_url(world), body, format="json")
        assert response.status_code == 400, body
        assert "settings" in response.json()["errors"], body


def test_test_cases_are_listed_created_and_deleted(
    world: World, api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adam = api("adam")
    adam.put(_settings_url(world), {"settings": {"apiKey": SECRET_API_KEY}}, format="json")
    response = adam.post(
        _cases_url(world),
        {"name": "Batch", "payload": [TRACK, TRACK], "settings": {"region": "eu"},
         "expected_outcome": "unsupported_event_type"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    case = response.json()
    assert case["name"] == "Batch" and case["payload"] == [TRACK, TRACK]
    assert case["expected_outcome"] == "unsupported_event_type"
    assert case["created_by"] == "adam"
    assert case["settings"]["region"] == "eu" and case["settings"]["apiKey"].startswith("••••")
    listed = api("sally").get(_cases_url(world))
    assert [c["name"] for c in listed.json()["results"]] == ["Batch"]
    for text in (response.content.decode(), listed.content.decode(), caplog.text):
        assert SECRET_API_KEY not in text
    default = adam.post(_cases_url(world), {"name": "Plain", "payload": TRACK}, format="json")
    assert default.json()["expected_outcome"] == "success"
    delete = adam.delete(f"{_cases_url(world)}{case['id']}/")
    assert delete.status_code == 204
    assert list(SavedTestCase.objects.values_list("name", flat=True)) == ["Plain"]
    assert adam.delete(f"{_cases_url(world)}{case['id']}/").status_code == 404


def test_bad_test_cases_are_400_with_the_field(world: World, api) -> None:
    olivia = api("olivia")
    olivia.post(_cases_url(world), {"name": "Taken", "payload": TRACK}, format="json")
    cases = [
        ({"payload": TRACK}, "name"),
        ({"name": "A"}, "payload"),
        ({"name": "A", "payload": "track"}, "payload"),
        ({"name": "A", "payload": TRACK, "expected_outcome": "great"}, "expected_outcome"),
        ({"name": "taken", "payload": TRACK}, "name"),
        ({"name": "A", "payload": TRACK, "settings": {"nope": "x"}}, "settings"),
    ]
    for body, field in cases:
        response = olivia.post(_cases_url(world), body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], (body, response.json())
    assert SavedTestCase.objects.count() == 1


def test_a_case_of_another_function_is_404(world: World, api) -> None:
    olivia = api("olivia")
    response = olivia.post(
        f"{A}/functions/{world.other_function.pk}/test-cases/",
        {"name": "Mailer case", "payload": TRACK},
        format="json",
    )
    case_id = response.json()["id"]
    assert olivia.delete(f"{_cases_url(world)}{case_id}/").status_code == 404
    assert SavedTestCase.objects.filter(pk=case_id).exists()


@pytest.mark.parametrize("depth", [500, 5000])
def test_deeply_nested_test_data_is_a_400(world: World, api, depth: int) -> None:
    olivia = api("olivia")
    deep = "[" * depth + "]" * depth
    # As a JSON body and as JSON text in a form body.
    responses = [
        olivia.post(
            _cases_url(world),
            '{"name": "Deep", "payload": {"a": DEEP}}'.replace("DEEP", deep),
            content_type="application/json",
        ),
        olivia.post(_cases_url(world), {"name": "Deep", "payload": deep}),
        olivia.put(
            _settings_url(world),
            '{"settings": {"region": DEEP}}'.replace("DEEP", deep),
            content_type="application/json",
        ),
    ]
    for response in responses:
        assert response.status_code == 400
        assert "nested deeper than 64 levels" in response.content.decode()
    assert SavedTestCase.objects.count() == 0
