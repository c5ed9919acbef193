"""Test settings and saved test cases: validation, write-only secrets, one audit row each."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404

from audit.models import AuditEvent
from editor import selectors, services
from editor.models import SavedTestCase, TestSettings
from tests.conftest import SECRET_API_KEY, World

OTHER_SECRET = "sk_test_ZYXW9876543210abcd"
TRACK = {"type": "track", "event": "Signed Up"}


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def _raw_column(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT encrypted_settings FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_test_settings_are_stored_encrypted_and_shown_masked(world: World) -> None:
    olivia, fn = world.users["olivia"], world.function
    before = len(_actions())
    stored = services.test_settings_update(
        user=olivia, function=fn, settings={"apiKey": SECRET_API_KEY, "region": "eu"}
    )
    assert stored.settings == {"region": "eu"}
    assert selectors.test_settings_secret_values(test_settings=stored) == {"apiKey": SECRET_API_KEY}
    assert SECRET_API_KEY not in _raw_column(TestSettings._meta.db_table, stored.pk)
    masked = selectors.test_settings_masked(user=olivia, function=fn)
    assert masked["region"] == "eu"
    assert masked["apiKey"].startswith("••••") and SECRET_API_KEY not in masked["apiKey"]
    assert _actions()[before:] == ["test_settings.changed"]
    event = AuditEvent.objects.order_by("-id").first()
    assert SECRET_API_KEY not in str(event.changes)
    assert event.target_id == str(fn.pk)


def test_left_out_values_keep_theirs_and_null_clears(world: World) -> None:
    olivia, fn = world.users["olivia"], world.function
    services.test_settings_update(
        user=olivia, function=fn, settings={"apiKey": SECRET_API_KEY, "region": "eu"}
    )
    stored = services.test_settings_update(user=olivia, function=fn, settings={"region": "us"})
    assert stored.settings == {"region": "us"}
    assert selectors.test_settings_secret_values(test_settings=stored) == {"apiKey": SECRET_API_KEY}
    stored = services.test_settings_update(user=olivia, function=fn, settings={"apiKey": None})
    assert selectors.test_settings_secret_values(test_settings=stored) == {}
    assert TestSettings.objects.filter(user=olivia, function=fn).count() == 1


def test_unchanged_test_settings_write_nothing(world: World) -> None:
    olivia, fn = world.users["olivia"], world.function
    before = len(_actions())
    services.test_settings_update(user=olivia, function=fn, settings={})
    assert not TestSettings.objects.exists()
    services.test_settings_update(user=olivia, function=fn, settings={"region": "eu"})
    services.test_settings_update(user=olivia, function=fn, settings={"region": "eu"})
    assert _actions()[before:] == ["test_settings.changed"]


def test_test_settings_are_per_user(world: World) -> None:
    fn = world.function
    services.test_settings_update(
        user=world.users["olivia"], function=fn, settings={"apiKey": SECRET_API_KEY}
    )
    assert selectors.test_settings_masked(user=world.users["adam"], function=fn) == {}


@pytest.mark.parametrize(
    "values",
    [{"nope": "x"}, {"region": 5}, {"apiKey": ["a"]}, "not an object", {"region": "a\x00"}],
)
def test_bad_test_settings_are_refused(world: World, values: object) -> None:
    before = len(_actions())
    with pytest.raises(ValidationError) as caught:
        services.test_settings_update(
            user=world.users["olivia"], function=world.function, settings=values
        )
    assert "settings" in caught.value.message_dict
    assert len(_actions()) == before


def test_required_settings_may_be_left_out_of_test_values(world: World) -> None:
    # A test may check what happens without them (the run says invalid_settings).
    stored = services.test_settings_update(
        user=world.users["olivia"], function=world.function, settings={"region": "eu"}
    )
    assert stored.settings == {"region": "eu"}


def test_a_case_keeps_the_savers_stored_secret_masked_everywhere(world: World) -> None:
    olivia, fn = world.users["olivia"], world.function
    services.test_settings_update(user=olivia, function=fn, settings={"apiKey": SECRET_API_KEY})
    before = len(_actions())
    case = services.test_case_create(
        function=fn,
        actor=olivia,
        name="  Signed up  ",
        payload=TRACK,
        settings={"region": "eu"},
        expected_outcome="success",
    )
    assert case.name == "Signed up"
    assert case.settings == {"region": "eu"}
    assert selectors.test_case_secret_values(case=case) == {"apiKey": SECRET_API_KEY}
    assert SECRET_API_KEY not in _raw_column(SavedTestCase._meta.db_table, case.pk)
    masked = selectors.test_case_settings_masked(case=case)
    assert masked["region"] == "eu" and SECRET_API_KEY not in masked["apiKey"]
    assert _actions()[before:] == ["test_case.created"]
    assert SECRET_API_KEY not in str(AuditEvent.objects.order_by("-id").first().changes)


def test_case_names_are_unique_per_function(world: World) -> None:
    olivia = world.users["olivia"]
    services.test_case_create(function=world.function, actor=olivia, name="A", payload=TRACK)
    with pytest.raises(ValidationError) as caught:
        services.test_case_create(function=world.function, actor=olivia, name="a", payload=TRACK)
    assert "name" in caught.value.message_dict
    services.test_case_create(function=world.other_function, actor=olivia, name="A", payload=TRACK)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"payload": "track"}, "payload"),
        ({"payload": []}, "payload"),
        ({"payload": [TRACK, 5]}, "payload"),
        ({"payload": {"type": "track", "p": "x" * (600 * 1024)}}, "payload"),
        ({"payload": {"n": float("nan")}}, "payload"),
        ({"expected_outcome": "fine"}, "expected_outcome"),
        ({"settings": {"nope": 1}}, "settings"),
    ],
)
def test_bad_cases_are_refused(world: World, changes: dict, field: str) -> None:
    args = {"name": "Case", "payload": TRACK, "expected_outcome": "success"} | changes
    before = len(_actions())
    with pytest.raises(ValidationError) as caught:
        services.test_case_create(function=world.function, actor=world.users["olivia"], **args)
    assert field in caught.value.message_dict
    assert not SavedTestCase.objects.exists()
    assert len(_actions()) == before


def test_deleting_a_case_writes_one_audit_row(world: World) -> None:
    olivia = world.users["olivia"]
    case = services.test_case_create(function=world.function, actor=olivia, name="A", payload=TRACK)
    before = len(_actions())
    services.test_case_delete(case=case, actor=olivia)
    assert not SavedTestCase.objects.exists()
    assert _actions()[before:] == ["test_case.deleted"]
    with pytest.raises(Http404):
        selectors.test_case_get(function=world.function, case_id=case.pk)


SCHEMA = [
    {"label": "API Key", "name": "apiKey", "type": "string", "required": True,
     "encrypted": True, "description": ""},
    {"label": "Region", "name": "region", "type": "string", "required": False,
     "encrypted": False, "description": ""},
]  # fmt: skip


def test_run_input_fills_in_the_users_stored_secrets(world: World) -> None:
    olivia, fn = world.users["olivia"], world.function
    services.test_settings_update(
        user=olivia, function=fn, settings={"apiKey": SECRET_API_KEY, "region": "eu"}
    )
    run = selectors.test_run_input(
        user=olivia, function=fn, settings_schema=SCHEMA, settings={}, payload=TRACK
    )
    # Only encrypted values are filled in: the page sends the plain ones it shows.
    assert run.settings == {"apiKey": SECRET_API_KEY}
    given = selectors.test_run_input(
        user=olivia, function=fn, settings_schema=SCHEMA, settings={"apiKey": "x"}, payload=TRACK
    )
    assert given.settings == {"apiKey": "x"}
    plain_now = [SCHEMA[0] | {"encrypted": False}, SCHEMA[1]]
    run = selectors.test_run_input(
        user=olivia, function=fn, settings_schema=plain_now, settings={}, payload=TRACK
    )
    assert run.settings == {}
    other = selectors.test_run_input(
        user=world.users["adam"], function=fn, settings_schema=SCHEMA, settings={}, payload=TRACK
    )
    assert other.settings == {}
    new = selectors.test_run_input(
        user=olivia, function=None, settings_schema=SCHEMA, settings={}, payload=TRACK
    )
    assert new.settings == {}


def test_run_input_of_a_case_uses_its_secrets_only_for_its_author(world: World) -> None:
    olivia, adam, fn = world.users["olivia"], world.users["adam"], world.function
    services.test_settings_update(user=olivia, function=fn, settings={"apiKey": SECRET_API_KEY})
    services.test_settings_update(user=adam, function=fn, settings={"apiKey": OTHER_SECRET})
    case = services.test_case_create(
        function=fn, actor=olivia, name="A", payload=[TRACK], settings={"region": "eu"}
    )
    mine = selectors.test_run_input(
        user=olivia, function=fn, settings_schema=SCHEMA, settings={}, test_case_id=case.pk
    )
    assert mine.settings == {"apiKey": SECRET_API_KEY, "region": "eu"}
    assert mine.payload == [TRACK]
    theirs = selectors.test_run_input(
        user=adam, function=fn, settings_schema=SCHEMA, settings={}, test_case_id=case.pk
    )
    assert theirs.settings == {"apiKey": OTHER_SECRET, "region": "eu"}
    override = selectors.test_run_input(
        user=adam,
        function=fn,
        settings_schema=SCHEMA[1:],
        settings={"region": "us"},
        payload=TRACK,
        test_case_id=case.pk,
    )
    assert override.settings == {"region": "us"} and override.payload == TRACK
    with pytest.raises(Http404):
        selectors.test_run_input(
            user=olivia,
            function=world.other_function,
            settings_schema=SCHEMA,
            settings={},
            test_case_id=case.pk,
        )
    with pytest.raises(ValidationError):
        selectors.test_run_input(user=olivia, function=fn, settings_schema=SCHEMA, settings={})


def test_a_test_secret_stays_masked_after_the_schema_stops_encrypting_it(world: World) -> None:
    from catalog.services import function_update

    olivia, fn = world.users["olivia"], world.function
    services.test_settings_update(
        user=olivia, function=fn, settings={"apiKey": SECRET_API_KEY, "region": "eu"}
    )
    schema = [{**s, "encrypted": False} for s in fn.settings_schema]
    fn = function_update(function=fn, settings_schema=schema, actor=olivia)
    stored = services.test_settings_update(user=olivia, function=fn, settings={"region": "us"})
    assert SECRET_API_KEY not in str(stored.settings)
    assert selectors.test_settings_masked(user=olivia, function=fn)["apiKey"] == "••••WXYZ"
    assert SECRET_API_KEY not in str(list(AuditEvent.objects.values_list("changes", flat=True)))
    # A new value, entered while the schema says plain, is plain.
    stored = services.test_settings_update(user=olivia, function=fn, settings={"apiKey": "pk_1"})
    assert stored.settings == {"apiKey": "pk_1", "region": "us"}
    assert selectors.test_settings_secret_values(test_settings=stored) == {}
