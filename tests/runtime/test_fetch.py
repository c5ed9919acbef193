"""fetch from functions: node-fetch v2 semantics, traces, egress refusals, limits.

A real HTTP server runs on 127.0.0.1; the pool used for it allowlists that address
(as FUNCTIONS_EGRESS_ALLOWLIST would). Refusals use a pool with no allowlist.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import httpcore
import pytest
import pytest_asyncio

from runtime.pool import WorkerPool
from tests.runtime.conftest import loopback_server, make_pool, run

pytestmark = pytest.mark.asyncio(loop_scope="module")

BIG = 6 * 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {"Content-Type": "application/json"}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/echo":
            data = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            self._send(
                200,
                json.dumps(data).encode(),
                {"Content-Type": "application/json", "X-Reply": "yes", "Set-Cookie": "s=1"},
            )
        elif url.path == "/status":
            self._send(int(query["code"]), b'{"error":"nope"}')
        elif url.path == "/redirect":
            self._send(int(query.get("code", 302)), b"", {"Location": query["to"]})
        elif url.path == "/big":
            self._send(200, b"x" * BIG, {"Content-Type": "text/plain"})
        elif url.path == "/text":
            self._send(200, "héllo wörld".encode(), {"Content-Type": "text/plain"})
        elif url.path == "/slow":
            time.sleep(float(query.get("s", 1)))
            self._send(200, b"{}")
        else:
            self._send(404, b"{}")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _route


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with loopback_server(Handler) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def allowed() -> AsyncIterator[WorkerPool]:
    """A pool whose egress allowlist holds 127.0.0.1 (and the name localhost)."""
    p = make_pool(allow=["127.0.0.1"])
    yield p
    await p.shutdown()


async def test_get_json_with_node_fetch_semantics(allowed, server):
    code = f"""async function onTrack(event) {{
      const res = await fetch('{server}/echo?x=1', {{headers: {{'X-Custom': 'a'}}}});
      const body = await res.json();
      return {{ok: res.ok, status: res.status, statusText: res.statusText,
               reply: res.headers.get('x-reply'), method: body.method,
               custom: body.headers['x-custom'], ua: body.headers['user-agent'],
               url: res.url, type: typeof res.headers.raw}};
    }}"""
    r = await run(allowed, code)
    assert r.outcome == "success", r.error
    assert r.result == {
        "ok": True, "status": 200, "statusText": "OK", "reply": "yes", "method": "GET",
        "custom": "a", "ua": "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "url": f"{server}/echo?x=1", "type": "function",
    }  # fmt: skip


async def test_post_bodies_and_content_types(allowed, server):
    code = f"""async function onTrack(event) {{
      const out = [];
      for (const body of [JSON.stringify({{a: 1}}), new URLSearchParams({{q: 'a b', n: '1'}})]) {{
        const res = await fetch('{server}/echo', {{method: 'POST', body}});
        const echo = await res.json();
        out.push([echo.method, echo.headers['content-type'], echo.body]);
      }}
      const r = new Request('{server}/echo', {{method: 'put', body: 'x',
                                               headers: new Headers({{'Content-Type': 'a/b'}})}});
      const echo = await (await fetch(r)).json();
      out.push([echo.method, echo.headers['content-type'], echo.body]);
      return out;
    }}"""
    r = await run(allowed, code)
    assert r.result == [
        ["POST", "text/plain;charset=UTF-8", '{"a":1}'],
        ["POST", "application/x-www-form-urlencoded;charset=UTF-8", "q=a+b&n=1"],
        ["PUT", "a/b", "x"],
    ]


async def test_error_statuses_resolve_with_ok_false(allowed, server):
    code = f"""async function onTrack() {{
      const res = await fetch('{server}/status?code=503');
      if (!res.ok) throw new RetryError('upstream ' + res.status + ' ' + await res.text());
    }}"""
    r = await run(allowed, code)
    assert (r.outcome, r.error.message) == ("retry", 'upstream 503 {"error":"nope"}')


async def test_text_decodes_utf8_and_body_can_be_read_once(allowed, server):
    code = f"""async function onTrack() {{
      const res = await fetch('{server}/text');
      const clone = res.clone();
      const text = await res.text();
      let second;
      try {{ await res.text() }} catch (e) {{ second = e instanceof TypeError }}
      const buf = await clone.arrayBuffer();
      return [text, second, buf.byteLength, res.bodyUsed];
    }}"""
    r = await run(allowed, code)
    assert r.result == ["héllo wörld", True, 13, True]


async def test_every_request_is_traced_with_secrets_masked(allowed, server):
    secret = "sk_live_0123456789abcdef"
    code = f"""async function onTrack(event, settings) {{
      await fetch('{server}/echo?key=' + settings.apiKey, {{method: 'POST',
        headers: {{Authorization: 'Bearer ' + settings.apiKey, 'X-Note': 'k=' + settings.apiKey}},
        body: JSON.stringify({{token: settings.apiKey, n: 1}})}});
      await fetch('{server}/status?code=404');
    }}"""
    seen: list[dict] = []
    r = await run(allowed, code, settings={"apiKey": secret}, on_event=seen.append)
    assert r.outcome == "success"
    assert secret not in json.dumps(r.to_dict()) and secret not in json.dumps(seen)
    first, second = r.requests
    assert first["method"] == "POST" and first["status"] == 200
    assert first["url"] == f"{server}/echo?key=••••••"
    assert first["request_headers"]["Authorization"] == "Bearer ••••••"
    assert first["request_headers"]["X-Note"] == "k=••••••"
    assert first["request_body"] == '{"token":"••••••","n":1}'
    assert first["response_headers"]["X-Reply"] == "yes"
    assert first["response_headers"]["Set-Cookie"] == "••••••"
    assert '"method": "POST"' in first["response_body"]
    assert first["duration_ms"] > 0 and first["error"] is None
    assert second["status"] == 404
    assert [e["type"] for e in seen] == ["request", "request"]


async def test_large_response_bodies_are_refused_and_traces_truncated(allowed, server):
    code = f"""async function onTrack() {{
      try {{ await fetch('{server}/big') }} catch (e) {{ return [e.name, e.message] }}
    }}"""
    r = await run(allowed, code)
    assert r.result[0] == "FetchError" and "over limit" in r.result[1]
    assert "over limit" in r.requests[0]["error"]


async def test_redirects_are_followed_and_modes_respected(allowed, server):
    target = f"{server}/echo"
    code = f"""async function onTrack() {{
      const followed = await fetch('{server}/redirect?code=303&to=/echo', {{method: 'POST',
                                                                           body: 'x'}});
      const manual = await fetch('{server}/redirect?to={target}', {{redirect: 'manual'}});
      let error;
      try {{ await fetch('{server}/redirect?to={target}', {{redirect: 'error'}}) }}
      catch (e) {{ error = e.message }}
      return [followed.status, followed.redirected, (await followed.json()).method,
              manual.status, manual.headers.get('location'), error];
    }}"""
    r = await run(allowed, code)
    assert r.result[:5] == [200, True, "GET", 302, target]
    assert "redirect mode is set to error" in r.result[5]


async def test_many_concurrent_requests(allowed, server):
    code = f"""async function onTrack() {{
      const all = await Promise.all(Array.from({{length: 40}}, (_, i) =>
        fetch('{server}/echo?i=' + i).then(r => r.json())));
      return all.map(x => x.path);
    }}"""
    r = await run(allowed, code)
    assert r.result == [f"/echo?i={i}" for i in range(40)]
    assert len(r.requests) == 40


async def test_a_request_slower_than_the_time_limit_times_out(allowed, server):
    code = f"async function onTrack() {{ await fetch('{server}/slow?s=2') }}"
    r = await run(allowed, code, timeout_ms=300)
    assert r.outcome == "timeout" and r.duration_ms < 1500


async def test_network_errors_reject_with_fetch_error(allowed):
    code = """async function onTrack() {
      try { await fetch('http://127.0.0.1:9/') } catch (e) { return [e.name, e.code, e.type] }
    }"""
    r = await run(allowed, code)
    assert r.result[0] == "FetchError" and r.result[2] == "system"
    assert r.requests[0]["error"]


# ----------------------------------------------------------------- refusals
REFUSED = [
    "http://127.0.0.1:{port}/echo",
    "http://localhost:{port}/echo",
    "http://2130706433:{port}/echo",
    "http://0x7f000001:{port}/echo",
    "http://0177.0.0.1:{port}/echo",
    "http://127.1:{port}/echo",
    "http://[::1]:{port}/echo",
    "http://[::ffff:127.0.0.1]:{port}/echo",
    "http://0.0.0.0:{port}/echo",
]


@pytest.mark.parametrize("template", REFUSED)
async def test_loopback_in_any_spelling_is_refused(pool, server, template):
    url = template.format(port=server.rsplit(":", 1)[1])
    code = f"""async function onTrack() {{
      try {{ await fetch('{url}'); return 'reached' }} catch (e) {{ return e.message }}
    }}"""
    r = await run(pool, code)
    assert "egress policy" in r.result, r.result
    assert r.requests[0]["status"] is None and "egress policy" in r.requests[0]["error"]


@pytest.fixture
def no_dialling(monkeypatch):
    """Fail the test (instead of sending anything) if a connection is attempted."""

    async def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", refuse)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.0.1:8080/",
        "http://[fd00::1]/",
        "http://100.64.0.1/",
    ],
)
async def test_metadata_and_private_ranges_are_refused_without_dialling(pool, no_dialling, url):
    code = f"""async function onTrack() {{
      try {{ await fetch('{url}'); return 'reached' }} catch (e) {{ return e.message }}
    }}"""
    r = await run(pool, code)
    assert "egress policy" in r.result


async def test_names_resolving_to_private_addresses_are_refused(pool, no_dialling, monkeypatch):
    from runtime import egress

    async def resolve(host: str, port: int) -> list[str]:
        return ["10.9.8.7"]

    monkeypatch.setattr(egress, "resolve_host", resolve)
    code = """async function onTrack() {
      try { await fetch('https://internal.example.com/'); return 'reached' }
      catch (e) { return e.message }
    }"""
    r = await run(pool, code)
    assert "resolves to 10.9.8.7" in r.result


async def test_redirects_into_private_addresses_are_refused(server):
    # Only the *name* localhost is allowed: a redirect to the 127.0.0.1 literal is refused.
    port = server.rsplit(":", 1)[1]
    p = make_pool(allow=["localhost"], workers=1)
    try:
        code = f"""async function onTrack() {{
          const ok = await fetch('http://localhost:{port}/echo');
          try {{ await fetch('http://localhost:{port}/redirect?to=http://127.0.0.1:{port}/echo') }}
          catch (e) {{ return [ok.status, e.message] }}
        }}"""
        r = await run(p, code)
        assert r.result[0] == 200
        assert "egress policy" in r.result[1] and "127.0.0.1" in r.result[1]
        assert r.requests[1]["redirects"] == [
            f"http://localhost:{port}/redirect?to=http://127.0.0.1:{port}/echo"
        ]
    finally:
        await p.shutdown()


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "data:text/plain,hi", "gopher://x/"]
)
async def test_other_schemes_are_refused(pool, no_dialling, url):
    code = f"""async function onTrack() {{
      try {{ await fetch('{url}'); return 'reached' }} catch (e) {{ return e.message }}
    }}"""
    r = await run(pool, code)
    assert "only http and https" in r.result


async def test_an_exactly_allowed_url_is_reached_and_nothing_else_of_its_host(server):
    # FUNCTIONS_EGRESS_ALLOWED_URLS (the demo's echo endpoint): that URL, no other path
    # or port of the loopback host -- not even over the connection the allowed one used.
    from runtime.config import PoolConfig
    from runtime.egress import EgressPolicy

    port = int(server.rsplit(":", 1)[1])
    policy = EgressPolicy.from_allowlist([], urls=[f"{server}/echo"])
    p = WorkerPool(PoolConfig(workers=1, egress=policy))
    targets = [
        f"{server}/echo?again=1",
        f"{server}/status?code=200",
        f"{server}/redirect?to={server}/status%3Fcode%3D200",
        f"http://127.0.0.1:{port + 1}/echo",
        f"http://localhost:{port}/echo",
    ]
    try:
        code = f"""async function onTrack() {{
          const ok = await fetch('{server}/echo', {{ method: 'POST', body: 'hi' }});
          const out = [ok.status, (await ok.json()).body];
          for (const url of {json.dumps(targets)}) {{
            try {{ out.push((await fetch(url)).status) }} catch (e) {{ out.push(e.message) }}
          }}
          return out;
        }}"""
        r = await run(p, code)
        assert r.result[:3] == [200, "hi", 200]
        assert all("egress policy" in message for message in r.result[3:]), r.result
    finally:
        await p.shutdown()
