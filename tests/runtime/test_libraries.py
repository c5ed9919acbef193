# ruff: noqa: E501 -- the long lines are JavaScript snippets under test
"""Segment's library globals under Segment's own names: uuidv5.uuidv5, zlib.zlib,
https, winstonlib.winston. Each runs a function written the way Segment's
documentation shows it, through the real Node runtime."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
import zlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from runtime.pool import WorkerPool
from tests.runtime.conftest import make_pool, run

pytestmark = pytest.mark.asyncio(loop_scope="module")

ZLIB_MAX = 8 * 1024 * 1024  # shims/zlib.js, MAX_BYTES


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    p = make_pool(workers=1, allow=["127.0.0.1"])
    yield p
    await p.shutdown()


async def value(pool: WorkerPool, body: str, **kwargs):
    r = await run(pool, f"async function onTrack(event, settings) {{ {body} }}", **kwargs)
    assert r.outcome == "success", r.error
    return r.result


# ---------------------------------------------------------------- uuidv5


async def test_uuidv5_is_both_the_function_and_its_uuidv5_property(pool):
    ns = "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
    result = await value(
        pool,
        f"""return [uuidv5.uuidv5('https://example.com/u/1', '{ns}'), uuidv5('https://example.com/u/1', '{ns}'),
                   uuidv5.uuidv5 === uuidv5, uuidv5.uuidv5('x', uuidv5.URL)]""",
    )
    expected = str(uuid.uuid5(uuid.UUID(ns), "https://example.com/u/1"))
    assert result == [expected, expected, True, str(uuid.uuid5(uuid.NAMESPACE_URL, "x"))]


# ---------------------------------------------------------------- zlib


async def test_zlib_decompresses_what_python_compressed(pool):
    text = "héllo, segment " * 200
    data = text.encode()
    raw = zlib.compressobj(wbits=-15)
    inputs = {
        "deflate": base64.b64encode(zlib.compress(data)).decode(),
        "gzip": base64.b64encode(gzip.compress(data)).decode(),
        "raw": base64.b64encode(raw.compress(data) + raw.flush()).decode(),
    }
    result = await value(
        pool,
        """const z = zlib.zlib, b = (k) => Buffer.from(settings[k], 'base64');
      return [z.inflateSync(b('deflate')).toString(), z.gunzipSync(b('gzip')).toString(),
              z.inflateRawSync(b('raw')).toString(), z.unzipSync(b('gzip')).toString(),
              z.unzipSync(b('deflate')).toString(), Buffer.isBuffer(z.inflateSync(b('deflate')))]""",
        settings=inputs,
    )
    assert result == [text] * 5 + [True]


async def test_zlib_compresses_what_python_decompresses(pool):
    deflated, gzipped, raw, best, sized = await value(
        pool,
        """const z = zlib.zlib, s = JSON.stringify(event.properties);
      return [z.deflateSync(s).toString('base64'), z.gzipSync(Buffer.from(s)).toString('base64'),
              z.deflateRawSync(new TextEncoder().encode(s)).toString('base64'),
              z.deflateSync(s, {level: z.constants.Z_BEST_COMPRESSION}).toString('base64'),
              [z.deflateSync(s, {level: 0}).length > s.length, z.gzipSync('').length]]""",
        payload={"type": "track", "properties": {"items": list(range(300)), "name": "€uro"}},
    )
    expected = json.dumps(
        {"items": list(range(300)), "name": "€uro"}, separators=(",", ":"), ensure_ascii=False
    )
    assert zlib.decompress(base64.b64decode(deflated)).decode() == expected
    assert gzip.decompress(base64.b64decode(gzipped)).decode() == expected
    assert zlib.decompress(base64.b64decode(raw), wbits=-15).decode() == expected
    assert zlib.decompress(base64.b64decode(best)).decode() == expected
    assert sized == [True, 20]  # stored blocks are larger; an empty gzip member is 20 bytes


async def test_zlib_callback_forms_answer_on_a_later_turn(pool):
    result = await value(
        pool,
        """const z = zlib.zlib; const order = [];
      const out = await new Promise((resolve, reject) => {
        z.gzip('payload', (err, gz) => {
          if (err) return reject(err);
          order.push('gzipped');
          z.gunzip(gz, {}, (err2, back) => err2 ? reject(err2) : resolve(back.toString()));
        });
        order.push('after call');
      });
      const err = await new Promise((resolve) => z.inflate(Buffer.from('nope'), (e) => resolve([e.code, e.errno, e.message])));
      return [out, order, err];""",
    )
    assert result == [
        "payload",
        ["after call", "gzipped"],
        ["Z_DATA_ERROR", -3, "incorrect header check"],
    ]


async def test_zlib_errors_are_nodes(pool):
    truncated = base64.b64encode(zlib.compress(b"x" * 1000)[:6]).decode()
    gz = base64.b64encode(gzip.compress(b"x")).decode()
    result = await value(
        pool,
        """const z = zlib.zlib, out = [];
      const attempt = (f) => { try { f(); out.push('no error') } catch (e) { out.push([e.name, e.code, e.message]) } };
      attempt(() => z.inflateSync(Buffer.from(settings.truncated, 'base64')));
      attempt(() => z.inflateSync(Buffer.from(settings.gz, 'base64')));  // inflate does not take gzip, as in Node
      attempt(() => z.gunzipSync(42));
      attempt(() => z.createGzip());
      attempt(() => z.brotliCompressSync('x'));
      return out;""",
        settings={"truncated": truncated, "gz": gz},
    )
    assert result[0] == ["Error", "Z_BUF_ERROR", "unexpected end of file"]
    assert result[1] == ["Error", "Z_DATA_ERROR", "incorrect header check"]
    assert result[2][:2] == ["TypeError", "ERR_INVALID_ARG_TYPE"]
    assert result[3][0] == "Error" and "zlib.gzipSync" in result[3][2]
    assert result[4][0] == "Error" and "not available" in result[4][2]


async def test_zlib_bombs_and_huge_inputs_stop_at_the_cap(pool):
    # 64 MB of zeros deflate to ~64 KB: inflating must stop at the cap, not allocate it all.
    bomb = base64.b64encode(zlib.compress(bytes(64 * 1024 * 1024), 9)).decode()
    assert len(bomb) < 200_000
    result = await value(
        pool,
        """const z = zlib.zlib, out = [];
      const attempt = (f) => { try { out.push(f().length) } catch (e) { out.push([e.name, e.code, e.message]) } };
      const bomb = Buffer.from(settings.bomb, 'base64');
      attempt(() => z.inflateSync(bomb));
      attempt(() => z.inflateSync(bomb, {maxOutputLength: 1000}));
      attempt(() => z.deflateSync(Buffer.alloc(z.MAX_BYTES + 1)));
      attempt(() => z.inflateSync(z.deflateSync(Buffer.alloc(z.MAX_BYTES))));
      return out;""",
        settings={"bomb": bomb},
    )
    assert result[0] == [
        "RangeError", "ERR_BUFFER_TOO_LARGE",
        f"zlib output exceeds the runtime's limit of {ZLIB_MAX} bytes",
    ]  # fmt: skip
    assert result[1] == [
        "RangeError",
        "ERR_BUFFER_TOO_LARGE",
        "Cannot create a Buffer larger than 1000 bytes",
    ]
    assert result[2] == [
        "RangeError",
        "ERR_BUFFER_TOO_LARGE",
        f"zlib input exceeds the runtime's limit of {ZLIB_MAX} bytes",
    ]
    assert result[3] == ZLIB_MAX  # exactly the cap is allowed


async def test_zlib_node_style_names_work_too(pool):
    assert (
        await value(
            pool,
            "return zlib.gunzipSync(zlib.gzipSync('a')).toString() + (zlib.zlib.constants.Z_SYNC_FLUSH)",
        )
        == "a2"
    )


# ---------------------------------------------------------------- https


async def test_https_request_goes_through_the_bridge_traced_and_masked(pool, vendor):
    secret = "sk_test_https_0123456789"
    vendor.reply(
        "POST", "/v1/things", {"id": "th_1", "ok": True}, status=201, headers={"X-Reply": "yes"}
    )
    port = vendor.url.rsplit(":", 1)[1]
    code = f"""async function onTrack(event, settings) {{
      const body = JSON.stringify({{name: event.event, n: 1}});
      return await new Promise((resolve, reject) => {{
        const req = https.request({{
          protocol: 'http:', hostname: '127.0.0.1', port: {port}, path: '/v1/things?x=1', method: 'POST',
          headers: {{'Content-Type': 'application/json', Authorization: 'Bearer ' + settings.apiKey,
                    'Content-Length': Buffer.byteLength(body)}},
        }}, (res) => {{
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {{ data += chunk }});
          res.on('end', () => resolve({{status: res.statusCode, reply: res.headers['x-reply'], body: JSON.parse(data)}}));
        }});
        req.on('error', reject);
        req.write(body);
        req.end();
      }});
    }}"""
    seen: list[dict] = []
    r = await run(
        pool, code, {"type": "track", "event": "Ordered"}, {"apiKey": secret}, on_event=seen.append
    )
    assert r.outcome == "success", r.error
    assert r.result == {"status": 201, "reply": "yes", "body": {"id": "th_1", "ok": True}}
    got = vendor.only()
    assert (got.method, got.path) == ("POST", "/v1/things?x=1")
    assert got.headers["authorization"] == f"Bearer {secret}"
    assert json.loads(got.body) == {"name": "Ordered", "n": 1}
    (trace,) = r.requests
    assert trace["method"] == "POST" and trace["status"] == 201
    assert trace["request_headers"]["Authorization"] == "Bearer ••••••"
    assert secret not in json.dumps(r.to_dict()) and secret not in json.dumps(seen)
    assert [e["type"] for e in seen] == ["request"]


async def test_https_get_with_a_url_auth_and_async_iteration(pool, vendor):
    vendor.reply("GET", "/v1/me", {"me": "u1"})
    code = f"""async function onTrack(event, settings) {{
      const res = await new Promise((resolve, reject) => https.get('{vendor.url}/v1/me?q=2', {{auth: 'user:pw', protocol: 'http:'}}, resolve).on('error', reject));
      const chunks = [];
      for await (const chunk of res) chunks.push(chunk);
      return [res.statusCode, JSON.parse(Buffer.concat(chunks).toString()), typeof https.Agent, typeof https.request];
    }}"""
    r = await run(pool, code)
    assert r.outcome == "success", r.error
    assert r.result == [200, {"me": "u1"}, "function", "function"]
    got = vendor.only()
    assert (got.method, got.path) == ("GET", "/v1/me?q=2")
    assert got.headers["authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()


async def test_https_obeys_the_egress_policy(vendor):
    closed = make_pool(workers=1)  # nothing allow-listed: loopback is refused
    try:
        code = f"""async function onTrack() {{
          return await new Promise((resolve) => {{
            const req = https.request('{vendor.url}/v1/x', {{protocol: 'http:'}}, () => resolve('answered'));
            req.on('error', (e) => resolve([e.name, e.message.includes('egress'), e instanceof Error]));
            req.end();
          }});
        }}"""
        r = await run(closed, code)
    finally:
        await closed.shutdown()
    assert r.outcome == "success", r.error
    assert r.result == ["FetchError", True, True]
    assert vendor.arrived == []
    assert "egress policy" in r.requests[0]["error"]


async def test_urls_alone_do_not_load_the_https_library(pool):
    r = await run(
        pool,
        "async function onTrack() { const u = 'https://api.example.com'; return typeof globalThis['htt' + 'ps'] }",
    )
    assert r.result == "undefined"
    r = await run(
        pool,
        "async function onTrack() { return [typeof https.get, typeof globalThis['zl' + 'ib'], typeof globalThis['winston' + 'lib']] }",
    )
    assert r.result == ["function", "undefined", "undefined"]


# ---------------------------------------------------------------- winston


async def test_winston_logs_to_the_captured_console_with_levels(pool):
    code = """async function onTrack(event, settings) {
      const winston = winstonlib.winston;
      const logger = winston.createLogger({
        level: 'debug',
        format: winston.format.json(),
        defaultMeta: { fn: 'demo' },
        transports: [new winston.transports.Console()],
      });
      logger.info('sending', { event: event.event });
      logger.warn('slow');
      logger.error('failed');
      logger.debug('details');
      logger.silly('not at this level');
      const simple = winston.createLogger({ format: winston.format.simple(), transports: [new winston.transports.Console()] });
      simple.log('info', 'plain %s', 'x');
      simple.debug('below info: dropped');
      return Object.keys(winston.config.npm.levels);
    }"""
    r = await run(pool, code, {"type": "track", "event": "Clicked"})
    assert r.outcome == "success", r.error
    assert r.result == ["error", "warn", "info", "http", "verbose", "debug", "silly"]
    assert [log["level"] for log in r.logs] == ["info", "warn", "error", "debug", "info"]
    assert json.loads(r.logs[0]["message"]) == {
        "level": "info",
        "message": "sending",
        "event": "Clicked",
        "fn": "demo",
    }
    assert json.loads(r.logs[2]["message"]) == {"level": "error", "message": "failed", "fn": "demo"}
    assert r.logs[4]["message"] == "info: plain %s"
