"""The destination filter rule engine: every operator (true, false, missing fields, type
mismatches), all/any, rule order, drop_fields, every validation message, and hostile input
that must never raise anything but ValidationError (filters_clean) or anything at all
(filters_apply)."""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from catalog.sample_events import sample_batch, sample_event
from pipeline.filters import (
    MAX_CONDITIONS,
    MAX_DROP_FIELDS,
    MAX_IN_VALUES,
    MAX_PATH_CHARS,
    MAX_PATH_SEGMENTS,
    MAX_RULES,
    MAX_SAFE_INTEGER,
    MAX_TOTAL_CHARS,
    MAX_VALUE_CHARS,
    OPERATORS,
    FilterDecision,
    filters_apply,
    filters_clean,
)

EVENT = {
    "type": "track",
    "event": "Order Completed",
    "userId": "u1",
    "timestamp": "2024-06-03T09:20:00.000Z",
    "properties": {
        "plan": "pro",
        "total": 27.5,
        "count": 1,
        "paid": True,
        "free": False,
        "coupon": None,
        "empty": "",
        "amount_text": "30",
        "tags": ["sale", "spring", 1, True, None],
        "numbers": [1.0, 2],
        "flags": [True],
        "address": {"city": "Lyon"},
        "products": [{"sku": "A"}],
        "signup": "2024-01-15",
        "huge": 10**400,
    },
    "context": {"library": {"name": "analytics.js"}, "ip": "203.0.113.42"},
}


def only_send(*conditions: dict[str, Any], match: str = "all") -> list[dict[str, Any]]:
    return filters_clean([{"action": "only_send", "match": match, "conditions": list(conditions)}])


def holds(field: str, op: str, value: Any = None, *, event: Any = EVENT) -> bool:
    condition = {"field": field, "op": op}
    if op not in ("exists", "not_exists"):
        condition["value"] = value
    return filters_apply(only_send(condition), event).send


def problem(rules: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        filters_clean(rules)
    assert list(caught.value.message_dict) == ["filters"]
    [message] = caught.value.message_dict["filters"]
    return message


# -- operators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("event", "Order Completed", True),
        ("event", "order completed", False),  # case-sensitive
        ("type", "track", True),
        ("properties.plan", "pro", True),
        ("context.library.name", "analytics.js", True),
        ("properties.count", 1.0, True),  # 1 == 1.0
        ("properties.total", 27.5, True),
        ("properties.amount_text", 30, False),  # "30" is not 30
        ("properties.count", "1", False),
        ("properties.count", True, False),  # 1 is not true
        ("properties.paid", 1, False),  # true is not 1
        ("properties.paid", True, True),
        ("properties.free", 0, False),
        ("properties.free", False, True),
        ("properties.coupon", None, True),  # a present null equals null
        ("properties.missing", None, False),  # a missing field equals nothing
        ("properties.missing", "pro", False),
        ("name", "Home", False),  # not in a track event
        ("properties.address", "Lyon", False),  # an object equals no scalar
        ("properties.tags", "sale", False),  # nor does a list
        ("properties.plan.tier", "pro", False),  # through a text
        ("properties.products.sku", "A", False),  # through a list
        ("properties.huge", 1.0, False),
    ],
)
def test_equals_compares_json_values(field: str, value: Any, expected: bool) -> None:
    assert holds(field, "equals", value) is expected
    assert holds(field, "not_equals", value) is not expected


def test_not_equals_is_true_for_a_missing_field() -> None:
    assert holds("properties.missing", "not_equals", "pro") is True
    assert holds("properties.missing", "not_equals", None) is True
    assert holds("event", "not_equals", "x", event={"type": "identify"}) is True


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("event", "Completed", True),  # substring
        ("event", "completed", False),  # case-sensitive
        ("event", "Order Completed!", False),
        ("context.library.name", ".js", True),
        ("properties.tags", "sale", True),  # list membership
        ("properties.tags", "sal", False),  # members, not substrings of members
        ("properties.tags", 1, True),
        ("properties.tags", 1.0, True),
        ("properties.tags", None, True),
        ("properties.tags", True, True),
        ("properties.numbers", 1, True),
        ("properties.numbers", 2.0, True),
        ("properties.numbers", True, False),  # true is not 1
        ("properties.flags", 1, False),  # 1 is not true
        ("properties.flags", "True", False),
        ("properties.count", 1, False),  # a number contains nothing
        ("properties.amount_text", 30, False),  # a number is not a substring
        ("properties.address", "city", False),  # an object contains nothing
        ("properties.missing", "x", False),
        ("properties.coupon", "x", False),
    ],
)
def test_contains_finds_substrings_and_list_members(field: str, value: Any, expected: bool) -> None:
    assert holds(field, "contains", value) is expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("event", True),
        ("properties.empty", True),  # an empty text is present
        ("properties.free", True),
        ("properties.address", True),
        ("properties.address.city", True),
        ("properties", True),
        ("traits", False),
        ("properties.coupon", False),  # null counts as absent
        ("properties.missing", False),
        ("properties.plan.tier", False),
        ("properties.products.0", False),  # lists are not walked into
        ("context.library.name.first", False),
    ],
)
def test_exists_means_present_and_not_null(field: str, expected: bool) -> None:
    assert holds(field, "exists") is expected
    assert holds(field, "not_exists") is not expected


@pytest.mark.parametrize(
    ("field", "values", "expected"),
    [
        ("properties.plan", ["free", "pro"], True),
        ("properties.plan", ["free", "team"], False),
        ("properties.plan", ["Pro"], False),
        ("properties.count", [2, 1.0], True),
        ("properties.total", [27.5], True),
        ("properties.count", [True], False),
        ("properties.paid", [1], False),
        ("properties.paid", [False, True], True),
        ("properties.amount_text", [30], False),
        ("properties.coupon", [None, "x"], True),
        ("properties.missing", [None, "x"], False),  # missing is not null
        ("properties.tags", ["sale"], False),  # a list is not in a list
        ("properties.address", ["Lyon"], False),
        ("properties.huge", [1.0, 2], False),
    ],
)
def test_in_is_equality_with_one_of_the_values(field: str, values: list, expected: bool) -> None:
    assert holds(field, "in", values) is expected


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("properties.total", "gt", 10, True),
        ("properties.total", "gt", 27.5, False),
        ("properties.total", "gte", 27.5, True),
        ("properties.total", "lt", 27.5, False),
        ("properties.total", "lte", 27.5, True),
        ("properties.total", "lt", 100, True),
        ("properties.count", "gt", 0.5, True),
        ("properties.huge", "gt", 1e300, True),  # big integers compare exactly, no overflow
        ("properties.amount_text", "gt", 10, False),  # "30" is text, not a number
        ("properties.paid", "gt", 0, False),  # true is not a number
        ("properties.free", "lt", 1, False),
        ("properties.tags", "gt", 0, False),
        ("properties.address", "gt", 0, False),
        ("properties.missing", "gt", 0, False),
        ("properties.missing", "lt", 0, False),
        ("properties.coupon", "lt", 0, False),
        ("timestamp", "gt", 0, False),  # a date is not a number
        ("properties.total", "gt", "2024-01-01", False),  # nor a number a date
    ],
)
def test_comparisons_are_between_numbers(field: str, op: str, value: Any, expected: bool) -> None:
    assert holds(field, op, value) is expected


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("timestamp", "gt", "2024-01-01", True),
        ("timestamp", "gt", "2024-06-03", True),  # a date is its midnight, UTC
        ("timestamp", "lt", "2024-06-04", True),
        ("timestamp", "lt", "2024-06-03T09:20:00Z", False),
        ("timestamp", "lte", "2024-06-03T09:20:00Z", True),
        ("timestamp", "gte", "2024-06-03T11:20:00+02:00", True),  # the same instant
        ("timestamp", "lte", "2024-06-03T11:20:00+02:00", True),
        ("timestamp", "gt", "2024-06-03T11:20:00+02:00", False),
        ("timestamp", "gte", "2024-06-03T09:20:00", True),  # no offset: UTC
        ("timestamp", "gt", "2024-06-03T09:20:00.001", False),
        ("properties.signup", "lt", "2024-01-15T00:00:01Z", True),
        ("properties.signup", "gte", "2024-01-15", True),
        ("properties.plan", "gt", "2024-01-01", False),  # text that is not a date
        ("properties.count", "gt", "2024-01-01", False),
        ("properties.missing", "lt", "2999-01-01", False),
    ],
)
def test_comparisons_read_iso_dates(field: str, op: str, value: str, expected: bool) -> None:
    assert holds(field, op, value) is expected


def test_dates_at_the_edges_of_the_calendar_compare_without_raising() -> None:
    for moment in ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "0001-01-01"):
        event = {"type": "track", "timestamp": moment}
        for op in ("gt", "gte", "lt", "lte"):
            for bound in ("0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59+23:59"):
                assert isinstance(holds("timestamp", op, bound, event=event), bool)
    assert holds("timestamp", "lt", "0001-01-02", event={"timestamp": "0001-01-01"}) is True


def test_a_long_text_is_never_read_as_a_date() -> None:
    event = {"timestamp": "2024-06-03T09:20:00." + "0" * 100}  # Python would read it
    assert holds("timestamp", "gt", "2000-01-01", event=event) is False
    assert holds("timestamp", "lt", "2999-01-01", event=event) is False


def test_non_finite_numbers_in_an_event_compare_false() -> None:
    event = {"properties": {"nan": math.nan, "inf": math.inf}}
    assert holds("properties.nan", "gt", 0, event=event) is False
    assert holds("properties.nan", "lte", 0, event=event) is False
    assert holds("properties.nan", "equals", 0, event=event) is False
    assert holds("properties.inf", "gt", MAX_SAFE_INTEGER, event=event) is True


# -- all / any, order, reasons ---------------------------------------------------------------

PRO = {"field": "properties.plan", "op": "equals", "value": "pro"}
FREE = {"field": "properties.plan", "op": "equals", "value": "free"}
TRACK = {"field": "type", "op": "equals", "value": "track"}


def test_all_needs_every_condition_and_is_the_default() -> None:
    assert filters_apply(only_send(PRO, TRACK), EVENT).send is True
    assert filters_apply(only_send(PRO, FREE), EVENT).send is False
    cleaned = filters_clean([{"action": "drop", "conditions": [PRO, FREE]}])
    assert cleaned[0]["match"] == "all"
    assert filters_apply(cleaned, EVENT).send is True  # not both: not dropped


def test_any_needs_one_condition() -> None:
    assert filters_apply(only_send(FREE, PRO, match="any"), EVENT).send is True
    assert filters_apply(only_send(FREE, FREE, match="any"), EVENT).send is False
    rules = filters_clean([{"action": "drop", "match": "any", "conditions": [FREE, TRACK]}])
    assert filters_apply(rules, EVENT).send is False


def test_a_drop_rule_drops_matching_events_and_an_only_send_rule_the_others() -> None:
    drop_pro = filters_clean([{"action": "drop", "conditions": [PRO]}])
    drop_free = filters_clean([{"action": "drop", "conditions": [FREE]}])
    assert filters_apply(drop_pro, EVENT).send is False
    assert filters_apply(drop_free, EVENT).send is True
    assert filters_apply(only_send(PRO), EVENT).send is True
    assert filters_apply(only_send(FREE), EVENT).send is False


def test_no_rules_send_the_event_itself() -> None:
    decision = filters_apply([], EVENT)
    assert decision == FilterDecision(send=True, event=EVENT, reason=None)
    assert decision.event is EVENT


def test_the_first_dropping_rule_wins_and_is_named() -> None:
    rules = filters_clean(
        [
            {"action": "drop", "conditions": [FREE]},
            {"action": "only_send", "conditions": [TRACK]},
            {
                "action": "drop",
                "conditions": [{"field": "event", "op": "contains", "value": "Order"}],
            },
            {"action": "drop", "conditions": [PRO]},
        ]
    )
    decision = filters_apply(rules, EVENT)
    assert decision.send is False
    assert decision.reason == 'rule #3 (drop: event contains "Order")'
    assert filters_apply(rules[3:], EVENT).reason == 'rule #1 (drop: properties.plan equals "pro")'


def test_the_reason_of_an_only_send_rule_says_it_did_not_match() -> None:
    rules = only_send(
        {"field": "properties.plan", "op": "in", "value": ["free", "team", "starter", "trial"]},
        {"field": "traits.email", "op": "exists"},
        match="any",
    )
    assert filters_apply(rules, EVENT).reason == (
        'rule #1 (only send: properties.plan is in ["free", "team", "starter", …]'
        " or traits.email exists; not matched)"
    )


def test_a_reason_stays_short() -> None:
    long_text = "x" * MAX_VALUE_CHARS
    conditions = [{"field": "event", "op": "equals", "value": long_text}] * MAX_CONDITIONS
    decision = filters_apply(only_send(*conditions), EVENT)
    assert decision.reason is not None
    assert decision.reason.startswith('rule #1 (only send: event equals "xxx')
    assert len(decision.reason) < 400


def test_each_rule_sees_the_event_as_the_rules_before_it_left_it() -> None:
    rules = filters_clean(
        [
            {"action": "drop_fields", "fields": ["properties.plan"]},
            {"action": "only_send", "conditions": [{"field": "properties.plan", "op": "exists"}]},
        ]
    )
    decision = filters_apply(rules, EVENT)
    assert decision.send is False
    assert "plan" not in decision.event["properties"]
    assert decision.reason == "rule #2 (only send: properties.plan exists; not matched)"


def test_a_dropped_event_is_not_changed_by_the_rules_after_the_drop() -> None:
    rules = filters_clean(
        [
            {"action": "drop", "conditions": [TRACK]},
            {"action": "drop_fields", "fields": ["properties.plan"]},
        ]
    )
    decision = filters_apply(rules, EVENT)
    assert decision.send is False
    assert decision.event is EVENT


def test_a_batch_is_filtered_event_by_event() -> None:
    rules = filters_clean(
        [
            {
                "action": "only_send",
                "conditions": [{"field": "type", "op": "in", "value": ["track", "identify"]}],
            },
            {"action": "drop_fields", "fields": ["traits.email", "context.ip"]},
        ]
    )
    batch = sample_batch(("track", "identify", "page", "track"))
    decisions = [filters_apply(rules, event) for event in batch]
    assert [d.send for d in decisions] == [True, True, False, True]
    assert (
        decisions[2].reason == 'rule #1 (only send: type is in ["track", "identify"]; not matched)'
    )
    assert "email" not in decisions[1].event["traits"]
    assert all("ip" not in d.event["context"] for d in decisions if d.send)
    assert batch[1]["traits"]["email"] == sample_event("identify")["traits"]["email"]


# -- drop_fields -----------------------------------------------------------------------------


def drop(*fields: str) -> list[dict[str, Any]]:
    return filters_clean([{"action": "drop_fields", "fields": list(fields)}])


def test_drop_fields_removes_nested_paths_and_leaves_the_input_alone() -> None:
    event = sample_event("identify")
    before = copy.deepcopy(event)
    decision = filters_apply(
        drop("traits.email", "traits.address.city", "context.ip", "context.library.name"), event
    )
    assert decision.send is True
    assert event == before
    expected = copy.deepcopy(before)
    del expected["traits"]["email"], expected["traits"]["address"]["city"]
    del expected["context"]["ip"], expected["context"]["library"]["name"]
    assert decision.event == expected


def test_drop_fields_copies_only_the_way_to_a_dropped_field() -> None:
    event = copy.deepcopy(EVENT)
    result = filters_apply(drop("properties.address.city", "properties.plan"), event).event
    assert result is not event
    assert result["properties"] is not event["properties"]
    assert result["properties"]["address"] == {}
    assert event["properties"]["address"] == {"city": "Lyon"}
    # Untouched branches are shared, not copied.
    assert result["context"] is event["context"]
    assert result["properties"]["products"] is event["properties"]["products"]


@pytest.mark.parametrize(
    "path",
    [
        "properties.missing",
        "traits.email",  # no traits in a track event
        "properties.plan.tier",  # through a text
        "properties.products.sku",  # through a list
        "properties.address.street",
        "context.library.name.first",
    ],
)
def test_drop_fields_skips_paths_the_event_does_not_have(path: str) -> None:
    decision = filters_apply(drop(path), EVENT)
    assert decision.send is True
    assert decision.event is EVENT


def test_drop_fields_removes_a_null_field_and_a_whole_object() -> None:
    result = filters_apply(drop("properties.coupon", "context.library"), EVENT).event
    assert "coupon" not in result["properties"]
    assert "library" not in result["context"]
    assert EVENT["context"]["library"] == {"name": "analytics.js"}


def test_drop_fields_in_two_rules_and_of_a_parent_after_its_child() -> None:
    event = copy.deepcopy(EVENT)
    before = copy.deepcopy(event)
    rules = filters_clean(
        [
            {"action": "drop_fields", "fields": ["properties.address.city"]},
            {"action": "drop_fields", "fields": ["properties.address", "properties.total"]},
        ]
    )
    result = filters_apply(rules, event).event
    assert "address" not in result["properties"]
    assert "total" not in result["properties"]
    assert event == before


@pytest.mark.parametrize("event", [None, 1, "text", [], [{"properties": {"plan": "pro"}}], True])
def test_an_event_that_is_not_an_object_has_no_fields(event: Any) -> None:
    assert filters_apply(drop("properties.plan"), event).event is event
    assert filters_apply(only_send(PRO), event).send is False
    assert filters_apply(only_send({"field": "type", "op": "not_exists"}), event).send is True


# -- filters_clean: normal form --------------------------------------------------------------


def test_clean_rules_are_the_stored_form() -> None:
    raw = [
        {"action": "drop", "conditions": [{"field": "event", "op": "exists", "value": None}]},
        {"action": "only_send", "match": "any", "conditions": [PRO, FREE]},
        {"action": "drop_fields", "fields": ["context.ip", "properties.a", "context.ip"]},
        {
            "action": "drop",
            "conditions": [{"field": "timestamp", "op": "lt", "value": "2024-01-01"}],
        },
    ]
    before = copy.deepcopy(raw)
    cleaned = filters_clean(raw)
    assert raw == before
    assert cleaned == [
        {"action": "drop", "match": "all", "conditions": [{"field": "event", "op": "exists"}]},
        {"action": "only_send", "match": "any", "conditions": [PRO, FREE]},
        {"action": "drop_fields", "fields": ["context.ip", "properties.a"]},
        {
            "action": "drop",
            "match": "all",
            "conditions": [{"field": "timestamp", "op": "lt", "value": "2024-01-01"}],
        },
    ]
    assert json.loads(json.dumps(cleaned)) == cleaned
    assert filters_clean(cleaned) == cleaned
    assert filters_clean([]) == []


def test_every_operator_and_field_kind_is_accepted() -> None:
    values = {"in": ["a", 1, 2.5, True, None], "gt": 1, "gte": 1.5, "lt": "2024-06-01T12:00:00Z"}
    values |= {"lte": "2024-06-01", "equals": None, "not_equals": False, "contains": "a"}
    for op in OPERATORS:
        for field in ("type", "receivedAt", "properties", "traits.email", "context.a.b.c"):
            condition = {"field": field, "op": op}
            if op in values:
                condition["value"] = values[op]
            assert filters_clean([{"action": "drop", "conditions": [condition]}])


def test_the_limits_themselves_are_accepted() -> None:
    path = ".".join(["properties", *["k"] * (MAX_PATH_SEGMENTS - 1)])
    long_path = "properties." + "p" * (MAX_PATH_CHARS - len("properties."))
    condition = {"field": path, "op": "in", "value": ["v" * MAX_VALUE_CHARS]}
    rules = [{"action": "drop", "conditions": [condition] * MAX_CONDITIONS}] * 3
    rules += [{"action": "drop_fields", "fields": [long_path]}] * (MAX_RULES - 3)
    assert len(filters_clean(rules)) == MAX_RULES
    big_in = {"field": "userId", "op": "in", "value": list(range(MAX_IN_VALUES))}
    assert filters_clean([{"action": "drop", "conditions": [big_in]}])
    assert filters_clean([{"action": "drop", "conditions": [{**PRO, "value": MAX_SAFE_INTEGER}]}])


# -- filters_clean: every message ------------------------------------------------------------


def rule(*conditions: Any, **extra: Any) -> list[Any]:
    return [{"action": "drop", "conditions": list(conditions), **extra}]


def cond(field: Any = "event", op: Any = "equals", **extra: Any) -> dict[str, Any]:
    return {"field": field, "op": op, **extra}


UNKNOWN_ROOT = (
    "must be one of type, event, name, category, userId, anonymousId, groupId, previousId, "
    "messageId, channel, timestamp, originalTimestamp, sentAt, receivedAt, or a path inside "
    "properties, traits, context (e.g. properties.plan)."
)
NOT_INSIDE = "must be a path inside properties, traits, context (e.g. properties.password)."
SCALAR = "must be a text, a number, true, false or null"
C1 = "Rule #1, condition #1:"
EXAMPLE = "(e.g. 2024-06-01T12:00:00Z)"

MESSAGES = [
    ({"action": "drop"}, "Must be a list of rules, not an object."),
    (None, "Must be a list of rules, not null."),
    ("[]", 'Must be a list of rules, not "[]".'),
    ([{"action": "drop_fields", "fields": ["context.ip"]}] * 51, "At most 50 rules."),
    ([[]], "Rule #1: must be an object, not a list."),
    ([{"action": "send"}], 'Rule #1: action "send" is not one of only_send, drop, drop_fields.'),
    ([{}], "Rule #1: action null is not one of only_send, drop, drop_fields."),
    (
        [{"action": "drop_fields", "fields": ["context.ip"]}, {"action": ["drop"]}],
        "Rule #2: action a list is not one of only_send, drop, drop_fields.",
    ),
    (
        rule(cond(value="x"), name="Debug"),
        'Rule #1: unknown key(s) "name"; expected action, conditions, match.',
    ),
    (
        [{"action": "drop_fields", "fields": ["context.ip"], "conditions": []}],
        'Rule #1: unknown key(s) "conditions"; expected action, fields.',
    ),
    (
        rule(cond(value="x"), **{f"k{i}": 1 for i in range(7)}),
        'Rule #1: unknown key(s) "k0", "k1", "k2", "k3", "k4" and 2 more; '
        "expected action, conditions, match.",
    ),
    (rule(cond(value="x"), match="every"), 'Rule #1: match must be all or any, not "every".'),
    ([{"action": "drop"}], "Rule #1: conditions must be a non-empty list."),
    (rule(), "Rule #1: conditions must be a non-empty list."),
    (
        [{"action": "drop", "conditions": {"field": "event"}}],
        "Rule #1: conditions must be a non-empty list.",
    ),
    (rule(*[cond(value="x")] * 51), "Rule #1: at most 50 conditions."),
    (rule(cond(value="x"), "event"), 'Rule #1, condition #2: must be an object, not "event".'),
    (rule(cond(value="x", values=[])), f'{C1} unknown key(s) "values"; expected field, op, value.'),
    (rule(cond(field=None, value="x")), f"{C1} field must be a text path, not null."),
    (rule(cond(field=["event"], value="x")), f"{C1} field must be a text path, not a list."),
    (rule(cond(field="", value="x")), f"{C1} field is required."),
    (
        rule(cond(field="properties." + "p" * 190, value="x")),
        f"{C1} field has at most {MAX_PATH_CHARS} characters.",
    ),
    (
        rule(cond(field="properties.a.b.c.d.e.f.g.h.i.j", value="x")),
        f'{C1} field "properties.a.b.c.d.e.f.g.h.i.j" has more than 10 parts.',
    ),
    (
        rule(cond(field="properties..plan", value="x")),
        f'{C1} field "properties..plan" has an empty part.',
    ),
    (rule(cond(field="properties.", value="x")), f'{C1} field "properties." has an empty part.'),
    (rule(cond(field=".event", value="x")), f'{C1} field ".event" has an empty part.'),
    (rule(cond(field="plan", value="x")), f'{C1} field "plan" {UNKNOWN_ROOT}'),
    (
        rule(cond(field="Properties.plan", value="x")),
        f'{C1} field "Properties.plan" {UNKNOWN_ROOT}',
    ),
    (rule(cond(field=" event", value="x")), f'{C1} field " event" {UNKNOWN_ROOT}'),
    (
        rule(cond(field="integrations.All", value="x")),
        f'{C1} field "integrations.All" {UNKNOWN_ROOT}',
    ),
    (
        rule(cond(field="type.name", value="x")),
        f'{C1} field "type.name": type has no fields inside it.',
    ),
    (
        rule(cond(field="properties.\x00", value="x")),
        f"{C1} field cannot contain NUL characters or lone surrogates.",
    ),
    (
        rule(cond(field="traits.\ud800", value="x")),
        f"{C1} field cannot contain NUL characters or lone surrogates.",
    ),
    (
        rule(cond(op="matches", value="x")),
        f'{C1} op "matches" is not one of equals, not_equals, contains, exists, not_exists, in, '
        "gt, gte, lt, lte.",
    ),
    (
        rule(cond(op=None)),
        f"{C1} op null is not one of equals, not_equals, contains, exists, "
        "not_exists, in, gt, gte, lt, lte.",
    ),
    (
        rule(cond(op={"$eq": 1})),
        f"{C1} op an object is not one of equals, not_equals, contains, "
        "exists, not_exists, in, gt, gte, lt, lte.",
    ),
    (rule(cond(op="exists", value=True)), f"{C1} exists takes no value."),
    (rule(cond(op="not_exists", value="")), f"{C1} not_exists takes no value."),
    (rule(cond()), f"{C1} equals needs a value."),
    (rule(cond(op="in")), f"{C1} in needs a value."),
    (rule(cond(op="gt")), f"{C1} gt needs a value."),
    (
        rule(cond(value=["a", "b"])),
        f"{C1} equals compares with one value; use in for a list of values.",
    ),
    (
        rule(cond(op="not_equals", value=[])),
        f"{C1} not_equals compares with one value; use in for a list of values.",
    ),
    (rule(cond(value={"a": 1})), f"{C1} value {SCALAR}, not an object."),
    (rule(cond(op="contains", value=["a"])), f"{C1} value {SCALAR}, not a list."),
    (rule(cond(value=b"x")), f"{C1} value {SCALAR}, not a bytes value."),
    (rule(cond(value=math.nan)), f"{C1} value must be a finite number."),
    (rule(cond(value=-math.inf)), f"{C1} value must be a finite number."),
    (
        rule(cond(value=MAX_SAFE_INTEGER + 1)),
        f"{C1} value must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}.",
    ),
    (rule(cond(value="a\x00b")), f"{C1} value cannot contain NUL characters or lone surrogates."),
    (rule(cond(value="x" * 501)), f"{C1} value has at most {MAX_VALUE_CHARS} characters."),
    (
        rule(cond(op="contains", value="")),
        f"{C1} contains needs a non-empty text (or a value to find in a list).",
    ),
    (rule(cond(op="in", value="pro")), f'{C1} in needs a list of values, not "pro".'),
    (rule(cond(op="in", value=[])), f"{C1} in needs at least one value."),
    (rule(cond(op="in", value={"a": 1})), f"{C1} in needs a list of values, not an object."),
    (
        rule(cond(op="in", value=list(range(1001)))),
        f"{C1} in takes at most {MAX_IN_VALUES} values.",
    ),
    (rule(cond(op="in", value=["a", ["b"]])), f"{C1} value #2 {SCALAR}, not a list."),
    (rule(cond(op="in", value=["a", {}])), f"{C1} value #2 {SCALAR}, not an object."),
    (rule(cond(op="in", value=[1, math.inf])), f"{C1} value #2 must be a finite number."),
    (
        rule(cond(op="in", value=["ok", "\ud83d"])),
        f"{C1} value #2 cannot contain NUL characters or lone surrogates.",
    ),
    (
        rule(cond(op="gt", value="yesterday")),
        f'{C1} gt needs a number or an ISO 8601 date {EXAMPLE}, not "yesterday".',
    ),
    (
        rule(cond(op="lte", value="10")),
        f'{C1} lte needs a number or an ISO 8601 date {EXAMPLE}, not "10".',
    ),
    (
        rule(cond(op="lt", value="2024-13-01")),
        f'{C1} lt needs a number or an ISO 8601 date {EXAMPLE}, not "2024-13-01".',
    ),
    (
        rule(cond(op="gt", value="2024-06-03T09:20:00." + "0" * 60)),  # Python would read it
        f"{C1} gt needs a number or an ISO 8601 date {EXAMPLE}, "
        f'not "2024-06-03T09:20:00.{"0" * 20}…".',
    ),
    (rule(cond(op="gte", value=True)), f"{C1} gte needs a number or an ISO 8601 date, not true."),
    (rule(cond(op="gt", value=None)), f"{C1} gt needs a number or an ISO 8601 date, not null."),
    (rule(cond(op="lt", value=[1])), f"{C1} lt needs a number or an ISO 8601 date, not a list."),
    (rule(cond(op="gt", value=math.inf)), f"{C1} value must be a finite number."),
    ([{"action": "drop_fields"}], "Rule #1: fields must be a non-empty list of paths."),
    (
        [{"action": "drop_fields", "fields": []}],
        "Rule #1: fields must be a non-empty list of paths.",
    ),
    (
        [{"action": "drop_fields", "fields": "context.ip"}],
        "Rule #1: fields must be a non-empty list of paths.",
    ),
    (
        [{"action": "drop_fields", "fields": ["context.ip"] * 51}],
        f"Rule #1: at most {MAX_DROP_FIELDS} fields.",
    ),
    (
        [{"action": "drop_fields", "fields": ["context.ip", "type"]}],
        f'Rule #1, field #2: field "type" {NOT_INSIDE}',
    ),
    (
        [{"action": "drop_fields", "fields": ["properties"]}],
        f'Rule #1, field #1: field "properties" {NOT_INSIDE}',
    ),
    (
        [{"action": "drop_fields", "fields": ["userId.x"]}],
        f'Rule #1, field #1: field "userId.x" {NOT_INSIDE}',
    ),
    (
        [{"action": "drop_fields", "fields": ["context..ip"]}],
        'Rule #1, field #1: field "context..ip" has an empty part.',
    ),
    (
        [{"action": "drop_fields", "fields": [7]}],
        "Rule #1, field #1: field must be a text path, not 7.",
    ),
]


@pytest.mark.parametrize(("rules", "message"), MESSAGES)
def test_each_problem_has_its_message(rules: Any, message: str) -> None:
    assert problem(rules) == message


def test_the_rule_and_condition_are_counted_from_one() -> None:
    rules = [
        {"action": "drop_fields", "fields": ["context.ip"]},
        {"action": "drop", "conditions": [cond(value="x"), cond(value="y")]},
        {"action": "only_send", "conditions": [cond(value="x"), cond(value="y"), cond(op="in")]},
    ]
    assert problem(rules) == "Rule #3, condition #3: in needs a value."


def test_a_long_text_in_a_message_is_cut() -> None:
    message = problem(rule(cond(op="gt", value="y" * 400)))
    assert message == f'{C1} gt needs a number or an ISO 8601 date {EXAMPLE}, not "{"y" * 40}…".'


def test_a_key_that_is_not_text_is_named_in_a_message() -> None:
    assert problem([{"action": "drop", "conditions": [cond(value=1)], 5: True}]) == (
        "Rule #1: unknown key(s) 5; expected action, conditions, match."
    )


def test_all_rules_together_have_a_size_limit() -> None:
    values = ["v" * MAX_VALUE_CHARS] * (MAX_TOTAL_CHARS // MAX_VALUE_CHARS // 4)
    rules = [{"action": "drop", "conditions": [cond(op="in", value=values)]}] * 4
    assert len(filters_clean(rules[:3])) == 3  # the fourth (with the paths) is one too many
    assert problem(rules) == (
        f"The filters are too large: at most {MAX_TOTAL_CHARS} characters of fields and values "
        "in all rules together."
    )


# -- hostile input ---------------------------------------------------------------------------


def nested(depth: int, leaf: Any = "x", *, as_dict: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if as_dict else [value]
    return value


@pytest.mark.parametrize(
    "rules",
    [
        nested(200_000),
        [nested(200_000)],
        rule(cond(value=nested(200_000))),
        rule(cond(value=nested(200_000, as_dict=True))),
        rule(cond(op="in", value=[nested(200_000)])),
        rule(cond(field=nested(200_000))),
        rule(cond(op=nested(200_000))),
        [{"action": "drop", "match": nested(200_000), "conditions": [cond(value=1)]}],
        [{"action": "drop_fields", "fields": [nested(200_000, as_dict=True)]}],
        list(range(10**6)),
        rule(*[cond(value=1)] * 10**6),
        rule(cond(op="in", value=["x"] * 10**6)),
        rule(cond(value="x" * 10**7)),
        rule(cond(field="properties." + "a." * 10**6 + "b", value=1)),
        rule(cond(op="gt", value="2024-01-01" + " " * 10**6)),
        [{"action": "drop_fields", "fields": ["context.ip"] * 10**6}],
        [{"action": "drop", "conditions": [cond(value=1)], **{str(i): i for i in range(10**5)}}],
        rule(cond(value=10**4000)),
        rule(cond(op=10**4000)),
        (cond(value=1),),
        {cond(value=1)["field"]},
        rule(cond(value=b"bytes")),
        rule(cond(value=object())),
        rule(cond(op="in", value=("a", "b"))),
        rule(cond(op="gt", value="\ud800\x00")),
        rule(cond(op="\udfff")),
        [{"action": "\ud800"}],
        [{"action": "drop", "conditions": [cond(value=1)], "\ud800\x00": 1}],
        "\ud800",
    ],
)
def test_hostile_rules_raise_only_a_validation_error(rules: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        filters_clean(rules)
    [message] = caught.value.message_dict["filters"]
    assert len(message) < 400
    assert "\x00" not in message
    message.encode()  # no lone surrogate: the message can be sent


FIELDS = [
    "event",
    "type",
    "timestamp",
    "properties",
    "properties.plan",
    "properties.a.b",
    "traits.email",
    "context.library.name",
]
OPS = [*OPERATORS, "nope"]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(12 if depth < 4 else 7)
    scalars = [None, True, False, 0, 1, -1.5, 10**30, "", "pro", "2024-06-03T09:20:00Z", "a.b"]
    if choice < 7:
        return rng.choice([*scalars, rng.choice(["event", "type", "properties.plan", "in", "gt"])])
    if choice < 9:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["action", "match", "conditions", "fields", "field", "op", "value", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def random_rules(rng: random.Random) -> Any:
    """Mostly well-shaped rules with random parts, so that the checks deep inside run too."""

    def random_condition() -> Any:
        if rng.random() < 0.1:
            return random_json(rng)
        condition = {"field": rng.choice([*FIELDS, "", "x", "type.a", 1]), "op": rng.choice(OPS)}
        if rng.random() < 0.8:
            condition["value"] = rng.choice(
                [random_json(rng), [random_json(rng) for _ in range(3)]]
            )
        return condition

    rules = []
    for _ in range(rng.randrange(4)):
        action = rng.choice(["drop", "only_send", "drop_fields", "x", None])
        if action == "drop_fields":
            rules.append(
                {"action": action, "fields": [rng.choice([*FIELDS, None]) for _ in range(2)]}
            )
        else:
            conditions = [random_condition() for _ in range(rng.randrange(1, 4))]
            rules.append(
                {
                    "action": action,
                    "match": rng.choice(["all", "any", "x"]),
                    "conditions": conditions,
                }
            )
    return rules if rng.random() < 0.9 else random_json(rng)


def test_random_rules_are_cleaned_or_refused_with_a_validation_error() -> None:
    rng = random.Random(7)
    accepted = 0
    for _ in range(5000):
        rules = random_rules(rng)
        try:
            cleaned = filters_clean(rules)
        except ValidationError:
            continue
        accepted += 1
        assert filters_clean(cleaned) == cleaned
        json.dumps(cleaned, allow_nan=False)
    assert accepted > 100  # the fuzzing reached accepted rules, not only the first check


def every_kind_of_condition() -> list[dict[str, Any]]:
    values: list[Any] = [None, True, False, 0, 1, 1.0, -2.5, "", "pro", "a.b", "2024-06-03"]
    values += ["2024-06-03T09:20:00+02:00", "0001-01-01T00:00:00+23:59"]
    conditions = []
    for field in FIELDS:
        for op in OPERATORS:
            if op in ("exists", "not_exists"):
                conditions.append({"field": field, "op": op})
            elif op == "in":
                conditions.append(
                    {"field": field, "op": op, "value": [v for v in values if v != ""]}
                )
            else:
                for value in values:
                    candidate = {"field": field, "op": op, "value": value}
                    try:
                        filters_clean([{"action": "drop", "conditions": [candidate]}])
                    except ValidationError:
                        continue
                    conditions.append(candidate)
    return conditions


def hostile_events(rng: random.Random) -> list[Any]:
    deep = nested(100_000, as_dict=True)
    deep_list = nested(100_000)
    events: list[Any] = [None, 0, "track", [], [EVENT], True, {}, {"type": None}]
    events += [
        {
            "type": "track",
            "event": deep,
            "properties": deep,
            "traits": deep_list,
            "context": {"library": deep},
        },
        {"properties": {"plan": deep_list, "a": {"b": deep}}, "timestamp": deep_list},
        {"properties": {"plan": ["pro"] * 10**4 + [deep_list]}, "event": "x" * 10**6},
        {"properties": {"plan": math.nan, "a": {"b": math.inf}}, "timestamp": -math.inf},
        {"properties": {"plan": 10**400, "a": {"b": -(10**400)}}, "timestamp": 10**400},
        {
            "properties": {"plan": "2024-06-03T09:20:00" + "9" * 50},
            "timestamp": "9999-12-31T23:59:59-23:59",
        },
        {"properties": "pro", "traits": ["email"], "context": 1, "type": {"a": 1}},
        {1: "x", "properties": {None: 1, "plan": {"pro": True}}},
        copy.deepcopy(EVENT),
        sample_event("identify"),
    ]
    events += [{field.split(".")[0]: random_json(rng) for field in FIELDS} for _ in range(200)]
    events += [
        {"properties": {"plan": random_json(rng), "a": {"b": random_json(rng)}}} for _ in range(200)
    ]
    return events


def test_no_json_event_makes_any_rule_raise() -> None:
    rng = random.Random(11)
    conditions = every_kind_of_condition()
    assert len(conditions) > 300
    rule_sets = [
        filters_clean([{"action": action, "conditions": [condition]}])
        for condition in conditions
        for action in ("drop", "only_send")
    ]
    rule_sets.append(
        filters_clean([{"action": "drop_fields", "fields": [f for f in FIELDS if "." in f]}])
    )
    for event in hostile_events(rng):
        for rules in rule_sets:
            decision = filters_apply(rules, event)
            assert isinstance(decision.send, bool)
            assert decision.send or decision.reason


def test_drop_fields_on_a_deep_event_copies_only_the_path() -> None:
    deep = nested(100_000, as_dict=True)
    event = {"properties": {"a": deep, "plan": "pro"}}
    result = filters_apply(drop("properties.a.a.a", "properties.plan"), event).event
    assert result["properties"]["a"] is not deep
    assert result["properties"]["a"]["a"] is not deep["a"]
    assert "a" not in result["properties"]["a"]["a"]
    assert deep["a"]["a"]["a"] is not None  # the input keeps its field
    assert event["properties"]["plan"] == "pro"
