"""The settings a function declares, and the values a destination instance gives them.

A schema is a list of ``{label, name, type, description, required, encrypted}``; names are
camelCase identifiers generated from labels, as in Segment (``"API Key"`` -> ``apiKey``).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from audit.redaction import mask_secret

SETTING_TYPES = ("string", "boolean", "array", "map")
MAX_SETTINGS = 50
MAX_LABEL_CHARS = 100
MAX_SETTING_DESCRIPTION_CHARS = 1000
NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{0,63}$")
# The deepest nesting (arrays and objects inside each other) any JSON input may have. Far
# more than any event or setting needs, and far less than what makes Python's recursive
# walks (the JSON encoder, comparisons, copies) run out of stack.
MAX_JSON_DEPTH = 64
JSON_TOO_DEEP = f"JSON is nested deeper than {MAX_JSON_DEPTH} levels."
# NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 encoding can hold them).
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def setting_name_from_label(label: str) -> str:
    # A name must start with a letter, so anything before the first letter is dropped.
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"^[^A-Za-z]+", "", label))
    if not words:
        return ""
    first, rest = words[0], words[1:]
    return (first.lower() + "".join(w[0].upper() + w[1:].lower() for w in rest))[:64]


def _problem(index: int, message: str) -> ValidationError:
    return ValidationError({"settings_schema": f"Setting #{index + 1}: {message}"})


def json_depth_check(value: Any, *, field: str, depth: int = 0) -> None:
    """Refuse ``value`` (decoded JSON, found ``depth`` levels down in its document) when
    arrays and objects nest deeper than MAX_JSON_DEPTH. Iterative, so it is safe on any
    input: every JSON input goes through it before anything walks it recursively."""
    pending: list[tuple[Any, int]] = [(value, depth)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if level >= MAX_JSON_DEPTH:
            raise ValidationError({field: JSON_TOO_DEEP})
        pending.extend((child, level + 1) for child in children)


def contains_bad_text(value: Any) -> bool:
    """NUL characters (PostgreSQL refuses them) and lone surrogates (no UTF-8 encoding can
    hold them: every page showing one would fail) are refused up front, on every backend.
    Looks through JSON values (keys too) without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _BAD_TEXT.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _clean_setting(index: int, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _problem(index, "must be an object.")
    if contains_bad_text(raw):
        raise _problem(index, "cannot contain NUL characters or lone surrogates.")
    unknown = set(raw) - {"label", "name", "type", "description", "required", "encrypted"}
    if unknown:
        raise _problem(index, f"unknown field(s) {sorted(unknown)}.")
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _problem(index, "label is required.")
    # Too long is refused, never cut: cutting would lose text without a word.
    if len(label.strip()) > MAX_LABEL_CHARS:
        raise _problem(index, f"label has at most {MAX_LABEL_CHARS} characters.")
    name = raw.get("name") or setting_name_from_label(label)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise _problem(index, f"name {name!r} must be letters and digits, starting with a letter.")
    kind = raw.get("type", "string")
    if kind not in SETTING_TYPES:
        raise _problem(index, f"type must be one of {', '.join(SETTING_TYPES)}.")
    flags = {key: raw.get(key, False) for key in ("required", "encrypted")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise _problem(index, f"{key} must be true or false.")
    if flags["encrypted"] and kind != "string":
        raise _problem(index, "only string settings can be encrypted.")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _problem(index, "description must be text.")
    if len(description) > MAX_SETTING_DESCRIPTION_CHARS:
        raise _problem(
            index, f"description has at most {MAX_SETTING_DESCRIPTION_CHARS} characters."
        )
    return {
        "label": label.strip(),
        "name": name,
        "type": kind,
        "description": description,
        "required": flags["required"],
        "encrypted": flags["encrypted"],
    }


def settings_schema_clean(raw: Any) -> list[dict[str, Any]]:
    json_depth_check(raw, field="settings_schema")
    if not isinstance(raw, list):
        raise ValidationError({"settings_schema": "Must be a list of settings."})
    if len(raw) > MAX_SETTINGS:
        raise ValidationError({"settings_schema": f"At most {MAX_SETTINGS} settings."})
    cleaned = [_clean_setting(i, item) for i, item in enumerate(raw)]
    names = [s["name"] for s in cleaned]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValidationError({"settings_schema": f"Duplicate setting names: {duplicates}."})
    return cleaned


def _value_problem(name: str, message: str) -> ValidationError:
    return ValidationError({"settings": f"{name}: {message}"})


def _check_value(setting: dict[str, Any], value: Any) -> None:
    name, kind = setting["name"], setting["type"]
    if contains_bad_text(value):
        raise _value_problem(name, "cannot contain NUL characters or lone surrogates.")
    if kind == "string" and not isinstance(value, str):
        raise _value_problem(name, "must be a string.")
    if kind == "boolean" and not isinstance(value, bool):
        raise _value_problem(name, "must be true or false.")
    if kind == "array" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise _value_problem(name, "must be a list of strings.")
    if kind == "map" and not (
        isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    ):
        raise _value_problem(name, "must be an object of text values.")


def setting_values_clean(
    *,
    schema: list[dict[str, Any]],
    values: Any,
    previous_plain: dict[str, Any] | None = None,
    previous_secret: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate ``values`` against ``schema``; returns (plain values, encrypted values).

    An encrypted setting left out keeps its previous value: secrets are write-only, so a
    client that never saw the value can still update the other settings. A value given is
    stored where ``schema`` says; one that was encrypted stays so until replaced.
    """
    json_depth_check(values, field="settings")
    if not isinstance(values, dict):
        raise ValidationError({"settings": "Must be an object of setting values."})
    by_name = {s["name"]: s for s in schema}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ValidationError({"settings": f"Unknown settings: {unknown}."})
    plain, secret = setting_values_rehome(
        schema=schema, plain=previous_plain or {}, secret=previous_secret or {}
    )
    plain = {k: v for k, v in plain.items() if k in by_name}
    secret = {k: v for k, v in secret.items() if k in by_name}
    for name, value in values.items():
        setting = by_name[name]
        target, other = (secret, plain) if setting["encrypted"] else (plain, secret)
        other.pop(name, None)
        if value is None:
            target.pop(name, None)
            continue
        _check_value(setting, value)
        target[name] = value
    setting_values_check_required(schema=schema, present=set(plain) | set(secret))
    return plain, secret


def setting_values_rehome(
    *, schema: list[dict[str, Any]], plain: dict[str, Any], secret: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store each value where ``schema`` says it belongs: a plain value of a setting that
    became encrypted moves into the encrypted store.

    Nothing ever moves out of it. The encrypted store is the record of which values were
    entered (or kept) as secrets: such a value stays encrypted, write-only and masked
    whatever a later schema says, until someone enters a new value. Values of settings the
    schema does not name stay too, so restoring an older version finds them again."""
    encrypted = {s["name"] for s in schema if s["encrypted"]}
    moving = {k: v for k, v in plain.items() if k in encrypted}
    new_secret = moving | secret
    new_plain = {k: v for k, v in plain.items() if k not in new_secret}
    return new_plain, new_secret


def setting_values_problems(
    *, schema: list[dict[str, Any]], plain: dict[str, Any], secret: dict[str, Any]
) -> list[str]:
    """What is wrong with stored values under ``schema`` (a version about to run them):
    "name: problem" per value of the wrong type, then the required settings missing.
    Never quotes a value."""
    stored = plain | secret
    problems: list[str] = []
    for setting in schema:
        if setting["name"] in stored:
            try:
                _check_value(setting, stored[setting["name"]])
            except ValidationError as exc:
                problems.extend(exc.messages)
    try:
        setting_values_check_required(schema=schema, present=set(stored))
    except ValidationError as exc:
        problems.extend(exc.messages)
    return problems


def setting_values_check_required(*, schema: list[dict[str, Any]], present: set[str]) -> None:
    missing = [s["name"] for s in schema if s["required"] and s["name"] not in present]
    if missing:
        raise ValidationError({"settings": f"Required settings missing: {missing}."})


def setting_values_masked(
    *, schema: list[dict[str, Any]], plain: dict[str, Any], secret: dict[str, str]
) -> dict[str, Any]:
    """Values as shown to people: encrypted ones masked, never in clear. Masked are the
    values the schema calls encrypted and, whatever it says, every value kept in the
    encrypted store (see ``setting_values_rehome``)."""
    shown: dict[str, Any] = {}
    for setting in schema:
        name = setting["name"]
        if name not in secret and name not in plain:
            continue
        value = secret[name] if name in secret else plain[name]
        shown[name] = mask_secret(value) if _write_only(setting, secret) else value
    return shown


def _write_only(setting: dict[str, Any], secret: dict[str, Any]) -> bool:
    return bool(setting["encrypted"]) or setting["name"] in secret


def setting_values_write_only(
    *, schema: list[dict[str, Any]], plain: dict[str, Any], secret: dict[str, str]
) -> list[str]:
    """Names of the settings whose values ``setting_values_masked`` shows masked: they can
    only be replaced (or cleared), never read."""
    return [
        s["name"]
        for s in schema
        if (s["name"] in plain or s["name"] in secret) and _write_only(s, secret)
    ]
