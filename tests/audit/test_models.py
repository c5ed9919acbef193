from __future__ import annotations

import pytest

from audit.models import AppendOnlyError, AuditEvent
from audit.redaction import redact
from audit.services import audit_record
from tests.conftest import World


def test_audit_events_refuse_update_and_delete(world: World) -> None:
    event = audit_record(action="test.thing", actor=world.users["olivia"], workspace=world.acme)
    event.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.thing"


def test_secret_looking_values_are_redacted() -> None:
    cleaned = redact({"password": "hunter2-hunter2", "nested": [{"api_key": "abcdefghijklmnop"}],
                      "region": "eu"})  # fmt: skip
    assert cleaned == {"password": "••••ter2", "nested": [{"api_key": "••••mnop"}], "region": "eu"}


def test_actor_label_survives_user_deletion(world: World) -> None:
    adam = world.users["adam"]
    event = audit_record(action="test.thing", actor=adam, workspace=world.acme)
    adam.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor_label == "adam"


def test_the_database_itself_refuses_changes(world: World) -> None:
    from django.db import DatabaseError, connection, transaction

    event = audit_record(action="test.thing", actor=world.users["olivia"], workspace=world.acme)
    table = AuditEvent._meta.db_table
    statements = [f"UPDATE {table} SET action = 'x' WHERE id = %s"]
    if connection.vendor == "postgresql":  # see the migration for why SQLite allows DELETE
        statements.append(f"DELETE FROM {table} WHERE id = %s")
    for statement in statements:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.thing"


def test_sign_ins_stay_out_of_workspace_trails(world: World) -> None:
    from audit.selectors import audit_event_list
    from workspaces.services import GrantSpec, invitation_accept, invitation_create

    olivia = world.users["olivia"]
    audit_record(action="auth.login", actor=olivia, workspace=None, target=olivia)
    _invitation, code = invitation_create(
        workspace=world.globex, grants=[GrantSpec(role="auditor")], actor=world.users["gary"]
    )
    invitation_accept(code=code, user=olivia)
    audit_record(action="auth.login", actor=olivia, workspace=None, target=olivia)
    # Neither before nor after joining: gary sees what olivia does in globex, nothing else.
    for workspace in (world.globex, world.acme):
        assert not audit_event_list(workspace=workspace).filter(action="auth.login").exists()
    assert (
        audit_event_list(workspace=world.globex).filter(action="invitation.accepted").count() == 1
    )
