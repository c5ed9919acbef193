"""``__any_of`` (pipeline/lookups.py): the rows ``__in`` finds, on the real database."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline.models import Event
from tests.conftest import World


def _events(world: World, count: int) -> list[int]:
    now = timezone.now()
    Event.objects.bulk_create(
        Event(source=world.source, type="track", message_id=f"m-{i}", received_at=now, payload={})
        for i in range(count)
    )
    return list(Event.objects.order_by("pk").values_list("pk", flat=True))


def test_any_of_finds_what_in_finds(world: World) -> None:
    ids = _events(world, 5)
    asked = [ids[3], ids[0], ids[3], None, 10**12]  # repeated, NULL, missing
    found = set(Event.objects.filter(pk__any_of=asked).values_list("pk", flat=True))
    assert found == set(Event.objects.filter(pk__in=asked).values_list("pk", flat=True))
    assert found == {ids[0], ids[3]}


def test_any_of_updates_and_locks_the_rows_it_names(world: World) -> None:
    ids = _events(world, 4)
    with transaction.atomic():
        locked = list(Event.objects.select_for_update().filter(pk__any_of=ids[:2]))
        assert Event.objects.filter(pk__any_of=ids[1:3]).update(type="page") == 2
    assert [e.pk for e in locked] == ids[:2]
    types = dict(Event.objects.values_list("pk", "type"))
    assert types == {ids[0]: "track", ids[1]: "page", ids[2]: "page", ids[3]: "track"}


def test_any_of_nothing_finds_nothing_without_asking_the_database(world: World) -> None:
    _events(world, 2)
    with CaptureQueriesContext(connection) as queries:
        assert list(Event.objects.filter(pk__any_of=[])) == []
        assert list(Event.objects.filter(pk__any_of=[None])) == []
    assert len(queries) == 0


def test_any_of_is_one_array_on_postgresql_and_in_elsewhere(world: World) -> None:
    ids = _events(world, 3)
    with CaptureQueriesContext(connection) as queries:
        list(Event.objects.filter(pk__any_of=ids))
    (query,) = queries.captured_queries
    expected = "= ANY(" if connection.vendor == "postgresql" else " IN ("
    assert expected in query["sql"]


def test_any_of_takes_integer_ids_only(world: World) -> None:
    ids = _events(world, 2)
    assert Event.objects.filter(pk__any_of=[str(ids[0])]).count() == 1  # as Django's ids
    with pytest.raises(TypeError, match="integer ids"):
        list(Event.objects.filter(message_id__any_of=["m-0"]))


def test_any_of_gives_the_subquery_to_in(world: World) -> None:
    ids = _events(world, 3)
    tracked = Event.objects.filter(pk__in=ids[:2]).values("pk")
    assert sorted(Event.objects.filter(pk__any_of=tracked).values_list("pk", flat=True)) == ids[:2]
