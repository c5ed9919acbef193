"""Error pages and logs never carry secrets, whatever fails."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from tests.conftest import SECRET_API_KEY, World


def test_a_crash_shows_a_plain_500_without_secrets(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*, instance: object) -> int:
        secret_values = {"apiKey": SECRET_API_KEY}  # a local a debug page would show
        raise RuntimeError(f"settings broke ({len(secret_values)} values)")

    monkeypatch.setattr("catalog.selectors.instance_previous_number", explode)
    client = Client(raise_request_exception=False)
    client.force_login(world.users["olivia"])
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/w/acme/functions/{world.function.pk}/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert SECRET_API_KEY not in body and "Traceback" not in body
    assert "settings broke" in caplog.text  # the failure is logged...
    assert SECRET_API_KEY not in caplog.text  # ...without the secret


def test_not_found_and_forbidden_pages_are_friendly(world: World) -> None:
    client = Client()
    client.force_login(world.users["rita"])
    missing = client.get("/w/globex/")
    assert missing.status_code == 404 and "404 · Not found" in missing.content.decode()
    forbidden = client.get("/w/acme/members/")
    assert forbidden.status_code == 403 and "403 · Not allowed" in forbidden.content.decode()
