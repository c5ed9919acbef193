"""Multi-row inserts of the ingest path (pipeline/bulk_insert.py), on the real database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pipeline.bulk_insert import ROWS_PER_STATEMENT, rows_insert
from pipeline.models import DeliveryJob, Event, SeenMessageId
from tests.conftest import World


def _seen(world: World, *ids: str) -> list[tuple[str, ...]]:
    return rows_insert(
        SeenMessageId,
        constant={"source_id": world.source.pk, "seen_at": timezone.now(), "accepted_by": "0" * 32},
        varying=("message_id",),
        rows=[(mid,) for mid in ids],
        ignore_conflicts=True,
        returning=("message_id",),
    )


def test_ignoring_conflicts_returns_only_the_rows_inserted(world: World) -> None:
    assert sorted(_seen(world, "a", "b")) == [("a",), ("b",)]
    assert _seen(world, "b", "c") == [("c",)]
    assert SeenMessageId.objects.count() == 3


def test_more_rows_than_one_statement_takes(world: World) -> None:
    ids = [f"m-{i}" for i in range(ROWS_PER_STATEMENT * 2 + 7)]
    assert len(_seen(world, *ids)) == len(ids)


def test_constant_and_default_columns_are_stored_as_the_orm_would(world: World) -> None:
    now = timezone.now()
    ((event_id,),) = rows_insert(
        Event,
        constant={"source_id": world.source.pk, "received_at": now},
        varying=("type", "message_id", "payload"),
        rows=[("track", "m-1", '{"event": "Signed Up", "n": [1, 2]}')],
        returning=("id",),
    )
    rows_insert(
        DeliveryJob,
        constant={"next_attempt_at": now, "created_at": now},
        varying=("instance_id", "event_id"),
        rows=[(world.instance.pk, event_id)],
    )
    job = DeliveryJob.objects.select_related("event").get()
    assert job.event.payload == {"event": "Signed Up", "n": [1, 2]}
    assert job.event.received_at == now and job.next_attempt_at == now
    assert (job.state, job.attempts, job.leased_by, job.lease_expires_at) == (
        "pending",
        0,
        "",
        None,
    )


def test_a_column_without_value_or_default_is_refused_before_any_insert(world: World) -> None:
    with pytest.raises(ValueError, match="received_at needs a value"):
        rows_insert(
            Event,
            constant={"source_id": world.source.pk},
            varying=("type", "message_id", "payload"),
            rows=[("track", "m-1", "{}")],
        )
    assert not Event.objects.exists()


def test_adding_on_conflict_adds_to_the_row_already_there(world: World) -> None:
    from pipeline.models import DeliveryMinute

    minute = timezone.now().replace(second=0, microsecond=0)

    def add(*rows: tuple[str, int, int]) -> None:
        rows_insert(
            DeliveryMinute,
            constant={"instance_id": world.instance.pk, "minute": minute, "state": "delivered"},
            varying=("category", "count", "duration_ms"),
            rows=rows,
            add_on_conflict=(
                ("instance_id", "minute", "state", "category"),
                ("count", "duration_ms"),
            ),
        )

    add(("success", 2, 10))
    add(("success", 3, 5), ("retry", 1, 1))

    rows = DeliveryMinute.objects.order_by("category").values_list(
        "category", "count", "duration_ms"
    )
    assert list(rows) == [("retry", 1, 1), ("success", 5, 15)]


def test_varying_nulls_and_json_arrive_as_given(world: World) -> None:
    now = timezone.now()
    rows = rows_insert(
        Event,
        constant={"source_id": world.source.pk, "received_at": now},
        varying=("type", "message_id", "payload"),
        rows=[
            ("track", "m-1", connection.ops.adapt_json_value({"q": 'a "quoted" \\ {x}'}, None)),
            ("page", "m-2", connection.ops.adapt_json_value([None, 1.5, "é"], None)),
        ],
        returning=("message_id", "id"),
    )
    event_ids = dict(rows)
    rows_insert(
        DeliveryJob,
        constant={"next_attempt_at": now, "created_at": now},
        varying=("instance_id", "event_id", "lease_expires_at"),
        rows=[
            (world.instance.pk, event_ids["m-1"], None),
            (world.instance.pk, event_ids["m-2"], now),
        ],
    )
    payloads = dict(Event.objects.values_list("message_id", "payload"))
    assert payloads == {"m-1": {"q": 'a "quoted" \\ {x}'}, "m-2": [None, 1.5, "é"]}
    leases = DeliveryJob.objects.order_by("event_id").values_list("lease_expires_at", flat=True)
    assert list(leases) == [None, now]


def test_a_constraint_broken_raises_django_s_own_error_and_stores_nothing(world: World) -> None:
    now = timezone.now()
    ((event_id,),) = rows_insert(
        Event,
        constant={"source_id": world.source.pk, "received_at": now, "payload": "{}"},
        varying=("type", "message_id"),
        rows=[("track", "m-1")],
        returning=("id",),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(
            DeliveryJob,
            constant={"next_attempt_at": now, "created_at": now, "event_id": event_id},
            varying=("instance_id",),
            rows=[(world.instance.pk,), (world.instance.pk,)],
        )
    assert not DeliveryJob.objects.exists()
