"""The Audit Trail page and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record
from tests.conftest import SECRET_API_KEY, World

Login = Callable[[str], Client]


def csv_rows(response: object) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("persona", ["olivia", "audrey"])
def test_audit_page_renders_for_owner_and_auditor(world: World, login: Login, persona: str) -> None:
    response = login(persona).get("/w/acme/audit/")
    assert response.status_code == 200
    for action in (b"function.created", b"member.added", b"instance.connected"):
        assert action in response.content
    assert SECRET_API_KEY.encode() not in response.content


@pytest.mark.parametrize("persona", ["adam", "sally", "rita", "ruth", "sam", "dana"])
def test_audit_page_forbidden_for_other_members(world: World, login: Login, persona: str) -> None:
    client = login(persona)
    assert client.get("/w/acme/audit/").status_code == 403
    assert client.get("/w/acme/audit/export.csv").status_code == 403


def test_audit_is_404_for_foreign_user(world: World, login: Login) -> None:
    client = login("gary")
    assert client.get("/w/acme/audit/").status_code == 404
    assert client.get("/w/acme/audit/export.csv").status_code == 404


def test_audit_page_does_not_show_foreign_events(world: World, login: Login) -> None:
    content = login("olivia").get("/w/acme/audit/").content
    assert b"Globex Hook" not in content
    assert b"gary" not in content


def test_changes_column_shows_json_summary(world: World, login: Login) -> None:
    content = login("olivia").get("/w/acme/audit/?action=source.created").content
    assert b"&quot;name&quot;: &quot;Website&quot;" in content


def test_filters_narrow_the_list(world: World, login: Login) -> None:
    client = login("olivia")
    by_action = client.get("/w/acme/audit/", {"action": "function.created"})
    assert {e.action for e, _ in by_action.context["rows"]} == {"function.created"}
    assert len(by_action.context["rows"]) == 2
    by_target = client.get("/w/acme/audit/", {"target": "Mailer"})
    assert {e.target_label for e, _ in by_target.context["rows"]} == {"Mailer"}
    by_actor = client.get("/w/acme/audit/", {"actor": "nobody-like-this"})
    assert by_actor.context["rows"] == []
    tomorrow = (timezone.now() + dt.timedelta(days=1)).date().isoformat()
    assert client.get("/w/acme/audit/", {"since": tomorrow}).context["rows"] == []
    assert client.get("/w/acme/audit/", {"until": tomorrow}).context["rows"]


def test_bad_filter_is_shown_not_a_500(world: World, login: Login) -> None:
    response = login("olivia").get("/w/acme/audit/", {"since": "not-a-date"})
    assert response.status_code == 200
    assert b"errorlist" in response.content


def test_pagination_50_per_page(world: World, login: Login) -> None:
    for i in range(60):
        audit_record(
            action="test.filler", actor=world.users["olivia"], workspace=world.acme,
            target_label=f"filler-{i}",
        )  # fmt: skip
    client = login("olivia")
    first = client.get("/w/acme/audit/", {"action": "test.filler"})
    assert len(first.context["rows"]) == 50
    assert b"Page 1 of 2" in first.content
    assert b"action=test.filler&amp;page=2" in first.content
    second = client.get("/w/acme/audit/", {"action": "test.filler", "page": 2})
    assert len(second.context["rows"]) == 10


def test_csv_export_streams_filtered_rows(world: World, login: Login) -> None:
    response = login("audrey").get("/w/acme/audit/export.csv", {"action": "function.created"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][:3] == ["time", "actor", "action"]
    assert [r[2] for r in rows[1:]] == ["function.created", "function.created"]


def test_csv_export_never_contains_plaintext_secret(world: World, login: Login) -> None:
    rows = csv_rows(login("olivia").get("/w/acme/audit/export.csv"))
    assert len(rows) > 5
    assert all(SECRET_API_KEY not in cell for row in rows for cell in row)


def test_audit_pages_do_not_write_audit_rows(world: World, login: Login) -> None:
    client = login("olivia")
    before = AuditEvent.objects.count()
    client.get("/w/acme/audit/")
    csv_rows(client.get("/w/acme/audit/export.csv"))
    assert AuditEvent.objects.count() == before
