from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.db import models
from encrypted_model_fields.fields import EncryptedTextField

from workspaces.models import Workspace


class ImmutableRowError(Exception):
    """Raised when code tries to change a row that is append-only by design."""


class Source(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=100)
    write_key = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_source_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FunctionKind(models.TextChoices):
    DESTINATION = "destination", "Destination"


class Function(models.Model):
    """A destination function. ``code``, ``settings_schema`` and ``timeout_ms`` mirror its
    LATEST version."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="functions")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(
        max_length=20, choices=FunctionKind.choices, default=FunctionKind.DESTINATION
    )
    code = models.TextField()
    settings_schema = models.JSONField(default=list)
    # LATEST's time limit (see FunctionVersion.timeout_ms).
    timeout_ms = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_function_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FunctionVersion(models.Model):
    """An immutable, numbered snapshot of a function's code, settings schema and time
    limit: what a deploy puts on an instance."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    code = models.TextField()
    settings_schema = models.JSONField(default=list)
    # Per-invocation time limit; None means the platform default (FUNCTIONS_TIMEOUT_MS).
    timeout_ms = models.PositiveIntegerField(null=True, blank=True)
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["function", "number"], name="unique_version_number")
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.function} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRowError("function versions are immutable; save a new version instead")
        super().save(*args, **kwargs)


class DestinationInstance(models.Model):
    """A function connected to a source, with its own setting values and deployed version."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="instances")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="instances")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="instances")
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    deployed_version = models.ForeignKey(
        FunctionVersion, on_delete=models.RESTRICT, related_name="instances"
    )
    settings = models.JSONField(default=dict)
    # JSON object of the values of encrypted settings, encrypted at rest as one blob.
    encrypted_settings = EncryptedTextField(default="{}")
    # Since when its deliveries fail consistently (Connection Health); None while they do
    # not. The event pipeline sets it through ``catalog.services.instances_health_set``.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_instance_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeploymentKind(models.TextChoices):
    CONNECT = "connect", "Connected"
    DEPLOY = "deploy", "Deployed"
    ROLLBACK = "rollback", "Rolled back"


class Deployment(models.Model):
    """Which version went to which instances, and when. The rows that name an instance are
    its history, from the version it was connected with (a ``connect`` row) through every
    deploy and rollback, so "the version it ran before" can always be answered."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="deployments")
    version = models.ForeignKey(FunctionVersion, on_delete=models.RESTRICT, related_name="+")
    kind = models.CharField(
        max_length=10, choices=DeploymentKind.choices, default=DeploymentKind.DEPLOY
    )
    instances = models.ManyToManyField(DestinationInstance, related_name="deployments")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.function} v{self.version.number} deployment"
