"""The websocket handshake's origin check. Browsers send a socket's cookies whatever page
opens it, so only pages of the site itself (or of an origin in CSRF_TRUSTED_ORIGINS) may open
one. An origin is scheme, host and port together: channels' AllowedHostsOriginValidator
compares host names only, which lets any other service on the same host (another port) in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope  # the stubs' name for a consumer's scope

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # lower case; an IPv6 address without its brackets
    port: int


def parse_origin(value: str) -> Origin | None:
    """``scheme://host[:port]`` as an Origin header or a trusted origin spells it; anything
    else (``null``, a path, user info, another scheme) is None."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return Origin(scheme=scheme, host=parts.hostname.lower(), port=port or DEFAULT_PORTS[scheme])


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _is_secure(scope: Mapping[str, Any]) -> bool:
    """wss, or behind a proxy that says so the way Django's ``request.is_secure`` trusts."""
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    meta_name, secure_value = proxy_header
    header_name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode()
    forwarded = _header(scope, header_name)
    return forwarded is not None and forwarded.split(",", 1)[0].strip() == secure_value


def site_origin(scope: Mapping[str, Any]) -> Origin | None:
    """The origin the handshake was made to: its Host header (one of ALLOWED_HOSTS) and the
    connection's scheme."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return parse_origin(f"{'https' if _is_secure(scope) else 'http'}://{host}")


def _is_trusted(origin: Origin, trusted: Iterable[str]) -> bool:
    """CSRF_TRUSTED_ORIGINS entries, with Django's ``https://*.example.com`` subdomain form."""
    for entry in trusted:
        wildcard = "://*." in entry
        allowed = parse_origin(entry.replace("://*.", "://", 1))
        if allowed is None or (allowed.scheme, allowed.port) != (origin.scheme, origin.port):
            continue
        if origin.host == allowed.host and not wildcard:
            return True
        if wildcard and origin.host.endswith(f".{allowed.host}"):
            return True
    return False


def origin_allowed(scope: Mapping[str, Any]) -> bool:
    value = _header(scope, b"origin")
    origin = parse_origin(value) if value is not None else None
    if origin is None:
        return False
    return origin == site_origin(scope) or _is_trusted(origin, settings.CSRF_TRUSTED_ORIGINS)


class SameOriginValidator:
    """ASGI middleware: refuses a websocket handshake from any other origin (or none)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: _ChannelScope, receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator only guards websocket connections")
        if not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
