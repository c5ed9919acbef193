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
NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{0,63}$")


def setting_name_from_label(label: str) -> str:
    # A name must start with a letter, so anything before the first letter is dropped.
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"^[^A-Za-z]+", "", label))
    if not words:
        return ""
    first, rest = words[0], words[1:]
    return (first.lower() + "".join(w[0].upper() + w[1:].lower() for w in rest))[:64]


def _problem(index: int, message: str) -> ValidationError:
    return ValidationError({"settings_schema": f"Setting #{index + 1}: {message}"})


def _bad_text(text: str) -> bool:
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def contains_bad_text(value: Any) -> bool:
    """NUL characters (PostgreSQL refuses them) and lone surrogates (no UTF-8 encoding can
    hold them: every page showing one would fail) are refused up front, on every backend."""
    if isinstance(value, str):
        return _bad_text(value)
    if isinstance(value, dict):
        return any(contains_bad_text(k) or contains_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_bad_text(v) for v in value)
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
    return {
        "label": label.strip()[:100],
        "name": name,
        "type": kind,
        "description": description[:1000],
        "required": flags["required"],
        "encrypted": flags["encrypted"],
    }


def settings_schema_clean(raw: Any) -> list[dict[str, Any]]:
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
    client that never saw the value can still update the other settings.
    """
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
    """Store each value where ``schema`` says it belongs: a setting that became encrypted
    moves into the encrypted store (and back). Values of settings the schema does not name
    stay where they are, so restoring an older version finds them again."""
    encrypted = {s["name"] for s in schema if s["encrypted"]}
    named = {s["name"] for s in schema}
    merged = plain | secret
    new_plain = {
        k: v for k, v in merged.items() if k not in encrypted and (k in named or k in plain)
    }
    new_secret = {
        k: v for k, v in merged.items() if k in encrypted or (k not in named and k in secret)
    }
    return new_plain, new_secret


def setting_values_check_required(*, schema: list[dict[str, Any]], present: set[str]) -> None:
    missing = [s["name"] for s in schema if s["required"] and s["name"] not in present]
    if missing:
        raise ValidationError({"settings": f"Required settings missing: {missing}."})


def setting_values_masked(
    *, schema: list[dict[str, Any]], plain: dict[str, Any], secret: dict[str, str]
) -> dict[str, Any]:
    """Values as shown to people: encrypted ones masked, never in clear."""
    shown: dict[str, Any] = {}
    for setting in schema:
        name = setting["name"]
        if name not in secret and name not in plain:
            continue
        value = secret[name] if name in secret else plain[name]
        # Masked by what the schema says, wherever the value happens to be stored.
        shown[name] = mask_secret(value) if setting["encrypted"] or name in secret else value
    return shown
