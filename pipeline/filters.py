"""Destination filters: which events a destination instance's function is invoked for, and
which fields it never sees. One pure module (no database, no I/O), shared by delivery and the
"test the filter on this event" preview.

Rules are JSON, stored as given by ``filters_clean`` and applied by ``filters_apply``::

    [
        {"action": "drop", "match": "any", "conditions": [
            {"field": "event", "op": "equals", "value": "Debug"},
            {"field": "context.library.name", "op": "in", "value": ["curl", "wget"]},
        ]},
        {"action": "only_send", "match": "all", "conditions": [
            {"field": "type", "op": "in", "value": ["track", "identify"]},
            {"field": "traits.email", "op": "exists"},
        ]},
        {"action": "drop_fields", "fields": ["properties.password", "context.ip"]},
    ]

Rules apply in order, each to the event as the rules before it left it (a ``drop_fields``
rule hides a field from the rules after it, too). The first rule that drops the event ends
the walk: a ``drop`` rule drops events its conditions match, an ``only_send`` rule drops
events they do not match. ``match`` is ``all`` (the default) or ``any``; a rule has at least
one condition.

Fields. ``field`` is one of the top-level keys in ``TOP_LEVEL_FIELDS`` (``type``, ``event``,
``userId``...), or a dotted path into ``properties``, ``traits`` or ``context``
(``properties.plan``, ``context.library.name``); the bare name of one of those objects may
be tested too (``traits`` exists). A path walks into objects only: a list on the way, or a
key that contains a dot, cannot be addressed (``contains`` tests list members).
``drop_fields`` paths lie inside ``properties``, ``traits`` or ``context``; a path that is not
in the event is skipped.

Operators, where "missing" means the path is not in the event:

- ``equals`` / ``not_equals``: JSON equality with a text, number, true/false or null value:
  ``1`` equals ``1.0``, but ``"1"`` is not ``1`` and ``true`` is not ``1``. A missing field
  equals nothing (not even null); so ``not_equals`` is true for it.
- ``contains``: on a text, the value (non-empty text) is a substring, case-sensitive; on a
  list, the value (any of the above) is a member by JSON equality. False otherwise.
- ``exists`` / ``not_exists``: the field is present and not null / the opposite. No value.
- ``in``: the field equals one of a non-empty list of values.
- ``gt`` / ``gte`` / ``lt`` / ``lte``: the value is a number, or an ISO 8601 date or date and
  time (``"2024-06-01"``, ``"2024-06-01T12:00:00Z"``; no offset means UTC). A number compares
  with numbers only, a date with text that reads as an ISO date only; anything else (a
  missing field, ``"5"`` against ``3``, a date against a number) is false.

Evaluation never raises and never recurses, whatever the event: a condition value is never
an object or a list of lists, so no comparison looks deeper than one level, and a path walks
at most MAX_PATH_SEGMENTS objects. ``filters_clean`` raises only ``ValidationError`` and only
looks at the levels a rule has, so nested or huge input costs no more than reading it.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from django.core.exceptions import ValidationError

FIELD: Final = "filters"  # the field a ValidationError names

MAX_RULES: Final = 50
MAX_CONDITIONS: Final = 50  # in one rule
MAX_DROP_FIELDS: Final = 50  # in one rule
MAX_PATH_SEGMENTS: Final = 10
MAX_PATH_CHARS: Final = 200
MAX_VALUE_CHARS: Final = 500  # one text value
MAX_IN_VALUES: Final = 1000
# Paths and values of all rules together, in characters (a number or true/false/null counts
# 8): bounds what one event costs to filter and what an instance stores.
MAX_TOTAL_CHARS: Final = 100_000
# The longest text read as a date: far longer than any real timestamp, and a longer text in an
# event is not worth parsing.
MAX_DATE_CHARS: Final = 64
# Integers beyond this are refused: JavaScript (the functions, the UI) cannot hold them.
MAX_SAFE_INTEGER: Final = 2**53 - 1

ACTIONS: Final = ("only_send", "drop", "drop_fields")
MATCHES: Final = ("all", "any")
OPERATORS: Final = (
    "equals",
    "not_equals",
    "contains",
    "exists",
    "not_exists",
    "in",
    "gt",
    "gte",
    "lt",
    "lte",
)
# Objects a path may lead into, and the top-level keys a condition may test as they are.
CONTAINERS: Final = ("properties", "traits", "context")
TOP_LEVEL_FIELDS: Final = (
    "type",
    "event",
    "name",
    "category",
    "userId",
    "anonymousId",
    "groupId",
    "previousId",
    "messageId",
    "channel",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
)

_RULE_KEYS: Final = {
    "only_send": frozenset({"action", "match", "conditions"}),
    "drop": frozenset({"action", "match", "conditions"}),
    "drop_fields": frozenset({"action", "fields"}),
}
_CONDITION_KEYS: Final = frozenset({"field", "op", "value"})
_VALUELESS: Final = frozenset({"exists", "not_exists"})
_COMPARISONS: Final = frozenset({"gt", "gte", "lt", "lte"})
# NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 encoding can hold them).
_BAD_TEXT: Final = re.compile("[\x00\ud800-\udfff]")
_SCALAR_COST: Final = 8
_SHOWN_CHARS: Final = 40  # of one value in a message
_MAX_REASON_CHARS: Final = 300
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class FilterDecision:
    """What the rules decided for one event.

    ``event`` is what the function is given: the input itself when no field was dropped,
    otherwise a new object sharing the unchanged branches with the input. The input is never
    modified; treat both as read-only. ``reason`` names the rule that dropped the event.
    """

    send: bool
    event: Any
    reason: str | None = None


# -- validation ------------------------------------------------------------------------------


class _Problem(Exception):
    """A problem found in one rule; ``place`` says where in the rule (a condition, a
    field), filters_clean adds which rule."""

    def __init__(self, message: str, *, place: str | None = None) -> None:
        super().__init__(message)
        self.place = place


def _shown(value: Any) -> str:
    """A value as a message shows it: short, printable (a message with a lone surrogate could
    not be sent), and never a repr of arbitrary structure."""
    if isinstance(value, str):
        text = json.dumps(_BAD_TEXT.sub("\ufffd", value[:_SHOWN_CHARS]), ensure_ascii=False)
        return text if len(value) <= _SHOWN_CHARS else f'{text[:-1]}…"'
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        return "a very large number"  # its digits could be too many to print
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__} value"


def _unknown_keys(raw: dict[Any, Any], allowed: frozenset[str]) -> str | None:
    unknown = [key for key in raw if key not in allowed]
    if not unknown:
        return None
    shown = ", ".join(_shown(key) for key in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return f"unknown key(s) {shown}{more}; expected {', '.join(sorted(allowed))}."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


class _Budget:
    """Characters of paths and values left for all rules together."""

    def __init__(self) -> None:
        self.left = MAX_TOTAL_CHARS

    def charge(self, value: Any) -> None:
        self.left -= len(value) if isinstance(value, str) else _SCALAR_COST
        if self.left < 0:
            raise ValidationError(
                {
                    FIELD: f"The filters are too large: at most {MAX_TOTAL_CHARS} characters of "
                    "fields and values in all rules together."
                }
            )


def _check_text(value: str, what: str) -> None:
    if len(value) > MAX_VALUE_CHARS:
        raise _Problem(f"{what} has at most {MAX_VALUE_CHARS} characters.")
    if _BAD_TEXT.search(value):
        raise _Problem(f"{what} cannot contain NUL characters or lone surrogates.")


def _check_scalar(value: Any, what: str) -> None:
    if isinstance(value, str):
        _check_text(value, what)
    elif isinstance(value, float) and not math.isfinite(value):
        raise _Problem(f"{what} must be a finite number.")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        raise _Problem(f"{what} must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}.")
    elif not _is_scalar(value):
        raise _Problem(
            f"{what} must be a text, a number, true, false or null, not {_shown(value)}."
        )


def _clean_path(raw: Any, *, for_drop: bool) -> str:
    if not isinstance(raw, str):
        raise _Problem(f"field must be a text path, not {_shown(raw)}.")
    if not raw:
        raise _Problem("field is required.")
    if len(raw) > MAX_PATH_CHARS:
        raise _Problem(f"field has at most {MAX_PATH_CHARS} characters.")
    if _BAD_TEXT.search(raw):
        raise _Problem("field cannot contain NUL characters or lone surrogates.")
    segments = raw.split(".", MAX_PATH_SEGMENTS)
    if len(segments) > MAX_PATH_SEGMENTS:
        raise _Problem(f"field {_shown(raw)} has more than {MAX_PATH_SEGMENTS} parts.")
    if "" in segments:
        raise _Problem(f"field {_shown(raw)} has an empty part.")
    root = segments[0]
    if for_drop:
        if root not in CONTAINERS or len(segments) < 2:
            raise _Problem(
                f"field {_shown(raw)} must be a path inside {', '.join(CONTAINERS)} "
                "(e.g. properties.password)."
            )
    elif root in TOP_LEVEL_FIELDS:
        if len(segments) > 1:
            raise _Problem(f"field {_shown(raw)}: {root} has no fields inside it.")
    elif root not in CONTAINERS:
        raise _Problem(
            f"field {_shown(raw)} must be one of {', '.join(TOP_LEVEL_FIELDS)}, or a path "
            f"inside {', '.join(CONTAINERS)} (e.g. properties.plan)."
        )
    return raw


def _is_iso_date(value: str) -> bool:
    return len(value) <= MAX_DATE_CHARS and _parse_date(value) is not None


def _clean_value(op: str, raw: dict[Any, Any], budget: _Budget) -> dict[str, Any]:
    has_value = "value" in raw
    value = raw.get("value")
    if op in _VALUELESS:
        if value is not None:
            raise _Problem(f"{op} takes no value.")
        return {}
    if not has_value:
        raise _Problem(f"{op} needs a value.")
    if op == "in":
        if not isinstance(value, list):
            raise _Problem(f"in needs a list of values, not {_shown(value)}.")
        if not value:
            raise _Problem("in needs at least one value.")
        if len(value) > MAX_IN_VALUES:
            raise _Problem(f"in takes at most {MAX_IN_VALUES} values.")
        for position, item in enumerate(value, 1):
            _check_scalar(item, f"value #{position}")
            budget.charge(item)
        return {"value": list(value)}
    if op in _COMPARISONS:
        if isinstance(value, str):
            if not _is_iso_date(value):
                raise _Problem(
                    f"{op} needs a number or an ISO 8601 date (e.g. 2024-06-01T12:00:00Z), "
                    f"not {_shown(value)}."
                )
        elif not _is_number(value):
            raise _Problem(f"{op} needs a number or an ISO 8601 date, not {_shown(value)}.")
    if op in ("equals", "not_equals") and isinstance(value, list):
        raise _Problem(f"{op} compares with one value; use in for a list of values.")
    _check_scalar(value, "value")
    if op == "contains" and value == "":
        raise _Problem("contains needs a non-empty text (or a value to find in a list).")
    budget.charge(value)
    return {"value": value}


def _clean_condition(raw: Any, budget: _Budget) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _Problem(f"must be an object, not {_shown(raw)}.")
    unknown = _unknown_keys(raw, _CONDITION_KEYS)
    if unknown:
        raise _Problem(unknown)
    field = _clean_path(raw.get("field"), for_drop=False)
    budget.charge(field)
    op = raw.get("op")
    if not isinstance(op, str) or op not in OPERATORS:
        raise _Problem(f"op {_shown(op)} is not one of {', '.join(OPERATORS)}.")
    return {"field": field, "op": op, **_clean_value(op, raw, budget)}


def _clean_conditions(raw: dict[Any, Any], budget: _Budget) -> dict[str, Any]:
    match = raw.get("match", "all")
    if not isinstance(match, str) or match not in MATCHES:
        raise _Problem(f"match must be all or any, not {_shown(match)}.")
    conditions = raw.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise _Problem("conditions must be a non-empty list.")
    if len(conditions) > MAX_CONDITIONS:
        raise _Problem(f"at most {MAX_CONDITIONS} conditions.")
    cleaned = []
    for position, condition in enumerate(conditions, 1):
        try:
            cleaned.append(_clean_condition(condition, budget))
        except _Problem as problem:
            raise _Problem(str(problem), place=f"condition #{position}") from None
    return {"action": raw["action"], "match": match, "conditions": cleaned}


def _clean_drop_fields(raw: dict[Any, Any], budget: _Budget) -> dict[str, Any]:
    fields = raw.get("fields")
    if not isinstance(fields, list) or not fields:
        raise _Problem("fields must be a non-empty list of paths.")
    if len(fields) > MAX_DROP_FIELDS:
        raise _Problem(f"at most {MAX_DROP_FIELDS} fields.")
    cleaned: dict[str, None] = {}  # ordered, without repeats
    for position, field in enumerate(fields, 1):
        try:
            cleaned[_clean_path(field, for_drop=True)] = None
        except _Problem as problem:
            raise _Problem(str(problem), place=f"field #{position}") from None
        budget.charge(field)
    return {"action": "drop_fields", "fields": list(cleaned)}


def _clean_rule(raw: Any, budget: _Budget) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _Problem(f"must be an object, not {_shown(raw)}.")
    action = raw.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise _Problem(f"action {_shown(action)} is not one of {', '.join(ACTIONS)}.")
    unknown = _unknown_keys(raw, _RULE_KEYS[action])
    if unknown:
        raise _Problem(unknown)
    if action == "drop_fields":
        return _clean_drop_fields(raw, budget)
    return _clean_conditions(raw, budget)


def filters_clean(rules: Any) -> list[dict[str, Any]]:
    """Validate untrusted rules (decoded JSON from the API or the UI) and return them in the
    stored form: ``match`` spelt out, no value on ``exists``, ``drop_fields`` without
    repeats. Raises ``ValidationError({"filters": "Rule #2, condition #1: ..."})``; never
    anything else, whatever ``rules`` is."""
    if not isinstance(rules, list):
        raise ValidationError({FIELD: f"Must be a list of rules, not {_shown(rules)}."})
    if len(rules) > MAX_RULES:
        raise ValidationError({FIELD: f"At most {MAX_RULES} rules."})
    budget = _Budget()
    cleaned = []
    for position, rule in enumerate(rules, 1):
        try:
            cleaned.append(_clean_rule(rule, budget))
        except _Problem as problem:
            place = f"Rule #{position}, {problem.place}" if problem.place else f"Rule #{position}"
            raise ValidationError({FIELD: f"{place}: {problem}"}) from None
    return cleaned


# -- evaluation ------------------------------------------------------------------------------


def _lookup(event: Any, keys: list[str]) -> Any:
    found = event
    for key in keys:
        if not isinstance(found, dict):
            return _MISSING
        found = found.get(key, _MISSING)
        if found is _MISSING:
            return _MISSING
    return found


def _json_equal(actual: Any, expected: Any) -> bool:
    """JSON equality of an event value with a rule's scalar: Python's ``==`` without its
    ``True == 1``; a list or an object equals no scalar."""
    if isinstance(expected, str):
        return isinstance(actual, str) and actual == expected
    if isinstance(expected, bool) or expected is None:
        return actual is expected
    return _is_number(actual) and actual == expected


def _equals(actual: Any, expected: Any) -> bool:
    return actual is not _MISSING and _json_equal(actual, expected)


def _not_equals(actual: Any, expected: Any) -> bool:
    return not _equals(actual, expected)


def _exists(actual: Any, _expected: Any) -> bool:
    return actual is not _MISSING and actual is not None


def _not_exists(actual: Any, _expected: Any) -> bool:
    return actual is _MISSING or actual is None


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, list):
        if isinstance(expected, str) or expected is None:
            # Exact for text and null: neither is == to anything of another JSON type.
            return expected in actual
        return any(_json_equal(item, expected) for item in actual)
    return False


def _in(actual: Any, values: list[Any]) -> bool:
    if isinstance(actual, str) or actual is None:
        return actual in values
    if isinstance(actual, bool | int | float):
        return any(_json_equal(actual, value) for value in values)
    return False


def _parse_date(text: str) -> datetime | None:
    """An ISO 8601 date or date and time (a date is its midnight), in UTC when no offset is
    given, so that any two compare."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _comparison(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def holds(actual: Any, expected: Any) -> bool:
        if isinstance(expected, str):
            if not isinstance(actual, str) or len(actual) > MAX_DATE_CHARS:
                return False
            moment, bound = _parse_date(actual), _parse_date(expected)
            # Both carry an offset, so they always compare (even at the calendar's edges).
            return moment is not None and bound is not None and compare(moment, bound)
        return _is_number(actual) and compare(actual, expected)

    return holds


_OPERATOR_TESTS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "equals": _equals,
    "not_equals": _not_equals,
    "contains": _contains,
    "exists": _exists,
    "not_exists": _not_exists,
    "in": _in,
    "gt": _comparison(operator.gt),
    "gte": _comparison(operator.ge),
    "lt": _comparison(operator.lt),
    "lte": _comparison(operator.le),
}


def _holds(condition: dict[str, Any], event: Any) -> bool:
    test = _OPERATOR_TESTS[condition["op"]]
    return test(_lookup(event, condition["field"].split(".")), condition.get("value"))


def _matches(rule: dict[str, Any], event: Any) -> bool:
    if rule["match"] == "any":
        return any(_holds(condition, event) for condition in rule["conditions"])
    return all(_holds(condition, event) for condition in rule["conditions"])


def _without_fields(event: Any, paths: list[str]) -> Any:
    """``event`` without ``paths``: every object on the way to a dropped field is copied
    (once), everything else is shared; the input is left as it was."""
    if not isinstance(event, dict):
        return event
    result = event
    copies: dict[int, dict[Any, Any]] = {}  # id -> a copy made here (kept alive by this dict)

    def own(node: dict[Any, Any]) -> dict[Any, Any]:
        if id(node) in copies:
            return node
        copy = dict(node)
        copies[id(copy)] = copy
        return copy

    for path in paths:
        *parents, leaf = path.split(".")
        holder = _lookup(result, parents)
        if not isinstance(holder, dict) or leaf not in holder:
            continue
        result = node = own(result)
        for key in parents:
            child = own(node[key])
            node[key] = child
            node = child
        del node[leaf]
    return result


_OPERATOR_WORDS: Final = {
    "equals": "equals",
    "not_equals": "does not equal",
    "contains": "contains",
    "exists": "exists",
    "not_exists": "does not exist",
    "in": "is in",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
}


def _described(condition: dict[str, Any]) -> str:
    words = f"{condition['field']} {_OPERATOR_WORDS[condition['op']]}"
    if "value" not in condition:
        return words
    value = condition["value"]
    if isinstance(value, list):
        shown = ", ".join(_shown(item) for item in value[:3])
        return f"{words} [{shown}{', …' if len(value) > 3 else ''}]"
    return f"{words} {_shown(value)}"


def _reason(number: int, rule: dict[str, Any]) -> str:
    joiner = " and " if rule["match"] == "all" else " or "
    conditions = joiner.join(_described(condition) for condition in rule["conditions"])
    if len(conditions) > _MAX_REASON_CHARS:
        conditions = f"{conditions[:_MAX_REASON_CHARS]}…"
    if rule["action"] == "drop":
        return f"rule #{number} (drop: {conditions})"
    return f"rule #{number} (only send: {conditions}; not matched)"


def filters_apply(rules: Sequence[dict[str, Any]], event: Any) -> FilterDecision:
    """Run one event through ``rules``, which must be as ``filters_clean`` returned them (as
    stored on the instance): they are not checked again here. Never raises for any JSON
    ``event``, an object or not (a non-object has no fields). A batch is filtered event by
    event."""
    current = event
    for number, rule in enumerate(rules, 1):
        action = rule["action"]
        if action == "drop_fields":
            current = _without_fields(current, rule["fields"])
        elif _matches(rule, current) != (action == "only_send"):
            return FilterDecision(send=False, event=current, reason=_reason(number, rule))
    return FilterDecision(send=True, event=current)
