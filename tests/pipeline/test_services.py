"""The pipeline's writes: storing events once with their jobs, forgetting old messageIds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, transaction
from django.utils import timezone

from audit.models import AuditEvent
from catalog.services import instance_update
from pipeline import services
from pipeline.models import DeliveryJob, Event, InstanceFilters, SeenMessageId
from pipeline.selectors import instance_filters_get
from pipeline.services import DEDUP_WINDOW, events_store, seen_message_ids_prune
from pipeline.tracking import TrackingRefused, TrackingRequest, event_fill
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


DROP_DEBUG = [
    {"action": "drop", "conditions": [{"field": "event", "op": "equals", "value": "Debug"}]}
]


def _filter_audit(world: World) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="instance.filters_changed").order_by("id"))


def _request(write_key: str, *message_ids: str, at: Any = None) -> TrackingRequest:
    return TrackingRequest(
        write_key=write_key, events=_events(*message_ids), received_at=at or timezone.now()
    )


def test_requests_stored_together_each_get_their_outcome(
    world: World, django_assert_max_num_queries: Any
) -> None:
    """A group commit: one transaction and a few inserts per source for all its requests;
    a wrong write key is refused alone; a messageId repeated across the requests is stored
    once, with the request that came first."""
    key, foreign = world.source.write_key, world.foreign_source.write_key
    earlier = timezone.now() - timedelta(seconds=3)
    requests = [
        _request(key, "a", "b", at=earlier),
        _request("wrong", "c"),
        _request(foreign, "a"),
        _request(key, "b", "d"),
    ]
    with django_assert_max_num_queries(9):  # routes, then 3 inserts per source, + savepoint
        outcomes = services.tracking_requests_store(requests=requests)
    first, refused, other_source, last = outcomes
    assert isinstance(refused, TrackingRefused) and refused.status == 401
    assert (first.accepted, first.stored, first.jobs) == (2, 2, 2)
    assert (other_source.stored, other_source.jobs) == (1, 1)
    assert (last.accepted, last.stored, last.duplicates) == (2, 1, 1)
    ours = Event.objects.filter(source=world.source).order_by("message_id")
    assert [e.message_id for e in ours] == ["a", "b", "d"]
    # Each event keeps its own request's arrival, and so do its jobs.
    assert ours[0].received_at == earlier and ours[2].received_at > earlier
    job = DeliveryJob.objects.get(event=ours[0])
    assert job.created_at == job.next_attempt_at == earlier


def test_a_group_the_database_fails_is_stored_request_by_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = services._events_store

    def fails_on_poison(*, route: Any, parts: Any) -> Any:
        if any(e["messageId"] == "poison" for part in parts for e in part.events):
            raise OperationalError("value too long")
        return real(route=route, parts=parts)

    monkeypatch.setattr(services, "_events_store", fails_on_poison)
    key = world.source.write_key
    outcomes = services.tracking_requests_store(
        requests=[_request(key, "a"), _request(key, "poison"), _request(key, "b")]
    )
    assert isinstance(outcomes[1], DatabaseError)
    assert [o.stored for o in (outcomes[0], outcomes[2])] == [1, 1]
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["a", "b"]


def test_setting_filters_saves_them_cleaned_with_one_audit_row(world: World) -> None:
    olivia = world.users["olivia"]
    row = services.instance_filters_set(instance=world.instance, rules=DROP_DEBUG, actor=olivia)
    stored = [{**DROP_DEBUG[0], "match": "all"}]
    assert InstanceFilters.objects.get(instance=world.instance).rules == stored == row.rules
    assert row.updated_by == olivia and row.updated_at is not None
    [audit] = _filter_audit(world)
    assert audit.target_id == str(world.instance.pk) and audit.actor == olivia
    assert audit.changes == {"rules": {"from": [], "to": stored}}
    assert instance_filters_get(instance=world.instance).rules == stored


def test_setting_the_same_filters_again_writes_nothing(world: World) -> None:
    olivia = world.users["olivia"]
    services.instance_filters_set(instance=world.instance, rules=DROP_DEBUG, actor=olivia)
    # Spelt differently, cleaned the same: no change.
    services.instance_filters_set(
        instance=world.instance, rules=[{**DROP_DEBUG[0], "match": "all"}], actor=olivia
    )
    services.instance_filters_set(instance=world.instance, rules=[], actor=olivia)
    services.instance_filters_set(instance=world.instance, rules=[], actor=olivia)
    assert [a.changes["rules"]["to"] for a in _filter_audit(world)] == [
        [{**DROP_DEBUG[0], "match": "all"}],
        [],
    ]
    # No row, no rules: setting none writes nothing either.
    services.instance_filters_set(instance=world.foreign_instance, rules=[], actor=olivia)
    assert not InstanceFilters.objects.filter(instance=world.foreign_instance).exists()


def test_a_change_python_would_call_equal_is_a_change(world: World) -> None:
    """true and 1 are == in Python, not in JSON nor to the engine."""
    olivia = world.users["olivia"]
    rule = {"action": "only_send", "conditions": [{"field": "properties.x", "op": "equals"}]}
    for value in (True, 1):
        condition = {**rule["conditions"][0], "value": value}
        services.instance_filters_set(
            instance=world.instance, rules=[{**rule, "conditions": [condition]}], actor=olivia
        )
    assert len(_filter_audit(world)) == 2
    stored = InstanceFilters.objects.get(instance=world.instance).rules
    assert stored[0]["conditions"][0]["value"] == 1
    assert stored[0]["conditions"][0]["value"] is not True


def test_a_bad_rule_list_is_refused_naming_the_rule_and_nothing_is_saved(world: World) -> None:
    olivia = world.users["olivia"]
    services.instance_filters_set(instance=world.instance, rules=DROP_DEBUG, actor=olivia)
    bad = [*DROP_DEBUG, {"action": "drop", "conditions": [{"field": "event", "op": "like"}]}]
    with pytest.raises(ValidationError) as caught:
        services.instance_filters_set(instance=world.instance, rules=bad, actor=olivia)
    [message] = caught.value.message_dict["rules"]
    assert message.startswith('Rule #2, condition #1: op "like" is not one of equals')
    assert len(InstanceFilters.objects.get(instance=world.instance).rules) == 1
    assert len(_filter_audit(world)) == 1


def test_the_preview_uses_the_saved_rules_or_the_ones_given(world: World) -> None:
    olivia = world.users["olivia"]
    services.instance_filters_set(
        instance=world.instance,
        rules=[{"action": "drop_fields", "fields": ["properties.secret"]}, *DROP_DEBUG],
        actor=olivia,
    )
    event = {**track(), "event": "Debug", "properties": {"secret": "s", "plan": "pro"}}
    before = AuditEvent.objects.count()

    saved = services.instance_filters_preview(instance=world.instance, event=event)
    assert (saved.send, saved.rule) == (False, 2)
    assert saved.reason == 'rule #2 (drop: event equals "Debug")'
    assert saved.event["properties"] == {"plan": "pro"}
    assert event["properties"] == {"secret": "s", "plan": "pro"}  # the input is left alone

    given = services.instance_filters_preview(instance=world.instance, event=event, rules=[])
    assert (given.send, given.rule, given.reason, given.event) == (True, None, None, event)
    with pytest.raises(ValidationError) as caught:
        services.instance_filters_preview(instance=world.instance, event=event, rules={})
    assert caught.value.message_dict == {"rules": ["Must be a list of rules, not an object."]}
    assert AuditEvent.objects.count() == before


def test_deleting_an_instance_takes_its_filters(world: World) -> None:
    from catalog.services import instance_delete

    olivia = world.users["olivia"]
    services.instance_filters_set(instance=world.instance, rules=DROP_DEBUG, actor=olivia)
    instance_delete(instance=world.instance, actor=olivia)
    assert not InstanceFilters.objects.exists()
