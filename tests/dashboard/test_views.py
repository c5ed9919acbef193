"""The workspace dashboard: counts of what the member sees, recent activity for auditors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import resolve, reverse

from tests.conftest import SECRET_API_KEY, World

Login = Callable[[str], Client]
EVERY_MEMBER = ["olivia", "adam", "sally", "rita", "ruth", "sam", "dana", "audrey"]


def test_dashboard_keeps_its_name_and_address() -> None:
    assert reverse("dashboard", args=["acme"]) == "/w/acme/"
    assert resolve("/w/acme/").func.__module__ == "dashboard.views"


@pytest.mark.parametrize("persona", EVERY_MEMBER)
def test_dashboard_renders_for_every_member(world: World, login: Login, persona: str) -> None:
    response = login(persona).get("/w/acme/")
    assert response.status_code == 200
    assert SECRET_API_KEY.encode() not in response.content


def test_dashboard_is_404_for_foreign_workspace(world: World, login: Login) -> None:
    assert login("gary").get("/w/acme/").status_code == 404
    assert login("olivia").get("/w/globex/").status_code == 404
    assert login("olivia").get("/w/nope/").status_code == 404


def test_dashboard_counts_what_the_member_sees(world: World, login: Login) -> None:
    owner = login("olivia").get("/w/acme/")
    assert owner.context["function_count"] == 2
    assert owner.context["source_count"] == 1
    assert owner.context["instance_count"] == 1
    ruth = login("ruth").get("/w/acme/")
    assert ruth.context["function_count"] == 1


@pytest.mark.parametrize(
    ("persona", "shown"), [("olivia", True), ("audrey", True), ("adam", False)]
)
def test_recent_activity_only_for_audit_viewers(
    world: World, login: Login, persona: str, shown: bool
) -> None:
    response = login(persona).get("/w/acme/")
    assert (b"Recent activity" in response.content) is shown
    assert (b"instance.connected" in response.content) is shown


def test_dashboard_template_lives_with_its_app(world: World, login: Login) -> None:
    response = login("olivia").get("/w/acme/")
    assert "dashboard/dashboard.html" in [t.name for t in response.templates]
