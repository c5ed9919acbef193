from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from audit.context import current_client_ip
from audit.models import AuditEvent
from audit.redaction import redact
from workspaces.models import Workspace


def audit_record(
    *,
    action: str,
    actor: User | AnonymousUser | None,
    workspace: Workspace | None,
    target: models.Model | None = None,
    target_label: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Call inside the transaction of the change it describes,
    so that the change and its audit row are committed together or not at all."""
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        workspace=workspace,
        actor=user,
        actor_label=user.get_username() if user is not None else "",
        action=action,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        ip_address=current_client_ip(),
        changes=redact(changes or {}),
    )
