from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Workspace Owner"
    FUNCTIONS_ADMIN = "functions_admin", "Functions Admin"
    FUNCTIONS_READONLY = "functions_readonly", "Functions Read-only"
    SOURCE_ADMIN = "source_admin", "Source Admin"
    AUDITOR = "auditor", "Auditor"


# Roles whose grant may be limited to a chosen subset of the workspace's functions.
FUNCTION_SCOPED_ROLES = frozenset({Role.FUNCTIONS_ADMIN, Role.FUNCTIONS_READONLY})


class Workspace(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace}"


class RoleGrant(models.Model):
    """One role held by a member; function roles may cover all functions or a subset."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=32, choices=Role.choices)
    all_functions = models.BooleanField(default=True)
    functions = models.ManyToManyField("catalog.Function", blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "role"], name="unique_role_grant")
        ]

    def __str__(self) -> str:
        return f"{self.membership}: {self.role}"


class ApiToken(models.Model):
    """A personal access token; only its SHA-256 is stored, the plaintext is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Invitation(models.Model):
    """A link that lets whoever holds it join the workspace with the roles offered, once,
    until it expires. Only the SHA-256 of its code is stored: the link is shown once."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    note = models.CharField(max_length=100, blank=True, default="")
    code_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.note or f"Invitation #{self.pk}"


class InvitationGrant(models.Model):
    """A role the invitation offers, covering all functions or a subset, like a RoleGrant."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=32, choices=Role.choices)
    all_functions = models.BooleanField(default=True)
    functions = models.ManyToManyField("catalog.Function", blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invitation", "role"], name="unique_invitation_grant")
        ]

    def __str__(self) -> str:
        return f"{self.invitation}: {self.role}"
