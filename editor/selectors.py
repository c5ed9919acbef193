"""Reads of the IDE's test data. Values for display are masked; decrypted values are only
for test runs, never for responses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from catalog.models import Function
from catalog.settings_schema import setting_values_masked
from editor.models import SavedTestCase, TestSettings


def test_settings_get(*, user: User, function: Function) -> TestSettings | None:
    return TestSettings.objects.filter(user=user, function=function).first()


def test_settings_secret_values(*, test_settings: TestSettings | None) -> dict[str, str]:
    """Decrypted values of encrypted test settings: for test runs only."""
    if test_settings is None:
        return {}
    values: dict[str, str] = json.loads(test_settings.encrypted_settings or "{}")
    return values


def test_settings_masked(*, user: User, function: Function) -> dict[str, Any]:
    """The user's test values for the function's LATEST settings, encrypted ones masked."""
    stored = test_settings_get(user=user, function=function)
    if stored is None:
        return {}
    return setting_values_masked(
        schema=function.settings_schema,
        plain=stored.settings,
        secret=test_settings_secret_values(test_settings=stored),
    )


def test_case_list(*, function: Function) -> QuerySet[SavedTestCase]:
    return SavedTestCase.objects.filter(function=function).select_related("created_by")


def test_case_get(*, function: Function, case_id: int) -> SavedTestCase:
    case = test_case_list(function=function).filter(id=case_id).first()
    if case is None:
        raise Http404("No such test case")
    return case


def test_case_secret_values(*, case: SavedTestCase) -> dict[str, str]:
    """Decrypted values of a case's encrypted settings: for test runs only."""
    values: dict[str, str] = json.loads(case.encrypted_settings or "{}")
    return values


def test_case_settings_masked(*, case: SavedTestCase) -> dict[str, Any]:
    return setting_values_masked(
        schema=case.function.settings_schema,
        plain=case.settings,
        secret=test_case_secret_values(case=case),
    )


@dataclass(frozen=True)
class TestRunInput:
    """The setting values and event of one test run, stored values filled in."""

    __test__ = False  # not a pytest test class

    settings: dict[str, Any]
    payload: Any


def test_run_input(
    *,
    user: User,
    function: Function | None,
    settings_schema: list[dict[str, Any]],
    settings: dict[str, Any],
    payload: Any = None,
    test_case_id: int | None = None,
) -> TestRunInput:
    """Fill in what a test run of ``function`` (None: a new function) leaves out.

    ``settings_schema`` is the (cleaned) schema being tested. Encrypted settings left out
    of ``settings`` take the user's stored test value. With ``test_case_id``, the case's
    values come first (its encrypted ones only for the user who saved it: test secrets
    are personal) and its event is used unless ``payload`` is given. Values given in
    ``settings`` always win; stored values of settings the schema does not name are left
    out.
    """
    names = {s["name"] for s in settings_schema}
    encrypted = {s["name"] for s in settings_schema if s["encrypted"]}
    merged: dict[str, Any] = {}
    if function is not None:
        stored = test_settings_secret_values(
            test_settings=test_settings_get(user=user, function=function)
        )
        merged.update({k: v for k, v in stored.items() if k in encrypted})
    if test_case_id is not None:
        if function is None:
            raise ValidationError({"test_case_id": "Test cases belong to a saved function."})
        case = test_case_get(function=function, case_id=test_case_id)
        values = dict(case.settings)
        if case.created_by_id == user.pk:
            values.update(test_case_secret_values(case=case))
        merged.update({k: v for k, v in values.items() if k in names})
        if payload is None:
            payload = case.payload
    if payload is None:
        raise ValidationError({"payload": "Give an event object or an array of events."})
    merged.update(settings)
    return TestRunInput(settings=merged, payload=payload)
