"""fetch hardening: nothing shared between functions (cookies), no credentials to other
origins on redirects, a `Host` that names the URL's host, bounded body decoding.

Two real HTTP servers run on 127.0.0.1 (two ports: two origins; `localhost` on the
same port is a third).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import pytest_asyncio

from runtime import fetch
from runtime.pool import WorkerPool
from tests.runtime.conftest import loopback_server, make_pool, run

pytestmark = pytest.mark.asyncio(loop_scope="module")

ZEROS = 20 * 1024 * 1024  # decoded size of the bombs: well over the 5 MB cap
BOMB = gzip.compress(b"\0" * ZEROS, 6)
DOUBLE_BOMB = gzip.compress(BOMB, 6)
PAYLOAD = json.dumps({"hello": "wörld", "n": list(range(50))}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/setcookie":
            self._send(200, b"ok", [("Set-Cookie", f"session={q['v']}; Path=/")])
        elif url.path == "/echo":
            seen = {k.lower(): v for k, v in self.headers.items()}
            self._send(200, json.dumps(seen).encode(), [("Content-Type", "application/json")])
        elif url.path == "/redirect":
            self._send(int(q.get("code", 302)), b"", [("Location", q["to"])])
        elif url.path == "/encoded":
            kind = q["kind"]
            body = {
                "gzip": gzip.compress(PAYLOAD),
                "deflate": zlib.compress(PAYLOAD),
                "rawdeflate": zlib.compress(PAYLOAD, wbits=-15),
                "members": gzip.compress(PAYLOAD[:20]) + gzip.compress(PAYLOAD[20:]),
                "bomb": BOMB,
                "double": DOUBLE_BOMB,
                "invalid": b"this is not gzip at all",
                "br": b"\x8b\x02\x80hello\x03",
            }[kind]
            coding = {"rawdeflate": "deflate", "members": "x-gzip", "bomb": "gzip",
                      "double": "gzip, gzip", "invalid": "gzip"}.get(kind, kind)  # fmt: skip
            self._send(200, body, [("Content-Encoding", coding)])
        else:
            self._send(404, b"{}")


@pytest.fixture(scope="module")
def ports() -> Iterator[tuple[int, int]]:
    with loopback_server(Handler) as one, loopback_server(Handler) as two:
        yield int(one.rsplit(":", 1)[1]), int(two.rsplit(":", 1)[1])


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def allowed() -> AsyncIterator[WorkerPool]:
    p = make_pool(allow=["127.0.0.1", "localhost"])
    yield p
    await p.shutdown()


# ----------------------------------------------------------------- cookies
async def test_a_cookie_received_by_one_function_is_never_sent_by_another(allowed, ports):
    port = ports[0]
    victim = f"""async function onTrack(event, settings) {{
      await fetch('http://127.0.0.1:{port}/setcookie?v=' + settings.session);
      return (await (await fetch('http://127.0.0.1:{port}/echo')).json()).cookie || null;
    }}"""
    other = f"""async function onTrack() {{
      const plain = await (await fetch('http://127.0.0.1:{port}/echo')).json();
      const own = await (await fetch('http://127.0.0.1:{port}/echo',
                                     {{headers: {{Cookie: 'mine=1'}}}})).json();
      return [plain.cookie || null, own.cookie];
    }}"""
    v = await run(allowed, victim, settings={"session": "VICTIM_SESSION_TOKEN"},
                  function_id="fn_cookie_victim")  # fmt: skip
    # node-fetch has no cookie jar: not even the same function sends it back.
    assert (v.outcome, v.result) == ("success", None), v.error
    o = await run(allowed, other, function_id="fn_cookie_other")
    assert o.result == [None, "mine=1"]
    assert "VICTIM_SESSION_TOKEN" not in json.dumps(o.to_dict())
    # The trace shows the headers actually sent, the client's own included.
    sent = o.requests[0]["request_headers"]
    assert sent["Host"] == f"127.0.0.1:{port}" and sent["User-Agent"] == fetch.USER_AGENT
    assert sent["Accept-Encoding"] == "gzip,deflate"
    assert not any(k.lower() == "cookie" for k in sent)
    assert o.requests[1]["request_headers"]["Cookie"] == "••••••"
    assert len(allowed.http_client().cookies.jar) == 0


# ----------------------------------------------------------------- redirects
CREDENTIALS = """{Authorization: 'Bearer sk_live_SECRET', Cookie: 'sid=sk_live_SECRET',
  'X-Api-Key': 'sk_live_SECRET', 'Proxy-Authorization': 'Basic eA==',
  'WWW-Authenticate': 'Basic', 'X-Custom': 'kept'}"""


@pytest.mark.parametrize("other", ["127.0.0.1:{port2}", "localhost:{port1}"])
async def test_credentials_are_dropped_when_a_redirect_changes_origin(allowed, ports, other):
    port1, port2 = ports
    to = f"http://{other.format(port1=port1, port2=port2)}/echo"
    code = f"""async function onTrack() {{
      const r = await fetch('http://127.0.0.1:{port1}/redirect?to=' + encodeURIComponent('{to}'),
                            {{headers: {CREDENTIALS}}});
      return [r.url, await r.json()];
    }}"""
    r = await run(allowed, code)
    url, seen = r.result
    assert url == to
    for name in ("authorization", "cookie", "x-api-key", "proxy-authorization",
                 "www-authenticate"):  # fmt: skip
        assert name not in seen, name
    assert seen["x-custom"] == "kept" and seen["host"] == to.split("/")[2]


async def test_credentials_are_kept_on_same_origin_redirects(allowed, ports):
    port = ports[0]
    code = f"""async function onTrack() {{
      const r = await fetch('http://127.0.0.1:{port}/redirect?code=307&to=/echo',
                            {{headers: {CREDENTIALS}}});
      return await r.json();
    }}"""
    r = await run(allowed, code)
    assert r.result["authorization"] == "Bearer sk_live_SECRET"
    assert r.result["x-api-key"] == "sk_live_SECRET" and r.result["cookie"] == "sid=sk_live_SECRET"


async def test_a_change_of_scheme_or_port_is_a_change_of_origin():
    origin = fetch._origin
    assert origin(httpx.URL("https://a.example/x")) == origin(httpx.URL("https://A.example:443/y"))
    assert origin(httpx.URL("https://a.example/")) != origin(httpx.URL("http://a.example/"))
    assert origin(httpx.URL("http://a.example/")) != origin(httpx.URL("http://a.example:8080/"))
    assert origin(httpx.URL("http://a.example/")) != origin(httpx.URL("http://b.a.example/"))


# ----------------------------------------------------------------- Host
async def test_a_host_header_naming_another_host_is_refused(allowed, ports):
    port1, port2 = ports
    code = f"""async function onTrack() {{
      const out = [];
      try {{ await fetch('http://127.0.0.1:{port1}/echo',
                         {{headers: {{Host: 'internal-admin.example'}}}}); out.push('sent') }}
      catch (e) {{ out.push(e.message) }}
      out.push((await (await fetch('http://127.0.0.1:{port1}/echo',
                                   {{headers: {{Host: '127.0.0.1:{port1}'}}}})).json()).host);
      // A matching Host does not follow a redirect to another origin.
      const to = encodeURIComponent('http://127.0.0.1:{port2}/echo');
      out.push((await (await fetch('http://127.0.0.1:{port1}/redirect?to=' + to,
                                   {{headers: {{host: '127.0.0.1:{port1}'}}}})).json()).host);
      return out;
    }}"""
    r = await run(allowed, code)
    assert "does not match the URL's host" in r.result[0]
    assert r.result[1:] == [f"127.0.0.1:{port1}", f"127.0.0.1:{port2}"]
    assert "does not match" in r.requests[0]["error"] and r.requests[0]["status"] is None


async def test_host_header_matching():
    url = httpx.URL("http://Example.com/x")
    assert fetch._host_matches("example.com", url) and fetch._host_matches("EXAMPLE.COM:80", url)
    assert not fetch._host_matches("example.com:8080", url)
    assert not fetch._host_matches("other.example", url)
    assert fetch._host_matches("[::1]:8080", httpx.URL("http://[::1]:8080/"))
    assert fetch._host_matches("bücher.example", httpx.URL("https://bücher.example/"))
    assert fetch._host_matches("xn--bcher-kva.example", httpx.URL("https://bücher.example/"))


# ----------------------------------------------------------------- decoding
async def test_single_codings_are_decoded(allowed, ports):
    port = ports[0]
    code = f"""async function onTrack() {{
      const out = {{}};
      for (const kind of ['gzip', 'deflate', 'rawdeflate', 'members']) {{
        const r = await fetch('http://127.0.0.1:{port}/encoded?kind=' + kind);
        out[kind] = [r.headers.get('content-encoding'), await r.json()];
      }}
      return out;
    }}"""
    r = await run(allowed, code)
    assert r.outcome == "success", r.error
    payload = json.loads(PAYLOAD)
    assert r.result == {
        "gzip": ["gzip", payload],
        "deflate": ["deflate", payload],
        "rawdeflate": ["deflate", payload],
        "members": ["x-gzip", payload],
    }


async def test_stacked_and_unknown_codings_are_passed_through_undecoded(allowed, ports):
    # As node-fetch v2: only a single gzip/deflate coding is decoded.
    port = ports[0]
    code = f"""async function onTrack() {{
      const out = [];
      for (const kind of ['double', 'br']) {{
        const r = await fetch('http://127.0.0.1:{port}/encoded?kind=' + kind);
        out.push([r.status, (await r.arrayBuffer()).byteLength]);
      }}
      return out;
    }}"""
    r = await run(allowed, code)
    assert r.result == [[200, len(DOUBLE_BOMB)], [200, 9]]


async def test_a_decompression_bomb_stops_at_the_cap_without_holding_the_loop(allowed, ports):
    port = ports[0]
    lags: list[float] = []
    stop = False

    async def ticker() -> None:
        while not stop:
            t = time.perf_counter()
            await asyncio.sleep(0)
            lags.append(time.perf_counter() - t)

    task = asyncio.create_task(ticker())
    code = f"""async function onTrack() {{
      const out = [];
      await Promise.all(Array.from({{length: 4}}, () =>
        fetch('http://127.0.0.1:{port}/encoded?kind=bomb').then(
          r => out.push('got ' + r.status), e => out.push(e.code + ' ' + e.message))));
      try {{ await fetch('http://127.0.0.1:{port}/encoded?kind=invalid') }}
      catch (e) {{ out.push(e.code + ' ' + e.message) }}
      return out;
    }}"""
    try:
        r = await run(allowed, code, timeout_ms=10_000)
    finally:
        stop = True
        await task
    assert r.outcome == "success", r.error
    assert all(x.startswith("max-size") and "over limit" in x for x in r.result[:4]), r.result
    assert r.result[4].startswith("Z_DATA_ERROR") and "Invalid response body" in r.result[4]
    # Decoding happens in steps of DECODE_STEP bytes between which the loop runs.
    assert max(lags) < 0.2, max(lags)


class _Raw:
    """A streamed response as _read_capped sees it: raw chunks, not decoded."""

    def __init__(self, body: bytes, chunk: int = 65536) -> None:
        self.url = "http://example.test/bomb"
        self._chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        for c in self._chunks:
            yield c


async def test_the_decoder_never_produces_more_than_the_cap(monkeypatch):
    outputs: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *args: object) -> None:
            self._d = real(*args)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self._d.decompress(data, max_length)
            outputs.append(len(out))
            return out

        def __getattr__(self, name: str) -> object:
            return getattr(self._d, name)

    monkeypatch.setattr(fetch.zlib, "decompressobj", Counting)
    with pytest.raises(fetch.FetchFailed) as caught:
        await fetch._read_capped(_Raw(BOMB), "gzip")
    assert caught.value.code == "max-size"
    assert max(outputs) <= fetch.DECODE_STEP
    assert sum(outputs) <= fetch.MAX_RESPONSE_BYTES + 1
    outputs.clear()
    # Under the cap, a body split anywhere decodes whole.
    body = b"".join(gzip.compress(bytes([i]) * 300_000) for i in range(3))
    assert await fetch._read_capped(_Raw(body, 1000), "gzip") == b"".join(
        bytes([i]) * 300_000 for i in range(3)
    )


# ----------------------------------------------------------------- fetch slots
async def test_one_function_cannot_take_every_pool_fetch_slot():
    from runtime import pool as pool_module

    tarpitted = 0
    most = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal tarpitted, most
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"GET /fast"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            writer.close()
            return
        tarpitted += 1
        most = max(most, tarpitted)
        try:
            await asyncio.sleep(30)
        finally:
            tarpitted -= 1
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    p = make_pool(workers=1, allow=["127.0.0.1"])
    hog = f"""async function onTrack() {{
      await Promise.all(Array.from({{length: 8}}, (_, i) =>
        fetch('http://127.0.0.1:{port}/slow' + i).catch(() => 0)));
    }}"""
    victim = f"""async function onTrack() {{
      const t = Date.now(); const r = await fetch('http://127.0.0.1:{port}/fast');
      return [await r.text(), Date.now() - t];
    }}"""
    try:
        # 8 calls x 8 fetches would fill the pool's 64 slots with a per-call limit only.
        hogs = [
            asyncio.ensure_future(run(p, hog, function_id="fn_hog", timeout_ms=1500))
            for _ in range(8)
        ]
        await asyncio.sleep(0.5)
        assert most == pool_module.MAX_FETCHES_IN_FLIGHT_PER_FUNCTION == 16
        r = await run(p, victim, function_id="fn_slot_victim", timeout_ms=3000)
        assert r.outcome == "success" and r.result[0] == "ok", r.error
        assert r.result[1] < 500
        # Waiting for a slot ends with the call: every hog times out, nothing is held.
        assert {h.outcome for h in await asyncio.gather(*hogs)} == {"timeout"}
        await asyncio.sleep(0.05)
        assert p.fetch_slots.idle
    finally:
        await p.shutdown()
        server.close()


# ----------------------------------------------------------------- trace masking
async def test_a_trace_is_masked_alike_with_few_secrets_and_with_many(allowed, ports):
    """Few secrets are masked on the event loop, many on the masking thread, by the
    automaton: the traces are the same, redirects, echoed headers and bodies included."""
    port = ports[0]
    code = f"""async function onTrack(event, settings) {{
      const to = encodeURIComponent('http://127.0.0.1:{port}/echo?k=' + settings.apiKey);
      const res = await fetch('http://127.0.0.1:{port}/redirect?to=' + to, {{
        headers: {{'X-Note': 'key ' + settings.apiKey + ' and ' + settings.other}}}});
      return (await res.json())['x-note'];
    }}"""
    secrets = {"apiKey": "sk_live_overlapping_key", "other": "overlapping_key_and_more"}
    few = await run(allowed, code, settings=secrets, function_id="fn_mask_few")
    filler = {"list": [f"unrelated-value-{i}" for i in range(200)]}
    many = await run(allowed, code, settings={**secrets, **filler}, function_id="fn_mask_many")
    assert few.outcome == many.outcome == "success", (few.error, many.error)
    assert few.result == many.result == "key sk_live_overlapping_key and overlapping_key_and_more"

    def shown(trace: dict) -> dict:
        # Less what differs between two requests anyway: the time taken, and the Date
        # header when the two answers fall in different seconds.
        headers = {k: v for k, v in trace["response_headers"].items() if k.lower() != "date"}
        kept = {k: v for k, v in trace.items() if k != "duration_ms"}
        return {**kept, "response_headers": headers}

    assert shown(few.requests[0]) == shown(many.requests[0])
    trace = few.requests[0]
    assert trace["request_headers"]["X-Note"] == "key •••••• and ••••••"
    # (the secret needs no escaping in the query: it is found, and masked, there too)
    to = f"http%3A%2F%2F127.0.0.1%3A{port}%2Fecho%3Fk%3D••••••"
    assert trace["redirects"] == [f"http://127.0.0.1:{port}/redirect?to={to}"]
    assert trace["final_url"] == f"http://127.0.0.1:{port}/echo?k=••••••"
    assert "sk_live_overlapping_key" not in trace["response_body"]
