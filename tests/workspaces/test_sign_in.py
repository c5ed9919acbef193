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
