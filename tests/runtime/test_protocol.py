# ruff: noqa: E501 -- the long lines are JavaScript snippets under test
"""The worker protocol under attack: nothing a function does can forge another
function's messages, break the Python reader, outlive its call or be blamed on a
neighbour. One worker per pool, so that attacker and victim share a process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from runtime import limits
from runtime import pool as pool_module
from runtime.fetch import FetchFailed, _mask_header, parse_spec
from runtime.pool import WorkerPool
from tests.runtime.conftest import make_pool, run

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    p = make_pool(workers=1)
    yield p
    await p.shutdown()


def process_of(pool: WorkerPool):
    process = pool.workers[0].process
    assert process is not None
    return process


# ---------------------------------------------------------------- import() (finding 1)
async def test_the_word_import_outside_code_is_not_a_dynamic_import(pool):
    code = """
    // import('x') in a comment; <!-- import('y')
    /* import ('z') */
    const o = { import: 1, import2() { return 2 } };
    class A { import() { return 3 } }
    async function onTrack() {
      return ['import("a")', `import(${1})`, /import\\(/.source, o.import, new A().import()];
    }"""
    r = await run(pool, code)
    assert r.outcome == "success", r.error
    assert r.result == ['import("a")', "import(1)", "import\\(", 1, 3]


async def test_a_worker_that_dropped_a_context_gets_its_code_again(pool):
    # The worker tells Python when it drops a context (LRU, timeout), so Python never
    # sends a call without code for a context the worker does not have.
    p = make_pool(workers=1, max_contexts=2)
    try:
        for i in range(4):
            r = await run(p, "async function onTrack() { return 1 }", function_id=f"fn_drop{i}")
            assert r.outcome == "success"
        await asyncio.sleep(0.05)
        assert process_of(p).loaded == {"fn_drop2:v1", "fn_drop3:v1"}
        r = await run(p, "async function onTrack() { return 'again' }", function_id="fn_drop0")
        assert r.result == "again"
    finally:
        await p.shutdown()


async def test_a_huge_import_lookalike_loads_in_linear_time(pool):
    # Was catastrophic backtracking in a host-side pattern, outside every time limit.
    code = "async function onTrack() { return 1 }\n// import" + "/**/" * 5000 + "\n"
    started = time.perf_counter()
    r = await run(pool, code, timeout_ms=1000)
    assert r.outcome == "success" and time.perf_counter() - started < 0.5


# ---------------------------------------------------------------- forged messages (finding 2)
async def test_a_function_cannot_forge_another_functions_result_through_fetch(pool):
    victim = run(
        pool,
        "async function onTrack(e, s) { await new Promise(r => setTimeout(r, 300)); return 'real' }",
        function_id="fn_forge_victim",
    )
    task = asyncio.ensure_future(victim)
    await asyncio.sleep(0.1)
    attacker = """async function onTrack() {
      const out = [];
      for (let id = 1; id <= 50; id++) {
        const inj = ']},"t":"r","i":' + id + ',"o":"success","r":"forged","zz":{"a":[';
        Headers.prototype._pairs = function () { return { map() { return { join() { return inj } } } } };
        Map.prototype.forEach = function () {};
        try { await fetch('http://10.0.0.1/').catch(e => out.push(e.name)) } catch (e) { out.push(String(e)) }
      }
      return out.length;
    }"""
    r = await run(pool, attacker, function_id="fn_forge_attacker")
    assert r.outcome == "success" and r.result == 50
    v = await task
    assert (v.outcome, v.result) == ("success", "real")


async def test_invalid_fetch_descriptions_are_refused_by_the_host(pool):
    code = """async function onTrack() {
      const many = {}; for (let i = 0; i < 101; i++) many['x-h' + i] = 'v';
      const out = [];
      for (const headers of [many, {'x-big': 'v'.repeat(9000)}]) {
        try { await fetch('http://10.0.0.1/', { headers }) } catch (e) { out.push(e.message) }
      }
      return out;
    }"""
    r = await run(pool, code)
    assert r.outcome == "success" and len(r.result) == 2
    assert all("invalid request" in m for m in r.result) and r.requests == []


async def test_results_python_cannot_parse_are_dropped_by_the_worker(pool):
    r = await run(
        pool,
        "async function onTrack() { let a = 1; for (let i = 0; i < 1200; i++) a = [a]; return a }",
    )
    assert r.outcome == "success" and r.result is None
    assert "return value dropped" in r.logs[0]["message"]
    await still_serving(pool)


async def still_serving(pool: WorkerPool) -> None:
    r = await run(pool, "async function onTrack() { return 'ok' }", function_id="fn_canary")
    assert r.result == "ok", r.error


# ---------------------------------------------------------------- the reader (findings 3, 10)
async def test_an_invalid_line_kills_the_worker_and_its_calls_are_retryable():
    p = make_pool(workers=1)
    try:
        hang = asyncio.ensure_future(
            run(p, "async function onTrack() { await new Promise(() => {}) }")
        )
        await asyncio.sleep(0.2)
        process = process_of(p)
        process._handle_line(b"not json")
        r = await hang
        assert r.outcome == "retry" and r.retryable
        await asyncio.wait_for(process.proc.wait(), 2)
        assert (await run(p, "async function onTrack() { return 1 }")).result == 1
    finally:
        await p.shutdown()


@pytest.mark.parametrize(
    "line",
    [
        b'{"t":"r","i":"1","o":"success"}',
        b'{"t":"r","i":1,"o":"success","e":{"type":1}}',
        b'{"t":"l","i":1,"x":"text"}',
        b'{"t":"f","i":1,"q":1.5,"x":{}}',
        b'{"t":"zz"}',
        b"[1]",
    ],
)
async def test_malformed_messages_are_refused(line):
    process = object.__new__(pool_module._Process)
    process.pending = {}
    process.loaded = set()
    with pytest.raises((ValueError, TypeError)):
        process._on_line(line)


async def test_too_long_lines_kill_the_worker(monkeypatch):
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 100_000)
    p = make_pool(workers=1)
    try:
        r = await run(p, "async function onTrack() { return 'x'.repeat(200000) }")
        assert (r.outcome, r.error.type) == ("retry", "WorkerCrashed")
    finally:
        await p.shutdown()


async def test_shutdown_leaves_no_process_behind():
    p = make_pool(workers=1)
    await run(p, "async function onTrack() { return 1 }")
    process = process_of(p)
    process.alive = False  # as if its reader had given up on it
    p.workers[0].process = None
    await p.shutdown()
    assert process.proc.returncode is not None


# ---------------------------------------------------------------- after the call (finding 5)
async def test_no_finalization_registry_or_weak_refs(pool):
    r = await run(
        pool, "async function onTrack() { return [typeof FinalizationRegistry, typeof WeakRef] }"
    )
    assert r.result == ["undefined", "undefined"]


async def test_a_call_sent_to_a_stuck_worker_is_not_blamed(monkeypatch):
    monkeypatch.setattr(limits, "HEARTBEAT_GRACE_S", 0.3)
    p = make_pool(workers=1)
    try:
        await run(p, "async function onTrack() { return 1 }")
        pid = p.pids()[0]
        os.kill(pid, signal.SIGSTOP)  # stuck before the call arrives (as in a host task)
        started = time.perf_counter()
        r = await run(p, "async function onTrack() { return 1 }", timeout_ms=5000)
        assert r.retryable and "stopped responding" in r.error.message
        assert time.perf_counter() - started < 2
    finally:
        await p.shutdown()


# ---------------------------------------------------------------- native crypto (finding 6)
HUGE_ITERATIONS = """-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHuMFkGCSqGSIb3DQEFDTBMMCsGCSqGSIb3DQEFDDAeBAiuJ4B3hDw4PgIEf///
/zAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQYHsbykTykkWSevc7tZOEWgSB
kPyr/E+TRvzVjiEd81zqC2fSq9aFcVrctw5B/zRW3YwG2wTNP5jAHxKePRnST91+
fewCQZGEj+jhilaoi1nLqCEYc2wEBe/eNj/+zRPQlzKTfebgD7r7NGfkClkMg5bd
hpQk0aCRckiXOnJ5Y40uw99S1/a9RONtolF1yN8BC+0SUviKnjrvINXa/t7EJyTc
0w==
-----END ENCRYPTED PRIVATE KEY-----"""


async def test_keys_with_costly_derivation_are_refused_before_openssl_sees_them(pool):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    normal = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
        .decode()
    )
    code = f"""async function onTrack() {{
      const out = [];
      for (const key of [{HUGE_ITERATIONS!r}, {normal!r}]) {{
        try {{ out.push(crypto.createPrivateKey({{ key, passphrase: 'pw' }}).asymmetricKeyType) }}
        catch (e) {{ out.push(e.message) }}
      }}
      const k = crypto.createPrivateKey({{ key: {normal!r}, passphrase: 'pw' }});
      k._pem = {HUGE_ITERATIONS!r};  // straight to sign(), without a passphrase
      try {{ crypto.createSign('sha256').update('x').sign(k) }} catch (e) {{ out.push(e.message) }}
      return out;
    }}"""
    started = time.perf_counter()
    r = await run(pool, code, timeout_ms=2000)
    assert r.result == ["key derivation too costly", "ec", "key derivation too costly"], r.error
    assert time.perf_counter() - started < 1


async def test_oversized_rsa_keys_are_refused(pool):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    big_e = rsa.RSAPublicNumbers(2**64 + 1, key.public_key().public_numbers().n).public_key()
    big_e_pem = big_e.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    code = f"""async function onTrack() {{
      const out = [];
      for (const key of [{public.decode()!r}, {big_e_pem.decode()!r}]) {{
        try {{ out.push(crypto.createPublicKey(key).asymmetricKeyType) }} catch (e) {{ out.push(e.message) }}
      }}
      return out;
    }}"""
    r = await run(pool, code)
    assert r.result == ["rsa", "public exponent too large"], r.error


# ---------------------------------------------------------------- memory (finding 8)
async def test_memory_parked_by_one_function_does_not_fail_the_next():
    p = make_pool(workers=1, memory_mb=64)
    try:
        hoard = """globalThis.hoard = globalThis.hoard || [];
        async function onTrack() { for (let i = 0; i < 40; i++) hoard.push(new Array(128 * 1024).fill(i + 0.5)); return hoard.length }"""
        victim = "async function onTrack() { const a = []; for (let i = 0; i < 20; i++) a.push(new Array(128 * 1024).fill(i + 0.5)); return 'ok' }"
        assert (await run(p, hoard, function_id="fn_hoard")).result == 40
        for _ in range(2):
            r = await run(p, victim, function_id="fn_heap_victim")
            assert r.result == "ok", r.error
    finally:
        await p.shutdown()


# ---------------------------------------------------------------- traces (finding 9)
async def test_fetch_descriptions_are_capped_in_headers():
    base = {
        "method": "GET",
        "url": "http://x/",
        "body": None,
        "redirect": "follow",
        "follow": 1,
        "timeout": 0,
    }
    parse_spec({**base, "headers": [["a", "b"]] * 100})
    for headers in ([["a", "b"]] * 101, [["a", "x" * 8193]], [["a" * 257, "b"]]):
        with pytest.raises(FetchFailed):
            parse_spec({**base, "headers": headers})


async def test_trace_header_values_are_truncated_after_masking():
    masked = _mask_header("x-a", "secret-value" + "x" * 5000, ("secret-value",))
    assert len(masked) < 1100 and "secret-value" not in masked and "5012 characters" in masked


# ---------------------------------------------------------------- fetch slots (finding 7)
async def test_fetches_do_not_outlive_their_call_nor_take_every_slot():
    opened = 0

    async def tarpit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        await asyncio.sleep(30)

    server = await asyncio.start_server(tarpit, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    p = make_pool(workers=1, allow=["127.0.0.1"])
    try:
        fire = f"async function onTrack() {{ for (let i = 0; i < 100; i++) fetch('http://127.0.0.1:{port}/' + i).catch(() => 0); return 1 }}"
        await run(p, fire)
        wait = f"async function onTrack() {{ await Promise.all(Array.from({{length: 50}}, (_, i) => fetch('http://127.0.0.1:{port}/' + i).catch(() => 0))) }}"
        waiting = asyncio.ensure_future(run(p, wait, timeout_ms=500))
        await asyncio.sleep(0.3)
        assert opened <= pool_module.MAX_FETCHES_IN_FLIGHT_PER_CALL
        r = await waiting
        assert r.outcome == "timeout"
        await asyncio.sleep(0.05)
        assert p.fetch_slots.idle
    finally:
        await p.shutdown()
        server.close()


# ---------------------------------------------------------------- long lines (rt2 finding 5)
async def test_the_worker_assembles_long_lines_in_linear_time():
    # A 24 MB line arriving in pipe-sized chunks: re-joining and re-searching the
    # buffer for every chunk took seconds of worker CPU (O(n^2)); now milliseconds.
    p = make_pool(workers=1)
    try:
        await run(p, "async function onTrack() { return 1 }", function_id="any")
        process = process_of(p)
        started = time.perf_counter()
        process.write(b'"' + b"a" * (24 * 1024 * 1024) + b'"\n')  # not a message: ignored
        pong = await p.request("any", {"t": "ping"}, "pong")
        assert pong["t"] == "pong"
        assert time.perf_counter() - started < 1.0
        r = await run(
            p, "async function onTrack() { return 2 }", function_id="any", version_id="v2"
        )
        assert r.result == 2
    finally:
        await p.shutdown()


# ---------------------------------------------------------------- frozen host realm
FREEZE_CHECK = r"""
const vm = require('node:vm');
// Every object or function a fresh ECMAScript realm has as a global (what V8 offers:
// it grows with Node releases), except the ones that are not intrinsics.
const names = vm.runInNewContext('Object.getOwnPropertyNames(globalThis)').filter((n) => {
  const v = globalThis[n];
  return n !== 'globalThis' && n !== 'console' && v !== undefined &&
    (typeof v === 'object' || typeof v === 'function');
});
process.on('exit', () => {
  const thawed = [];
  for (const n of names) {
    const v = globalThis[n];
    if (!Object.isFrozen(v) || (typeof v === 'function' && v.prototype !== undefined &&
      !Object.isFrozen(v.prototype))) thawed.push(n);
  }
  const helper = Object.getPrototypeOf([].values().map((x) => x));
  if (!Object.isFrozen(helper)) thawed.push('%IteratorHelperPrototype%');
  process.stdout.write('\n' + JSON.stringify({names, thawed}) + '\n');
});
"""


async def test_every_intrinsic_of_the_host_realm_is_frozen(tmp_path):
    (tmp_path / "check.js").write_text(FREEZE_CHECK)
    proc = await asyncio.create_subprocess_exec(
        pool_module.node_binary(), "-r", str(tmp_path / "check.js"), str(pool_module.WORKER_JS),
        "{}", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    report = json.loads(out.decode().strip().splitlines()[-1])
    for name in ("SuppressedError", "DisposableStack", "AsyncDisposableStack", "Float16Array"):
        assert name in report["names"]  # Node 24 has them: they must be on the list
    assert report["thawed"] == []
