"""The gallery of function templates a new function can start from.

Each template is two files in this folder: ``<slug>.js`` (the code) and ``<slug>.json``
(``name``, ``description``, ``settings_schema``, ``sample_event``). The default template,
slug ``default``, is ``destination.js`` / ``destination.json``. Files are read once, on first
use, and validated (the schema must already be in the form ``settings_schema_clean``
returns), so a broken template fails loudly at the first request rather than in a user's
editor.

    template_list()          # every template, the default first
    template_get("hmac-webhook")
    template_default().code  # what a new function starts with

The returned objects are shared: use ``to_dict()`` for a copy to serialize or modify.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError

from catalog.settings_schema import settings_schema_clean

TEMPLATES_DIR = Path(__file__).parent
DEFAULT_TEMPLATE_SLUG = "default"
# Gallery order. Every <slug>.json in this folder must be listed (a test checks it).
TEMPLATE_SLUGS = (
    DEFAULT_TEMPLATE_SLUG,
    "json-webhook",
    "batch-webhook",
    "hmac-webhook",
    "slack-message",
    "crm-upsert",
    "token-refresh",
)
_FILE_STEMS = {DEFAULT_TEMPLATE_SLUG: "destination"}
_META_KEYS = frozenset({"name", "description", "settings_schema", "sample_event"})

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FunctionTemplate:
    slug: str
    name: str
    description: str
    code: str
    settings_schema: list[dict[str, Any]]
    # One event, or a list of events (a batch, run through onBatch).
    sample_event: Event | list[Event]

    def to_dict(self) -> dict[str, Any]:
        """A deep copy as plain JSON-ready data (the editor's ``templates`` page data)."""
        return {
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "code": self.code,
            "settings_schema": copy.deepcopy(self.settings_schema),
            "sample_event": copy.deepcopy(self.sample_event),
        }


def template_file_stem(slug: str) -> str:
    return _FILE_STEMS.get(slug, slug)


def _broken(slug: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Function template {slug!r}: {problem}")


def _is_event(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("type"), str)


def _load(slug: str) -> FunctionTemplate:
    stem = template_file_stem(slug)
    try:
        code = (TEMPLATES_DIR / f"{stem}.js").read_text(encoding="utf-8")
        meta = json.loads((TEMPLATES_DIR / f"{stem}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _broken(slug, str(exc)) from exc
    if not isinstance(meta, dict) or set(meta) != _META_KEYS:
        raise _broken(slug, f"{stem}.json must hold exactly {sorted(_META_KEYS)}.")
    name, description = meta["name"], meta["description"]
    if not (isinstance(name, str) and name.strip() and isinstance(description, str)):
        raise _broken(slug, "name and description must be text (name not empty).")
    try:
        cleaned = settings_schema_clean(meta["settings_schema"])
    except ValidationError as exc:
        raise _broken(slug, "; ".join(exc.messages)) from exc
    if cleaned != meta["settings_schema"]:
        raise _broken(slug, "settings_schema must spell out every field, as cleaned.")
    sample = meta["sample_event"]
    if not (_is_event(sample) or (isinstance(sample, list) and all(map(_is_event, sample)))):
        raise _broken(slug, "sample_event must be an event object with a type, or a list.")
    return FunctionTemplate(
        slug=slug,
        name=name,
        description=description,
        code=code,
        settings_schema=cleaned,
        sample_event=sample,
    )


@cache
def _templates() -> dict[str, FunctionTemplate]:
    return {slug: _load(slug) for slug in TEMPLATE_SLUGS}


def template_list() -> list[FunctionTemplate]:
    """Every template, in gallery order (the default first)."""
    return list(_templates().values())


def template_get(slug: str) -> FunctionTemplate | None:
    return _templates().get(slug)


def template_default() -> FunctionTemplate:
    return _templates()[DEFAULT_TEMPLATE_SLUG]
