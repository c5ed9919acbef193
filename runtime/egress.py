"""Egress policy for `fetch` from user functions (server-side request forgery guard).

Every connection a function's `fetch` opens is checked here *at connect time*, on
the address actually dialled: the host name is resolved once, every answer is
checked, and the connection goes to a vetted address (so a DNS answer cannot
change between the check and the connect). Redirects are followed hop by hop by
runtime/fetch.py, so each hop comes through here too.

Refused unless listed in ``FUNCTIONS_EGRESS_ALLOWLIST`` (host names, IPs or CIDRs):
loopback, private (RFC 1918, unique local), link-local (incl. 169.254.169.254
metadata), carrier-grade NAT, unspecified (0.0.0.0, ::), multicast, reserved and
documentation ranges, and IPv6 forms that embed such an IPv4 address (mapped,
6to4, NAT64, Teredo). Decimal, octal and hex spellings of IPv4 need no special
case: they are resolved to a canonical address before the check.

``FUNCTIONS_EGRESS_ALLOWED_URLS`` lets functions reach exact URLs (scheme, host, port
and path; any query) although their host is private: `manage.py serve` lists the demo's
built-in echo endpoint there. Every other path or port of that host stays refused;
runtime/fetch.py sends such a request on a connection of its own (``exemption_for``), so
that no connection opened for it is reused for another URL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import ipaddress
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# (scheme, host, port, path) of an exactly allowed URL.
ExactURL = tuple[str, str, int, str]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressDenied(Exception):
    """A request that the egress policy refuses; the message says why."""


# Host name lookups block a thread (getaddrinfo), for up to ~30 s when a name's
# servers do not answer, and cancelling the awaiting task does not free the thread.
# So lookups run on their own bounded executor (not the loop's default one, shared
# with everything else), a function has at most DNS_LOOKUPS_PER_FUNCTION in progress
# -- counted until the thread returns, not until the caller gives up -- and the
# caller waits DNS_TIMEOUT_S at most.
DNS_THREADS = 32
DNS_LOOKUPS_PER_FUNCTION = 8
DNS_TIMEOUT_S = 5.0
# The function on whose behalf the current task fetches (set by runtime/fetch_bridge.py).
current_function: contextvars.ContextVar[str] = contextvars.ContextVar(
    "runtime_fetch_function", default=""
)
_resolver: concurrent.futures.ThreadPoolExecutor | None = None
_lookups: dict[str, int] = {}  # function -> lookups whose thread has not returned
_lookups_lock = threading.Lock()


def _release_lookup(function: str) -> None:
    with _lookups_lock:
        left = _lookups.get(function, 0) - 1
        if left > 0:
            _lookups[function] = left
        else:
            _lookups.pop(function, None)


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # An IPv4 or IPv6 address's first item is its host, a str (the stubs also allow the
    # (int, bytes) of a Python built without IPv6).
    return [str(info[4][0]) for info in infos]


async def resolve_host(host: str, port: int) -> list[str]:
    """Resolve ``host`` to IP address strings. Tests monkeypatch this edge only."""
    global _resolver
    function = current_function.get()
    with _lookups_lock:
        if _lookups.get(function, 0) >= DNS_LOOKUPS_PER_FUNCTION:
            raise OSError("too many host name lookups in progress for this function")
        _lookups[function] = _lookups.get(function, 0) + 1
        if _resolver is None:
            _resolver = concurrent.futures.ThreadPoolExecutor(
                DNS_THREADS, thread_name_prefix="egress-dns"
            )
    try:
        future = _resolver.submit(_getaddrinfo, host, port)
    except BaseException:
        _release_lookup(function)
        raise
    future.add_done_callback(lambda _: _release_lookup(function))
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), DNS_TIMEOUT_S)
    except TimeoutError:
        raise OSError("the host name lookup timed out") from None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64, Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _exact_url(raw: str) -> ExactURL | None:
    """An allowed URL's parts, or None for an entry that is not an http(s) URL."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    return (scheme, host, port or DEFAULT_PORTS[scheme], parts.path or "/")


def is_public_address(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return is_public_address(inner)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass(frozen=True)
class EgressPolicy:
    """Which hosts and addresses functions may reach besides the public Internet."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)
    urls: frozenset[ExactURL] = frozenset()

    @classmethod
    def from_allowlist(cls, entries: Iterable[str], urls: Iterable[str] = ()) -> EgressPolicy:
        """Build from ``FUNCTIONS_EGRESS_ALLOWLIST`` entries (host names, IPs or CIDRs)
        and ``FUNCTIONS_EGRESS_ALLOWED_URLS`` (exact URLs)."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        exact = frozenset(filter(None, map(_exact_url, urls)))
        return cls(hosts=frozenset(hosts), networks=tuple(networks), urls=exact)

    @classmethod
    def from_settings(cls) -> EgressPolicy:
        from django.conf import settings

        return cls.from_allowlist(
            getattr(settings, "FUNCTIONS_EGRESS_ALLOWLIST", []) or [],
            getattr(settings, "FUNCTIONS_EGRESS_ALLOWED_URLS", []) or [],
        )

    def exemption_for(
        self, scheme: str, host: str, port: int | None, path: str
    ) -> EgressPolicy | None:
        """For a URL allowed exactly, the policy to reach it with (its host allowed);
        None for any other URL."""
        scheme = scheme.lower()
        name = host.strip("[]").lower().rstrip(".")
        key = (scheme, name, port or DEFAULT_PORTS.get(scheme, 0), path or "/")
        if key not in self.urls:
            return None
        return EgressPolicy.from_allowlist([name])

    def check_scheme(self, scheme: str) -> None:
        if scheme.lower() not in ALLOWED_SCHEMES:
            raise EgressDenied(f"only http and https URLs can be fetched, not {scheme}:")

    def address_allowed(self, ip: IPAddress) -> bool:
        if any(ip.version == net.version and ip in net for net in self.networks):
            return True
        return is_public_address(ip)

    async def vet(self, host: str, port: int) -> list[str]:
        """Return the addresses to connect to for ``host``, or raise EgressDenied."""
        name = host.strip("[]").lower().rstrip(".")
        if not name:
            raise EgressDenied("the URL has no host")
        try:
            literal: IPAddress | None = ipaddress.ip_address(name)
        except ValueError:
            literal = None
        if literal is not None:
            if not self.address_allowed(literal):
                raise EgressDenied(f"connections to {literal} are not allowed (private address)")
            return [str(literal)]
        try:
            answers = await resolve_host(name, port)
        except OSError as exc:
            raise EgressDenied(f"could not resolve {name}: {exc}") from exc
        if not answers:
            raise EgressDenied(f"could not resolve {name}")
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
        if name in self.hosts:
            return [str(ip) for ip in addresses]
        for ip in addresses:
            if not self.address_allowed(ip):
                raise EgressDenied(
                    f"connections to {name} are not allowed: it resolves to {ip} (private address)"
                )
        return [str(ip) for ip in addresses]
