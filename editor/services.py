"""Writes of the IDE's test data: a user's test setting values and saved test cases.

Each change writes one audit row, values masked. Setting values are validated against the
function's LATEST settings schema; required settings may be left out (a test can check
what happens without them).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import audit_record
from catalog.models import Function
from catalog.settings_schema import contains_bad_text, setting_values_clean, setting_values_masked
from editor import selectors
from editor.models import SavedTestCase, TestSettings
from runtime.services import OUTCOMES

MAX_TEST_CASES_PER_FUNCTION = 100
MAX_TEST_CASE_PAYLOAD_BYTES = 512 * 1024  # well under the runtime's MAX_PAYLOAD_BYTES


def _optional(schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**setting, "required": False} for setting in schema]


def _clean_values(
    *,
    function: Function,
    values: Any,
    previous_plain: dict[str, Any] | None = None,
    previous_secret: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    return setting_values_clean(
        schema=_optional(function.settings_schema),
        values=values,
        previous_plain=previous_plain,
        previous_secret=previous_secret,
    )


@transaction.atomic
def test_settings_update(*, user: User, function: Function, settings: Any) -> TestSettings:
    """Change the user's test values for ``function``. Values left out keep theirs (so an
    encrypted one, which the browser never sees, survives an edit of the others); None
    clears one. Nothing changed, nothing written."""
    stored = TestSettings.objects.select_for_update().filter(user=user, function=function).first()
    if stored is None:
        stored = TestSettings(user=user, function=function)
    old_secret = selectors.test_settings_secret_values(test_settings=stored)
    plain, secret = _clean_values(
        function=function,
        values=settings,
        previous_plain=stored.settings,
        previous_secret=old_secret,
    )
    if plain == stored.settings and secret == old_secret:
        return stored
    stored.settings = plain
    stored.encrypted_settings = json.dumps(secret)
    stored.save()
    audit_record(
        action="test_settings.changed",
        actor=user,
        workspace=function.workspace,
        target=function,
        changes={
            "settings": setting_values_masked(
                schema=function.settings_schema, plain=plain, secret=secret
            )
        },
    )
    return stored


def _clean_case_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"name": "This field is required."})
    if len(name.strip()) > 100:
        raise ValidationError({"name": "At most 100 characters."})
    if contains_bad_text(name):
        raise ValidationError({"name": "Cannot contain NUL characters or lone surrogates."})
    return name.strip()


def _clean_payload(payload: Any) -> Any:
    if isinstance(payload, list):
        if not payload or not all(isinstance(event, dict) for event in payload):
            raise ValidationError({"payload": "A batch is a non-empty array of event objects."})
    elif not isinstance(payload, dict):
        raise ValidationError({"payload": "Must be an event object or an array of events."})
    if contains_bad_text(payload):
        raise ValidationError({"payload": "Cannot contain NUL characters or lone surrogates."})
    try:
        size = len(json.dumps(payload, allow_nan=False).encode())
    except ValueError as exc:
        raise ValidationError({"payload": f"Not valid JSON: {exc}"}) from exc
    if size > MAX_TEST_CASE_PAYLOAD_BYTES:
        raise ValidationError(
            {"payload": f"At most {MAX_TEST_CASE_PAYLOAD_BYTES // 1024} KB for a test case."}
        )
    return payload


@transaction.atomic
def test_case_create(
    *,
    function: Function,
    actor: User,
    name: Any,
    payload: Any,
    settings: Any = None,
    expected_outcome: Any = "success",
) -> SavedTestCase:
    """Save a test case: an event (or batch), setting values and the expected outcome.

    Encrypted settings left out of ``settings`` take the actor's stored test values, so
    that a case saved from the Test panel keeps the secrets the panel never saw.
    """
    function = Function.objects.select_for_update().get(pk=function.pk)
    name = _clean_case_name(name)
    if expected_outcome not in OUTCOMES:
        raise ValidationError({"expected_outcome": f"One of {', '.join(OUTCOMES)}."})
    payload = _clean_payload(payload)
    stored = selectors.test_settings_get(user=actor, function=function)
    plain, secret = _clean_values(
        function=function,
        values={} if settings is None else settings,
        previous_secret=selectors.test_settings_secret_values(test_settings=stored),
    )
    cases = SavedTestCase.objects.filter(function=function)
    if cases.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"A test case named '{name}' already exists."})
    if cases.count() >= MAX_TEST_CASES_PER_FUNCTION:
        raise ValidationError(
            {"name": f"At most {MAX_TEST_CASES_PER_FUNCTION} test cases per function."}
        )
    case = SavedTestCase.objects.create(
        function=function,
        name=name,
        payload=payload,
        settings=plain,
        encrypted_settings=json.dumps(secret),
        expected_outcome=expected_outcome,
        created_by=actor,
    )
    audit_record(
        action="test_case.created",
        actor=actor,
        workspace=function.workspace,
        target=case,
        changes={
            "function": function.name,
            "name": name,
            "expected_outcome": expected_outcome,
            "settings": setting_values_masked(
                schema=function.settings_schema, plain=plain, secret=secret
            ),
        },
    )
    return case


@transaction.atomic
def test_case_delete(*, case: SavedTestCase, actor: User) -> None:
    function, label, case_id = case.function, case.name, case.pk
    case.delete()
    audit_record(
        action="test_case.deleted",
        actor=actor,
        workspace=function.workspace,
        target_label=label,
        changes={"function": function.name, "test_case_id": case_id},
    )
