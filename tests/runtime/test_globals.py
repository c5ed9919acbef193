# ruff: noqa: E501 -- the long lines are JavaScript snippets under test
"""What user code sees: crypto, Buffer, btoa/atob, URL, TextEncoder, timers, cache, libraries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import shutil
import subprocess

import pytest

from tests.runtime.conftest import run

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def value(pool, body: str, **kwargs):
    r = await run(pool, f"async function onTrack(event, settings) {{ {body} }}", **kwargs)
    assert r.outcome == "success", r.error
    return r.result


async def test_crypto_hashes_and_hmacs_match_python(pool):
    result = await value(
        pool,
        """return [
      crypto.createHash('sha256').update('abc').digest('hex'),
      crypto.createHash('md5').update('a').update('bc').digest('base64'),
      crypto.createHash('sha1').update(Buffer.from('abc')).digest().length,
      crypto.createHmac('sha256', 'key').update('data').digest('hex'),
      crypto.createHmac('sha512', Buffer.from('key')).update('data', 'utf8').digest('base64'),
    ]""",
    )
    assert result == [
        hashlib.sha256(b"abc").hexdigest(),
        base64.b64encode(hashlib.md5(b"abc").digest()).decode(),
        20,
        hmac.new(b"key", b"data", "sha256").hexdigest(),
        base64.b64encode(hmac.new(b"key", b"data", "sha512").digest()).decode(),
    ]


async def test_crypto_random_and_timing_safe_equal(pool):
    uuid, n, distinct, eq, neq, err = await value(
        pool,
        """
      let err;
      try { crypto.timingSafeEqual(Buffer.from('a'), Buffer.from('ab')) } catch (e) { err = e.name }
      return [crypto.randomUUID(), crypto.randomBytes(16).length,
              crypto.randomBytes(8).toString('hex') !== crypto.randomBytes(8).toString('hex'),
              crypto.timingSafeEqual(Buffer.from('same'), Buffer.from('same')),
              crypto.timingSafeEqual(Buffer.from('same'), Buffer.from('diff')), err];""",
    )
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid
    )
    assert (n, distinct, eq, neq, err) == (16, True, True, False, "RangeError")


async def test_buffer_btoa_atob_and_text_codecs(pool):
    result = await value(
        pool,
        """return [
      Buffer.from('héllo').toString('base64'), Buffer.from('aGk=', 'base64').toString(),
      Buffer.from('ff00', 'hex').length, Buffer.isBuffer(Buffer.alloc(2)),
      btoa('user:pass'), atob('dXNlcjpwYXNz'),
      Array.from(new TextEncoder().encode('é€')), new TextDecoder().decode(new Uint8Array([226, 130, 172])),
      Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString(),
    ]""",
    )
    assert result == [
        base64.b64encode("héllo".encode()).decode(), "hi", 2, True,
        "dXNlcjpwYXNz", "user:pass", list("é€".encode()), "€", "ab",
    ]  # fmt: skip


async def test_url_and_url_search_params(pool):
    result = await value(
        pool,
        """
      const u = new URL('/path/x?a=1&b=two#frag', 'https://User:pw@Example.com:8443');
      u.searchParams.append('c', 'd e');
      const q = new URLSearchParams({x: '1', y: 'a&b'});
      q.set('x', '2');
      let invalid;
      try { new URL('not a url') } catch (e) { invalid = e.name }
      return [u.href, u.hostname, u.port, u.pathname, u.searchParams.get('b'), u.origin,
              q.toString(), [...new URLSearchParams('?k=1&k=2').getAll('k')], invalid,
              new URL('http://2130706433/').hostname];""",
    )
    assert result == [
        "https://User:pw@example.com:8443/path/x?a=1&b=two&c=d+e#frag",
        "example.com", "8443", "/path/x", "two", "https://example.com:8443",
        "x=2&y=a%26b", ["1", "2"], "TypeError", "127.0.0.1",
    ]  # fmt: skip


async def test_set_timeout_works_within_the_invocation(pool):
    result = await value(
        pool,
        """
      const order = [];
      await new Promise(r => { setTimeout(() => { order.push('t2'); r() }, 30);
                               setTimeout(() => order.push('t1'), 10); });
      const id = setTimeout(() => order.push('never'), 5); clearTimeout(id);
      await new Promise(r => setTimeout(r, 20));
      let ticks = 0;
      await new Promise(r => { const i = setInterval(() => { if (++ticks === 3) { clearInterval(i); r() } }, 1) });
      return [order, ticks];""",
    )
    assert result == [["t1", "t2"], 3]


async def test_timers_cannot_outlive_their_invocation(pool):
    code = """let fired = 0;
    async function onTrack(e) { if (e.event === 'arm') { setTimeout(() => { fired++ }, 50); return 'armed' }
                                await new Promise(r => setTimeout(r, 100)); return fired }"""
    fid = "fn_timer_outlive"
    assert (
        await run(pool, code, {"type": "track", "event": "arm"}, function_id=fid)
    ).result == "armed"
    assert (await run(pool, code, {"type": "track", "event": "check"}, function_id=fid)).result == 0


async def test_cache_load_computes_once_and_persists(pool):
    code = """let calls = 0;
    async function onTrack(e) {
      const v = await cache.load('token', -1, async () => { calls++; await new Promise(r => setTimeout(r, 30)); return 'tok' + calls });
      return [v, calls];
    }"""
    fid = "fn_cache_once"
    results = await asyncio.gather(*(run(pool, code, function_id=fid) for _ in range(5)))
    assert [r.result for r in results] == [["tok1", 1]] * 5
    assert (await run(pool, code, function_id=fid)).result == ["tok1", 1]


async def test_cache_ttl_and_delete(pool):
    code = """let calls = 0;
    async function onTrack(e) {
      if (e.event === 'delete') { cache.delete('k'); return null }
      const v = await cache.load('k', e.ttl, async () => ++calls);
      return v;
    }"""
    fid = "fn_cache_ttl"

    async def load(ttl):
        return (await run(pool, code, {"type": "track", "ttl": ttl}, function_id=fid)).result

    assert await load(50) == 1
    assert await load(50) == 1
    await asyncio.sleep(0.08)
    assert await load(50) == 2  # expired
    await run(pool, code, {"type": "track", "event": "delete"}, function_id=fid)
    assert await load(-1) == 3
    await asyncio.sleep(0.06)
    assert await load(10) == 3  # -1 never expires


async def test_cache_does_not_keep_failures(pool):
    code = """let calls = 0;
    async function onTrack() {
      try { return await cache.load('k', -1, async () => { if (++calls === 1) throw new Error('x'); return calls }) }
      catch (e) { return 'failed' }
    }"""
    fid = "fn_cache_fail"
    assert (await run(pool, code, function_id=fid)).result == "failed"
    assert (await run(pool, code, function_id=fid)).result == 2


async def test_cache_is_per_function(pool):
    code = "async function onTrack(e) { return cache.load('k', -1, async () => e.event) }"
    assert (
        await run(pool, code, {"type": "track", "event": "a"}, function_id="fn_c1")
    ).result == "a"
    assert (
        await run(pool, code, {"type": "track", "event": "b"}, function_id="fn_c2")
    ).result == "b"


async def test_preinstalled_libraries(pool):
    result = await value(
        pool,
        """return {
      lodash: _.get({a: {b: [1, 2]}}, 'a.b[1]'),
      moment: moment.tz('2020-06-01T12:00:00Z', 'Europe/Paris').format('YYYY-MM-DD HH:mm Z'),
      uuidv5: uuidv5('hello', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
      xml: xml({root: [{_attr: {id: 1}}, {child: 'x'}]}),
      xml2js: await xml2js.parseStringPromise('<r a="1"><x>1</x></r>'),
      formdata: (() => { const f = new FormData(); f.append('k', 'v');
                         return [f.getHeaders()['content-type'].startsWith('multipart/form-data; boundary='),
                                 f.getBuffer().toString().includes('name="k"\\r\\n\\r\\nv')] })(),
      oauth: [typeof OAuth.OAuth, typeof OAuth.OAuth2],
    }""",
    )
    assert result == {
        "lodash": 2,
        "moment": "2020-06-01 14:00 +02:00",
        "uuidv5": "9342d47a-1bab-5709-9869-c840b2eac501",
        "xml": '<root id="1"><child>x</child></root>',
        "xml2js": {"r": {"$": {"a": "1"}, "x": ["1"]}},
        "formdata": [True, True],
        "oauth": ["function", "function"],
    }


async def test_jsonwebtoken_hs256_matches_python(pool):
    token, decoded, bad = await value(
        pool,
        """
      const t = jsonwebtoken.sign({sub: 'u1', iat: 1}, settings.secret);
      let bad; try { jwt.verify(t, 'wrong') } catch (e) { bad = e.name }
      return [t, jwt.verify(t, settings.secret), bad];""",
        settings={"secret": "s3cret"},
    )
    head, payload, sig = token.split(".")
    expected = hmac.new(b"s3cret", f"{head}.{payload}".encode(), "sha256").digest()
    assert base64.urlsafe_b64decode(sig + "==") == expected
    assert decoded == {"sub": "u1", "iat": 1} and bad == "JsonWebTokenError"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a key")
async def test_jsonwebtoken_rs256_sign_and_verify(pool, tmp_path):
    key = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, text=True).stdout
    public = subprocess.run(["openssl", "rsa", "-pubout"], input=key, capture_output=True,
                            text=True).stdout  # fmt: skip
    result = await value(pool, """
      const t = jwt.sign({iss: 'svc'}, settings.key, {algorithm: 'RS256', expiresIn: '1h'});
      return [t.split('.').length, jwt.verify(t, settings.pub).iss,
              crypto.createPublicKey(settings.pub).asymmetricKeyType];""",
                         settings={"key": key, "pub": public})  # fmt: skip
    assert result == [3, "svc", "rsa"]


async def test_libraries_run_in_the_functions_own_realm(pool):
    result = await value(
        pool,
        """return [
      Object.getPrototypeOf(_.chunk([1], 1)) === Array.prototype,
      (await xml2js.parseStringPromise('<a/>')).constructor === Object,
      Buffer.from('x') instanceof Uint8Array,
      typeof process, typeof require,
    ]""",
    )
    assert result == [True, True, True, "undefined", "undefined"]


async def test_globals_not_mentioned_in_the_code_are_not_loaded(pool):
    # Libraries are evaluated only for code that names them: a trivial function
    # does not pay for moment-timezone.
    r = await run(pool, "async function onTrack() { return typeof globalThis['mo' + 'ment'] }")
    assert r.result == "undefined"


async def test_returned_values_survive_json(pool):
    result = await value(pool, "return JSON.parse(JSON.stringify({a: [1, {b: null}]}))")
    assert json.dumps(result) == '{"a": [1, {"b": null}]}'
