from __future__ import annotations

from django.test import Client

from audit.models import AuditEvent
from tests.conftest import PASSWORD, World
from workspaces.sign_in import MAX_FAILURES


def test_repeated_failures_block_even_the_right_password(world: World) -> None:
    client = Client()
    for _ in range(MAX_FAILURES):
        response = client.post("/login/", {"username": "adam", "password": "wrong"})
        assert response.status_code == 200 and b"correct username and password" in response.content
    response = client.post("/login/", {"username": "adam", "password": PASSWORD})
    assert response.status_code == 200
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == MAX_FAILURES
    assert AuditEvent.objects.filter(action="auth.login_throttled").count() == 1
    # Another user, or the same user from another address, is not affected.
    assert Client().post("/login/", {"username": "rita", "password": PASSWORD}).status_code == 302
    other_address = Client(REMOTE_ADDR="10.1.2.3")
    assert (
        other_address.post("/login/", {"username": "adam", "password": PASSWORD}).status_code == 302
    )


def test_a_success_resets_the_count(world: World) -> None:
    client = Client()
    for _ in range(MAX_FAILURES - 1):
        client.post("/login/", {"username": "adam", "password": "wrong"})
    assert client.post("/login/", {"username": "adam", "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    for _ in range(MAX_FAILURES - 1):
        client.post("/login/", {"username": "adam", "password": "wrong"})
    assert client.post("/login/", {"username": "adam", "password": PASSWORD}).status_code == 302


def test_the_lockout_is_recorded_but_in_no_workspace_trail(world: World) -> None:
    from audit.selectors import audit_event_list

    client = Client()
    for _ in range(MAX_FAILURES + 1):
        client.post("/login/", {"username": "adam", "password": "wrong"})
    lockout = AuditEvent.objects.get(action="auth.login_throttled")
    assert (lockout.target_label, lockout.workspace_id) == ("adam", None)
    # Sign-ins are the instance's, not the business of adam's workspaces' owners.
    assert not audit_event_list(workspace=world.acme).filter(action__startswith="auth.").exists()


def test_behind_a_proxy_the_forwarded_address_counts(world: World, settings) -> None:
    settings.BEHIND_PROXY = True
    for _ in range(MAX_FAILURES):
        Client(HTTP_X_FORWARDED_FOR="198.51.100.7").post(
            "/login/", {"username": "adam", "password": "wrong"}
        )
    failure = AuditEvent.objects.filter(action="auth.login_failed").latest("id")
    assert failure.ip_address == "198.51.100.7"
    # Another client behind the same proxy is not locked out by the first one's guesses;
    # a forged first entry does not change the address.
    other = Client(HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.8")
    assert other.post("/login/", {"username": "adam", "password": PASSWORD}).status_code == 302
    assert AuditEvent.objects.filter(action="auth.login").latest("id").ip_address == "198.51.100.8"
