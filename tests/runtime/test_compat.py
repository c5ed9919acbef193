"""node-fetch v2 / Node compatibility details that functions written for Segment rely on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
import pytest_asyncio

from runtime.pool import WorkerPool
from tests.runtime.conftest import loopback_server, make_pool, run

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
        status = 200
        if self.path.startswith("/cookie"):
            headers += [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
        elif self.path.startswith("/redir"):
            status = 302
            headers.append(("Location", "/target?x=1"))
        body = json.dumps(
            {k: v.encode("latin-1").decode("utf-8", "replace") for k, v in self.headers.items()}
        ).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with loopback_server(Handler) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    p = make_pool(workers=1, allow=["127.0.0.1"])
    yield p
    await p.shutdown()


async def test_response_header_names_are_lower_case_in_raw(pool, server):
    code = """async function onTrack(e, s) {
      const raw = (await fetch(s.u + '/cookie')).headers.raw();
      return [raw['set-cookie'], Object.keys(raw).every((k) => k === k.toLowerCase())];
    }"""
    r = await run(pool, code, settings={"u": server})
    assert r.result == [["a=1", "b=2"], True], r.error


async def test_latin1_header_values_are_sent_as_latin1(pool, server):
    code = """async function onTrack(e, s) {
      const sent = await (await fetch(s.u + '/h', { headers: { 'X-Name': 'Jos\u00e9' } })).json();
      let wide;
      try { await fetch(s.u + '/h', { headers: { 'X-Name': '\u20ac' } }); }
      catch (err) { wide = err.name; }
      return [sent['X-Name'], wide];
    }"""
    r = await run(pool, code, settings={"u": server})
    # The server decodes the value it received as UTF-8 with replacement: one byte é.
    assert r.result == ["Jos\ufffd", "FetchError"], r.error


async def test_manual_redirect_gives_an_absolute_location(pool, server):
    code = """async function onTrack(e, s) {
      const r = await fetch(s.u + '/redir', { redirect: 'manual' });
      return [r.status, r.headers.get('location')];
    }"""
    r = await run(pool, code, settings={"u": server})
    assert r.result == [302, server + "/target?x=1"], r.error


async def test_timers_return_node_like_handles(pool):
    code = """async function onTrack() {
      const h = setTimeout(() => {}, 1000);
      const out = [typeof h.ref, h.unref() === h, h.hasRef(), typeof +h, h instanceof Object];
      clearTimeout(h);
      let fired = false;
      const n = +setTimeout(() => { fired = true; }, 1);
      clearTimeout(n);
      const i = setInterval(() => {}, 5);
      clearInterval(i);
      await new Promise((r) => setTimeout(r, 20));
      out.push(fired);
      return out;
    }"""
    r = await run(pool, code)
    assert r.result == ["function", True, True, "number", True, False], r.error


async def test_stacks_show_only_the_functions_code_and_libraries(pool):
    code = """function inner() { return new Error('x').stack }
    async function onTrack() {
      const plain = inner();
      await new Promise((r) => setTimeout(r, 1));
      const later = new Error('y').stack;
      const saved = Error.prepareStackTrace;
      Error.prepareStackTrace = (err, frames) => frames.map((f) => String(f.getFileName()));
      const files = new Error('z').stack;
      Error.prepareStackTrace = saved;
      return [plain, later, files, saved === Error.prepareStackTrace, new Error('w').stack];
    }"""
    r = await run(pool, code)
    plain, later, files, restored, after = r.result
    for stack in (plain, later, after):
        assert "handler.js" in stack
        for host in ("worker.js", "runGroup", "runtime:", "node:", "/", "dispatch"):
            assert host not in stack.replace("handler.js", ""), stack
    assert plain.startswith("Error: x\n    at inner (handler.js:1:")
    assert files == ["handler.js"] and restored
