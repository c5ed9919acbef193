"""What a request trace may show: secrets masked, bodies and header values truncated.

The secrets of a call are its setting values (:func:`secrets_from_settings`); the
headers that carry credentials are masked whatever their value.
"""

from __future__ import annotations

from typing import Any

MASK = "••••••"
MIN_SECRET_CHARS = 6  # shorter setting values are not masked (too many false hits)
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
    }
)
MAX_TRACE_BODY_CHARS = 2048  # what a trace keeps of each body
MAX_TRACE_HEADER_CHARS = 1024  # ... and of each header value


def mask(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret in it replaced by MASK (``secrets`` longest first)."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_header(name: str, value: str, secrets: tuple[str, ...]) -> str:
    """A header value as a trace shows it: masked, then truncated."""
    if name.lower() in SENSITIVE_HEADERS:
        scheme, _, rest = value.partition(" ")
        return f"{scheme} {MASK}" if rest and scheme.isalpha() and len(scheme) < 16 else MASK
    masked = mask(value, secrets)  # before truncating: a cut secret would not match
    if len(masked) > MAX_TRACE_HEADER_CHARS:
        return masked[:MAX_TRACE_HEADER_CHARS] + f"… ({len(value)} characters)"
    return masked


def body_preview(data: bytes | None, secrets: tuple[str, ...]) -> str | None:
    """A body as a trace shows it: decoded, masked, then truncated."""
    if data is None:
        return None
    text = data[: MAX_TRACE_BODY_CHARS * 4].decode("utf-8", errors="replace")
    text = mask(text, secrets)
    if len(text) > MAX_TRACE_BODY_CHARS or len(data) > MAX_TRACE_BODY_CHARS * 4:
        return text[:MAX_TRACE_BODY_CHARS] + f"… ({len(data)} bytes)"
    return text


def secrets_from_settings(settings: dict[str, Any]) -> tuple[str, ...]:
    """String setting values long enough to be worth masking in traces."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET_CHARS:
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(settings)
    # Longest first, so that a secret containing another is masked whole.
    return tuple(sorted(set(found), key=len, reverse=True))
