"""Last line of defence against secrets in the audit trail.

Services already describe encrypted settings by their masked form; this catches any value
stored under a name that looks secret, whatever the caller passed.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_NAME = re.compile(r"pass(word)?|secret|token|api_?key|apikey|private|credential", re.I)
MASK = "••••"


def mask_secret(value: object) -> str:
    """Show a secret as bullets and, for long enough values, its last four characters."""
    text = "" if value is None else str(value)
    return MASK + text[-4:] if len(text) >= 12 else MASK


def redact(value: Any, *, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: redact(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, key=key) for item in value]
    if key and SECRET_NAME.search(key) and isinstance(value, str) and not value.startswith(MASK):
        return mask_secret(value)
    return value
