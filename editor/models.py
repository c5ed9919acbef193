"""What the IDE keeps per function for testing: each user's test setting values, and named
test cases shared by the function's editors."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from encrypted_model_fields.fields import EncryptedTextField

from catalog.models import Function
from runtime.services import OUTCOMES


class TestSettings(models.Model):
    """One user's test values for one function's settings, used only for test runs.
    Encrypted settings' values are kept in ``encrypted_settings``, as one encrypted JSON
    object, like ``catalog.DestinationInstance``."""

    __test__ = False  # not a pytest test class, whatever its name

    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="+")
    settings = models.JSONField(default=dict)
    encrypted_settings = EncryptedTextField(default="{}")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "function"], name="unique_test_settings")
        ]
        verbose_name_plural = "test settings"

    def __str__(self) -> str:
        return f"test settings of {self.function}"


class SavedTestCase(models.Model):
    """A named test input (event or batch), its setting values and the outcome it should
    have. Its encrypted values are used only in runs by the user who saved it."""

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=100)
    payload = models.JSONField()
    settings = models.JSONField(default=dict)
    encrypted_settings = EncryptedTextField(default="{}")
    expected_outcome = models.CharField(
        max_length=32, choices=[(outcome, outcome) for outcome in OUTCOMES]
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["function", "name"], name="unique_test_case_name")
        ]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
