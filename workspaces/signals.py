"""Sign-in events go to the audit trail like every other change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.context import current_client_ip
from audit.services import audit_record
from workspaces.sign_in import sign_in_failure_record, sign_in_failures_clear


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action="auth.login", actor=user, workspace=None, target=user)
    sign_in_failures_clear(username=user.get_username(), ip=current_client_ip())


@receiver(user_logged_out)
def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action="auth.logout", actor=user, workspace=None, target=user)


@receiver(user_login_failed)
def _on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # Django already replaces the password in ``credentials``; keep only the user name.
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).first()
    sign_in_failure_record(username=username, ip=current_client_ip())
    audit_record(
        action="auth.login_failed",
        actor=None,
        workspace=None,
        target=user,
        target_label=username,
        changes={"username": username},
    )
