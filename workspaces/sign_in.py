"""Slowing down password guessing: after too many failed sign-ins for one user name from one
address, further attempts are refused for a while without checking the password."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache

from audit.context import current_client_ip
from audit.services import audit_record

MAX_FAILURES = 10
WINDOW_S = 15 * 60


def _key(username: str, ip: str | None) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip or ''}".encode()).hexdigest()
    return f"sign-in-failures:{digest}"


def sign_in_failure_record(*, username: str, ip: str | None) -> None:
    key = _key(username, ip)
    cache.add(key, 0, WINDOW_S)  # the window starts at the first failure
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_S)


def sign_in_failures_clear(*, username: str, ip: str | None) -> None:
    cache.delete(_key(username, ip))


def sign_in_blocked(*, username: str, ip: str | None) -> bool:
    return int(cache.get(_key(username, ip), 0)) >= MAX_FAILURES


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing early once the failure limit is reached."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        ip = current_client_ip()
        if username and sign_in_blocked(username=username, ip=ip):
            audit_record(
                action="auth.login_throttled",
                actor=None,
                workspace=None,
                # The user as target: their workspaces' trails show the lockout.
                target=get_user_model().objects.filter(username=username).first(),
                target_label=username[:150],
                changes={"username": username[:150]},
            )
            raise forms.ValidationError(
                f"Too many failed sign-ins. Wait {WINDOW_S // 60} minutes and try again.",
                code="throttled",
            )
        return super().clean()
