"""The Python half of a function's `fetch`: requests are carried out here with httpx.

The Node worker forwards each `fetch` call as a JSON description; this module
validates it, applies the egress policy on every connection (runtime/egress.py),
follows redirects itself (node-fetch v2 rules), caps the response size, and
produces two things: the response handed back to the function, and a trace of the
request for logs and the IDE. The trace is recorded as the request goes, then masked
and truncated once, at the end, by runtime/masking.py (off the event loop when that
is costly).

One httpx client serves every function of a pool, so it must hold no state between
requests: it never stores cookies (a `Set-Cookie` seen by one function would be
sent with another tenant's requests), credentials are dropped when a redirect
leaves the origin, and response bodies are decoded here, by a bounded decoder
(httpx's own decoders inflate a whole chunk at once, and decode stacked codings).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.cookiejar
import time
import zlib
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from runtime.egress import EgressDenied, EgressPolicy
from runtime.masking import MASK as MASK
from runtime.masking import MIN_SECRET_CHARS as MIN_SECRET_CHARS
from runtime.masking import SENSITIVE_HEADERS, mask_header, masked_trace

# Re-exported (the "as" imports above): catalog/preview.py reads MASK and
# MIN_SECRET_CHARS here, and tests/runtime/test_protocol.py reads _mask_header.
_mask_header = mask_header

MAX_RESPONSE_BYTES = 5 * 1024 * 1024  # what a function may receive from one request
MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 20  # node-fetch's default `follow`
MAX_URL_CHARS = 8192
MAX_HEADERS = 100  # request headers per fetch (the worker checks the same)
MAX_HEADER_NAME_CHARS = 256
MAX_HEADER_VALUE_CHARS = 8192
MAX_TRACE_HEADERS = 100  # what a trace keeps of each header list (of each value: masking.py)
CONNECT_TIMEOUT_S = 5.0
USER_AGENT = "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"  # what node-fetch v2 sends
# Dropped when a redirect changes scheme, host or port (node-fetch >= 2.6.7 drops the
# credentials; so are the other secret-bearing headers, and a Host set by the code).
CROSS_ORIGIN_DROPPED = SENSITIVE_HEADERS | {"www-authenticate", "cookie2", "host"}
# Content codings decoded for the function (as node-fetch v2 does, only when the
# response has exactly one); anything else (stacked codings, br) is passed through
# as received. The decoder is bounded: it never produces more than the response cap,
# and yields to the event loop every DECODE_STEP bytes of output.
DECODED_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "x-deflate"})
ACCEPT_ENCODING = "gzip,deflate"  # never br: there is no bounded brotli decoder here
DECODE_STEP = 256 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchFailed(Exception):
    """A request that did not produce a response; ``code`` mirrors node-fetch's."""

    def __init__(self, message: str, code: str = "EFETCH") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class FetchSpec:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None
    redirect: str
    follow: int
    timeout_ms: int


def parse_spec(raw: Any) -> FetchSpec:
    """Validate what the worker sent. It comes from user code: trust nothing."""
    if not isinstance(raw, dict):
        raise FetchFailed("invalid request")
    method, url = raw.get("method"), raw.get("url")
    headers, body = raw.get("headers"), raw.get("body")
    if not isinstance(method, str) or not method.isalpha() or len(method) > 16:
        raise FetchFailed("invalid method")
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        raise FetchFailed("invalid url")
    if not isinstance(headers, list) or not all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in headers
    ):
        raise FetchFailed("invalid headers")
    if len(headers) > MAX_HEADERS or any(
        len(k) > MAX_HEADER_NAME_CHARS or len(v) > MAX_HEADER_VALUE_CHARS for k, v in headers
    ):
        raise FetchFailed(
            f"too many or too large headers (at most {MAX_HEADERS}, "
            f"{MAX_HEADER_VALUE_CHARS} characters each)"
        )
    data: bytes | None = None
    if body is not None:
        if not isinstance(body, str) or len(body) > MAX_REQUEST_BYTES * 4 // 3 + 4:
            raise FetchFailed("request body too large")
        data = base64.b64decode(body)
    redirect = raw.get("redirect") if raw.get("redirect") in ("follow", "manual", "error") else None
    follow, timeout = raw.get("follow"), raw.get("timeout")
    return FetchSpec(
        method=method.upper(),
        url=url,
        headers=[(k, v) for k, v in headers],
        body=data,
        redirect=redirect or "follow",
        follow=min(follow, MAX_REDIRECTS) if isinstance(follow, int) and follow >= 0 else 20,
        timeout_ms=timeout if isinstance(timeout, int) and timeout > 0 else 0,
    )


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Network backend that dials only addresses the egress policy accepts."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._policy.vet(host, port)
        # Dial the vetted addresses themselves, never the name again (DNS rebinding).
        error: Exception = EgressDenied(f"could not connect to {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )  # fmt: skip
            except (httpcore.ConnectError, OSError) as exc:
                error = exc
        raise error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise EgressDenied("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that never stores anything: the client is shared by every function,
    so a cookie kept for one would be sent with the others' requests. Only a `Cookie`
    header the function sets itself is sent (as with node-fetch, which has no jar)."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        pass

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass

    def set_cookie_if_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> None:
        pass


def make_client(policy: EgressPolicy) -> httpx.AsyncClient:
    """An httpx client whose every connection goes through the egress policy, and that
    keeps nothing between requests (no cookies)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
    # httpx offers no public hook for the network backend; the pool it builds is
    # replaced by an identical one that dials through the guarded backend.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_GuardedBackend(policy),
    )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        cookies=_NoCookies(),
        headers={"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING},
    )


def _trace_headers(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The header pairs a trace keeps (masked later, with the rest of the trace)."""
    return [(k[:MAX_HEADER_NAME_CHARS], v) for k, v in pairs[:MAX_TRACE_HEADERS]]


def _redirect_method(status: int, method: str) -> str:
    if status == 303 or (status in (301, 302) and method == "POST"):
        return "GET"
    return method


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (
        url.scheme,
        url.raw_host.decode("ascii").lower(),
        url.port or DEFAULT_PORTS.get(url.scheme),
    )


def _host_matches(value: str, url: httpx.URL) -> bool:
    """Whether a `Host` header set by the code names the URL's own host (and port)."""
    value = value.strip().lower()
    if ":" in url.host:  # IPv6
        names = {f"[{url.host.lower()}]"}
    else:  # the ASCII (IDNA) spelling, or the Unicode one
        names = {url.raw_host.decode("ascii").lower(), url.host.lower()}
    port = url.port or DEFAULT_PORTS.get(url.scheme)
    return value in names or value in {f"{name}:{port}" for name in names}


def _coding(response: httpx.Response, method: str) -> str | None:
    """The content coding to decode, or None to pass the body through as received."""
    if method == "HEAD" or response.status_code in (204, 304):
        return None
    codings = [c.strip().lower() for c in response.headers.get_list("content-encoding", True)]
    codings = [c for c in codings if c and c != "identity"]
    return codings[0] if len(codings) == 1 and codings[0] in DECODED_CODINGS else None


def _too_large(response: httpx.Response) -> FetchFailed:
    return FetchFailed(
        f"content size at {response.url} over limit: {MAX_RESPONSE_BYTES}", "max-size"
    )


async def _read_capped(response: httpx.Response, coding: str | None) -> bytes:
    """The body, decoded when `coding` says so, never more than MAX_RESPONSE_BYTES (raw
    or decoded). Decoding is bounded: each step produces at most DECODE_STEP bytes, and
    the event loop runs between steps, so a bomb costs at most the cap and never holds
    the loop."""
    chunks: list[bytes] = []
    size = raw_size = 0
    decoder: Any = None
    member_ended = False  # a gzip member ended: only another member may follow
    finished = False  # the compressed stream ended: what follows is ignored
    async for raw in response.aiter_raw():
        raw_size += len(raw)
        if raw_size > MAX_RESPONSE_BYTES:
            raise _too_large(response)
        if coding is None:
            chunks.append(raw)
            size = raw_size
            continue
        data = raw
        while data and not finished:
            if decoder is None:
                if member_ended and data[:2] != b"\x1f\x8b":
                    finished = True
                    break
                if coding in ("gzip", "x-gzip"):
                    wbits = 16 + zlib.MAX_WBITS
                else:  # deflate: zlib-wrapped, or raw as some servers send it
                    wbits = zlib.MAX_WBITS if data[0] & 0x0F == 0x08 else -zlib.MAX_WBITS
                decoder = zlib.decompressobj(wbits)
            try:
                while True:
                    limit = min(DECODE_STEP, MAX_RESPONSE_BYTES + 1 - size)
                    out = decoder.decompress(data, limit)
                    data = decoder.unconsumed_tail
                    size += len(out)
                    if size > MAX_RESPONSE_BYTES:
                        raise _too_large(response)
                    chunks.append(out)
                    if decoder.eof or (not data and len(out) < limit):
                        break
                    await asyncio.sleep(0)
            except zlib.error as exc:
                raise FetchFailed(
                    f"Invalid response body while trying to fetch {response.url}: {exc}",
                    "Z_DATA_ERROR",
                ) from None
            if decoder.eof:
                # Another gzip member may follow (zlib's gunzip decodes them all); any
                # other trailing data is ignored.
                data = decoder.unused_data
                decoder = None
                member_ended = True
                finished = coding in ("deflate", "x-deflate")
    return b"".join(chunks)


async def perform_fetch(
    spec: FetchSpec,
    *,
    client: httpx.AsyncClient,
    policy: EgressPolicy,
    time_left_s: float,
    secrets: tuple[str, ...] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Carry out one `fetch`. Returns (response for the function, trace)."""
    started = time.perf_counter()
    # Recorded unmasked (masked once, at the end). The headers shown are replaced by the
    # ones actually sent once the request is built.
    trace: dict[str, Any] = {
        "method": spec.method,
        "url": spec.url,
        "request_headers": _trace_headers(spec.headers),
        "request_body": spec.body,
        "status": None,
        "response_headers": [],
        "response_body": None,
        "duration_ms": 0.0,
        "error": None,
    }
    try:
        async with contextlib.AsyncExitStack() as own_clients:
            result = await _follow(spec, client, policy, time_left_s, trace, own_clients)
    except EgressDenied as exc:
        trace["error"] = f"blocked by egress policy: {exc}"
        result = {"error": trace["error"], "code": "EEGRESS"}
    except FetchFailed as exc:
        trace["error"] = str(exc)
        result = {"error": str(exc), "code": exc.code}
    except httpx.TimeoutException:
        trace["error"] = "request timed out"
        result = {"error": "network timeout", "code": "ETIMEDOUT"}
    except (httpx.HTTPError, OSError, ValueError) as exc:
        trace["error"] = f"{type(exc).__name__}: {exc}"
        result = {"error": trace["error"], "code": "ECONNREFUSED"}
    trace["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return result, await masked_trace(trace, secrets)


async def _client_for(
    target: httpx.URL,
    shared: httpx.AsyncClient,
    policy: EgressPolicy,
    own_clients: contextlib.AsyncExitStack,
) -> httpx.AsyncClient:
    """The shared client, or for a URL allowed exactly (FUNCTIONS_EGRESS_ALLOWED_URLS) a
    client of its own, closed after this fetch: a pooled connection to its private host
    must never carry a request for another URL of that host."""
    exemption = policy.exemption_for(target.scheme, target.host, target.port, target.path)
    if exemption is None:
        return shared
    return await own_clients.enter_async_context(make_client(exemption))


async def _follow(
    spec: FetchSpec,
    client: httpx.AsyncClient,
    policy: EgressPolicy,
    time_left_s: float,
    trace: dict[str, Any],
    own_clients: contextlib.AsyncExitStack,
) -> dict[str, Any]:
    method, url, body = spec.method, spec.url, spec.body
    deadline = time.monotonic() + time_left_s
    if spec.timeout_ms:
        deadline = min(deadline, time.monotonic() + spec.timeout_ms / 1000)
    target = httpx.URL(url)
    # A Host header must name the URL's own host: another one would reach a virtual
    # host the URL does not name (and survive redirects). httpx writes the right one.
    for name, value in spec.headers:
        if name.lower() == "host" and not _host_matches(value, target):
            raise FetchFailed(
                f"the Host header ({value[:200]}) does not match the URL's host", "EINVAL"
            )
    # Values are sent as Latin-1, as Node's http does (httpx would refuse non-ASCII);
    # a character beyond Latin-1 is refused, as node-fetch refuses it.
    headers: list[tuple[str, bytes]] = []
    for name, value in spec.headers:
        if name.lower() == "host":
            continue
        try:
            headers.append((name, value.encode("latin-1")))
        except UnicodeEncodeError:
            raise FetchFailed(
                f'Invalid character in header content ["{name}"]', "ERR_INVALID_CHAR"
            ) from None
    for hop in range(spec.follow + 1):
        target = httpx.URL(url)
        policy.check_scheme(target.scheme)
        hop_client = await _client_for(target, client, policy, own_clients)
        remaining = max(0.001, deadline - time.monotonic())
        timeout = httpx.Timeout(remaining, connect=min(remaining, CONNECT_TIMEOUT_S))
        request = hop_client.build_request(
            method,
            target,
            headers=headers,  # type: ignore[arg-type]  # httpx takes str names, bytes values
            content=body,
            timeout=timeout,
        )
        if hop == 0:
            trace["request_headers"] = _trace_headers(
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
            )
        response = await hop_client.send(request, stream=True)
        try:
            location = response.headers.get("location")
            if response.status_code in (301, 302, 303, 307, 308) and location is not None:
                if spec.redirect == "error":
                    raise FetchFailed(
                        f"uri requested responds with a redirect, redirect mode is set to error: "
                        f"{url}",
                        "no-redirect",
                    )
                if spec.redirect == "follow":
                    if hop == spec.follow:
                        raise FetchFailed(f"maximum redirect reached at: {url}", "max-redirect")
                    trace.setdefault("redirects", []).append(url)
                    new_method = _redirect_method(response.status_code, method)
                    if new_method != method:
                        body = None
                        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
                    next_url = target.join(location)
                    if _origin(next_url) != _origin(target):
                        # Another scheme, host or port: the credentials stay behind.
                        headers = [
                            (k, v) for k, v in headers if k.lower() not in CROSS_ORIGIN_DROPPED
                        ]
                    method, url = new_method, str(next_url)
                    continue
                # redirect: 'manual' -- node-fetch v2 makes the Location absolute.
                try:
                    location = str(target.join(location))
                except Exception:
                    location = None
            else:
                location = None
            content = await _read_capped(response, _coding(response, method))
        finally:
            await response.aclose()
        return _response(response, url, content, hop > 0, trace, location)
    raise FetchFailed(f"maximum redirect reached at: {url}", "max-redirect")


def _response(
    response: httpx.Response,
    url: str,
    content: bytes,
    redirected: bool,
    trace: dict[str, Any],
    location: str | None = None,
) -> dict[str, Any]:
    pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
    # The function sees names in lower case, as node-fetch v2 does (Node's http
    # lower-cases them): `res.headers.raw()['set-cookie']`.
    seen = [
        [k.lower(), location if location is not None and k.lower() == "location" else v]
        for k, v in pairs
    ]
    trace["status"] = response.status_code
    trace["response_headers"] = _trace_headers(pairs)
    trace["response_body"] = content
    if redirected:
        trace["final_url"] = url
    return {
        "status": response.status_code,
        "statusText": response.reason_phrase,
        "headers": seen,
        "url": url,
        "redirected": redirected,
        "body": base64.b64encode(content).decode("ascii"),
    }
