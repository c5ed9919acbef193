"""The pipeline's writes: storing events once with their jobs, forgetting old messageIds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.services import instance_update
from pipeline import services
from pipeline.models import DeliveryJob, Event, SeenMessageId
from pipeline.services import DEDUP_WINDOW, events_store, seen_message_ids_prune
from pipeline.tracking import event_fill
from tests.conftest import World
from tests.pipeline.conftest import track


def _events(*message_ids: str) -> list[dict[str, Any]]:
    return [{**track(), "type": "track", "messageId": mid} for mid in message_ids]


def test_events_are_stored_once_with_a_job_per_enabled_instance(world: World) -> None:
    now = timezone.now()
    result = events_store(source=world.source, events=_events("a", "b", "a"), received_at=now)
    assert (result.accepted, result.stored, result.duplicates, result.jobs) == (3, 2, 1, 2)
    again = events_store(source=world.source, events=_events("b", "c"), received_at=now)
    assert (again.stored, again.duplicates, again.jobs) == (1, 1, 1)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["a", "b", "c"]
    assert DeliveryJob.objects.count() == 3
    assert SeenMessageId.objects.filter(source=world.source).count() == 3


def test_a_disabled_instance_gets_no_jobs(world: World) -> None:
    instance_update(instance=world.instance, enabled=False, actor=world.users["olivia"])
    result = events_store(source=world.source, events=_events("a"), received_at=timezone.now())
    assert (result.stored, result.jobs) == (1, 0)


def test_storing_must_be_the_outermost_transaction(world: World) -> None:
    """Returning means committed (the 200's promise): inside someone else's transaction
    the events would only be committed when that one is, if ever."""
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        events_store(source=world.source, events=_events("a"), received_at=timezone.now())


def test_a_message_id_another_request_recorded_first_is_not_stored(world: World) -> None:
    """Of two requests racing with one messageId, the one whose row is there first wins:
    the other sees its insert skipped and stores nothing, with no read-then-write gap."""
    import uuid

    SeenMessageId.objects.create(
        source=world.source, message_id="m-1", seen_at=timezone.now(), accepted_by=uuid.uuid4()
    )
    result = events_store(
        source=world.source, events=_events("m-1", "m-2"), received_at=timezone.now()
    )
    assert (result.stored, result.jobs) == (1, 1)
    assert list(Event.objects.values_list("message_id", flat=True)) == ["m-2"]


def test_message_ids_are_forgotten_after_the_window(world: World) -> None:
    now = timezone.now()
    events_store(source=world.source, events=_events("old"), received_at=now - DEDUP_WINDOW)
    events_store(source=world.source, events=_events("new"), received_at=now)
    assert seen_message_ids_prune(before=now - DEDUP_WINDOW + timedelta(seconds=1)) == 1
    assert list(SeenMessageId.objects.values_list("message_id", flat=True)) == ["new"]
    # Once forgotten, the id is new again; the one still remembered is not.
    result = events_store(source=world.source, events=_events("old", "new"), received_at=now)
    assert (result.stored, result.duplicates) == (1, 1)


def test_pruning_is_bounded(world: World) -> None:
    past = timezone.now() - 2 * DEDUP_WINDOW
    events_store(source=world.source, events=_events("a", "b", "c"), received_at=past)
    assert seen_message_ids_prune(before=timezone.now(), limit=2) == 2
    assert seen_message_ids_prune(before=timezone.now(), limit=2) == 1
    assert seen_message_ids_prune(before=timezone.now(), limit=2) == 0


@pytest.mark.django_db(transaction=True)
def test_ingest_prunes_now_and_then(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    past = timezone.now() - 2 * DEDUP_WINDOW
    events_store(source=world.source, events=_events("stale"), received_at=past)
    monkeypatch.setattr(services, "_prune_due_at", 0.0)
    events_store(source=world.source, events=_events("fresh"), received_at=timezone.now())
    assert list(SeenMessageId.objects.values_list("message_id", flat=True)) == ["fresh"]
    # Not again before PRUNE_EVERY_S has passed.
    events_store(source=world.source, events=_events("stale2"), received_at=past)
    events_store(source=world.source, events=_events("fresh2"), received_at=timezone.now())
    assert SeenMessageId.objects.filter(message_id="stale2").exists()


def test_events_store_keeps_what_event_fill_made(world: World) -> None:
    from pipeline.tracking import Arrival

    now = timezone.now()
    event = event_fill(track(messageId="m-9"), kind=None, arrival=Arrival(now), depth=0)
    events_store(source=world.source, events=[event], received_at=now)
    stored = Event.objects.get()
    assert stored.payload == event and stored.type == "track" and stored.received_at == now


def test_deleting_a_source_or_an_instance_takes_its_events_and_jobs(world: World) -> None:
    from catalog.services import instance_delete, source_delete

    olivia = world.users["olivia"]
    events_store(source=world.source, events=_events("a", "b"), received_at=timezone.now())
    events_store(source=world.foreign_source, events=_events("a"), received_at=timezone.now())
    instance_delete(instance=world.instance, actor=olivia)
    assert DeliveryJob.objects.filter(event__source=world.source).count() == 0
    assert Event.objects.filter(source=world.source).count() == 2
    source_delete(source=world.source, actor=olivia, may_change_instances=lambda _: True)
    assert not Event.objects.filter(source_id=world.source.pk).exists()
    assert not SeenMessageId.objects.filter(source_id=world.source.pk).exists()
    assert Event.objects.filter(source=world.foreign_source).count() == 1
    assert DeliveryJob.objects.count() == 1


def test_an_ingest_route_has_the_sources_enabled_instances_only(world: World) -> None:
    from catalog.services import instance_create, instance_update
    from pipeline.selectors import ingest_route_for_write_key

    second = instance_create(
        function=world.other_function,
        source=world.source,
        name="Mailer (prod)",
        settings={},
        actor=world.users["olivia"],
    )
    route = ingest_route_for_write_key(write_key=world.source.write_key)
    assert route is not None and route.source_id == world.source.pk
    assert route.instance_ids == (world.instance.pk, second.pk)
    instance_update(instance=world.instance, enabled=False, actor=world.users["olivia"])
    route = ingest_route_for_write_key(write_key=world.source.write_key)
    assert route is not None and route.instance_ids == (second.pk,)


def test_an_ingest_route_needs_a_known_write_key(world: World) -> None:
    from pipeline.selectors import ingest_route_for_write_key

    assert ingest_route_for_write_key(write_key="") is None
    assert ingest_route_for_write_key(write_key=world.source.write_key + "x") is None
    lonely = ingest_route_for_write_key(write_key=world.foreign_source.write_key)
    assert lonely is not None and lonely.instance_ids == (world.foreign_instance.pk,)
