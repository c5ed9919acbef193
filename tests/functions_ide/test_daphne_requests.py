"""The web server's requests leave form bodies to the application (functions_ide/
daphne_requests.py): Twisted does not parse them, Django still does."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from daphne.http_protocol import WebRequest
from django.contrib.auth import get_user_model
from django.urls import reverse

import functions_ide.asgi  # noqa: F401  (the server's entry point applies it)


def _channel() -> SimpleNamespace:
    server = SimpleNamespace(protocol_connected=lambda request: None)
    return SimpleNamespace(
        getPeer=lambda: None,
        getHost=lambda: None,
        transport=None,
        factory=SimpleNamespace(server=server),
    )


def test_daphne_requests_do_not_parse_form_bodies() -> None:
    request = WebRequest(_channel())
    assert request._parsePOSTFormSubmission is False


@pytest.mark.django_db(transaction=True)
def test_a_form_posted_through_the_real_server_reaches_django(asgi_live_server: str) -> None:
    get_user_model().objects.create_user(username="wanda", password="correct horse")
    login = asgi_live_server + reverse("login")
    with httpx.Client() as client:
        token = client.get(login).cookies["csrftoken"]
        answer = client.post(
            login,
            data={"csrfmiddlewaretoken": token, "username": "wanda", "password": "correct horse"},
            headers={"Referer": login},
        )
    assert answer.status_code == 302, answer.text[:300]  # logged in: Django read the form
    assert "sessionid" in answer.cookies
