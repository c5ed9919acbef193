'use strict';
// Host side of the function sandbox: one long-lived Node process serving many
// functions, each in its own `vm` context. Python talks to it over JSON lines on
// stdin/stdout (see runtime/README.md, "Worker protocol").
//
// Security rules this file keeps (Node's `vm` is not a security boundary on its own):
//   * a context only ever receives ONE host function, the bridge, which the prelude
//     keeps in a closure; only strings and numbers cross it in either direction;
//   * the bridge never throws into a context and never returns objects;
//   * the host never reads properties of context objects: it exchanges JSON text
//     that the context produced with its own (captured) JSON functions;
//   * every entry into a context happens under a vm timeout (see `guarded`), and
//     contexts use `microtaskMode: 'afterEvaluate'`, so code that loops after an
//     `await` is stopped by the same vm timeout as a synchronous loop.
// The process runs with --permission, --disallow-code-generation-from-strings,
// --max-old-space-size and an empty environment (set by runtime/pool.py).

const vm = require('node:vm');
const nodeCrypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { AsyncLocalStorage } = require('node:async_hooks');

const config = JSON.parse(process.argv[2] || '{}');

// A garbage-collect function for the host only (memory figures in `ping`): the
// flag is on just long enough to create one throwaway context, before any function
// context exists, so no function ever gets a `gc` global.
const v8 = require('node:v8');
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');
v8.setFlagsFromString('--no-expose-gc');

// Limits (the Python side passes its configured values; these are the defaults).
const MAX_CONTEXTS = config.maxContexts || 100; // LRU of loaded function versions
const MAX_LOG_BYTES = config.maxLogBytes || 64 * 1024; // per invocation
const MAX_LOG_LINES = config.maxLogLines || 1000; // per invocation
const MAX_LOG_LINE_BYTES = 8 * 1024;
const MAX_RESULT_BYTES = config.maxResultBytes || 256 * 1024;
const MAX_TIMERS = 100; // pending timers per invocation
const MAX_TIMER_FIRES = 1000; // interval callbacks per invocation (0 ms interval floods)
const MAX_FETCHES = config.maxFetches || 200; // requests per invocation
const MAX_CACHE_ENTRIES = config.maxCacheEntries || 1000;
const MAX_CRYPTO_INPUT = 16 * 1024 * 1024;
const MAX_ERROR_MESSAGE = 4096;

const HANDLERS = ['onIdentify', 'onTrack', 'onPage', 'onScreen', 'onGroup', 'onAlias',
  'onDelete', 'onBatch'];

// Libraries evaluated inside a context, loaded only when the code mentions them.
// The bundles are built by build.js (npm postinstall) into dist/.
const LIBRARIES = [
  // [bundle file, pattern that makes the source need it]
  ['buffer.js',
    /\bBuffer\b|\bcrypto\b|\.buffer\s*\(|\bFormData\b|\bjsonwebtoken\b|\bjwt\b|\bOAuth\b|\bxml2js\b/],
  ['lodash.js', /\b_\b/],
  ['moment.js', /\bmoment\b/],
  ['uuidv5.js', /\buuidv5\b/],
  ['xml.js', /\bxml\b/],
  ['xml2js.js', /\bxml2js\b/],
  ['jsonwebtoken.js', /\bjsonwebtoken\b|\bjwt\b/],
  ['formdata.js', /\bFormData\b/],
  ['oauth.js', /\bOAuth\b/],
];

const DYNAMIC_IMPORT = /\bimport\s*(?:\/\*[\s\S]*?\*\/\s*|\/\/[^\n]*\n\s*)*\(/;

const als = new AsyncLocalStorage();
const here = __dirname;
const PRELUDE = new vm.Script(fs.readFileSync(path.join(here, 'prelude.js'), 'utf8'),
  { filename: 'runtime:prelude.js' });
const DISPATCH = new vm.Script('__fio_dispatch()', { filename: 'runtime:dispatch' });
// Handlers may be `function` declarations (global properties) or top-level
// `const`/`let` bindings (global lexical scope), so look them up with a script.
const REGISTER = new vm.Script('__fio_register([' + HANDLERS.map((h) =>
  `(() => { try { return typeof ${h} === 'function' ? ${h} : undefined } ` +
  'catch (e) { return undefined } })()').join(',') + '])', { filename: 'runtime:register' });

// ---------------------------------------------------------------- guarded entry
// A vm `timeout` starts and joins a watchdog thread per timed call: ~100 µs, far
// more than a trivial invocation. So contexts are not entered with a timeout each:
// one timed script runs `thunk` in the host realm, and the thunk enters contexts
// with plain (untimed) `runInContext` calls. When the watchdog fires, V8 terminates
// execution wherever it is: termination cannot be caught or run `finally` blocks,
// so it unwinds through the inner entries (their microtask checkpoints included)
// up to this outer call, which cancels it and throws ERR_SCRIPT_EXECUTION_TIMEOUT.
// The caller finds out which context was running from its own bookkeeping.
// The script is strict (no frame exposes `this` to a callsite), and displayErrors
// is off so the host never decorates (reads properties of) a thrown value.
// A value the thunk throws (it may come from a context: a Proxy whose traps loop)
// is caught inside the timed entry and kept aside, never inspected: so whatever
// `guarded` itself throws is the host's own error, and safe to read.
let guardedThunk = null;
let guardedThrew = false;
let guardedThrown;
let timedEntries = 0; // counters reported by `ping` (tests, benchmark)
let contextEntries = 0;
Object.defineProperty(globalThis, '__fio_guarded', {
  value: () => {
    try {
      guardedThunk();
    } catch (err) {
      guardedThrew = true;
      guardedThrown = err;
    }
  },
});
// Inner entries, untimed; displayErrors off: Node would read the `stack` of a thrown
// value to decorate it, running a thrown Proxy's traps in the host.
const QUIET = { displayErrors: false };
const GUARD = new vm.Script("'use strict'; __fio_guarded()", { filename: 'runtime:guard' });
// Run `thunk` under one vm timeout. Returns true when the thunk threw (the value is
// in `guardedThrown`); throws ERR_SCRIPT_EXECUTION_TIMEOUT when the time ran out.
function guarded(thunk, timeout) {
  guardedThunk = thunk;
  guardedThrew = false;
  guardedThrown = undefined;
  timedEntries++;
  try {
    GUARD.runInThisContext({ timeout, displayErrors: false });
  } finally {
    guardedThunk = null;
    als.enterWith(undefined); // an `als.run` cut short by termination did not restore
  }
  return guardedThrew;
}

const libScripts = new Map();
function libScript(file) {
  let s = libScripts.get(file);
  if (s === undefined) {
    const p = path.join(here, 'dist', file);
    s = fs.existsSync(p) ? new vm.Script(fs.readFileSync(p, 'utf8'), { filename: 'lib:' + file })
      : null;
    libScripts.set(file, s);
  }
  return s;
}

// ---------------------------------------------------------------- output
let outQueue = [];
let outScheduled = false;
function send(line) {
  outQueue.push(line);
  if (!outScheduled) {
    outScheduled = true;
    setImmediate(flushOut);
  }
}
function flushOut() {
  outScheduled = false;
  if (outQueue.length === 0) return;
  const data = outQueue.join('');
  outQueue = [];
  process.stdout.write(data);
}

// ---------------------------------------------------------------- contexts
const contexts = new Map(); // key -> Ctx, in LRU order (oldest first)
const invocations = new Map(); // id -> Inv

class Ctx {
  constructor(key) {
    this.key = key;
    this.global = null;
    this.queue = []; // JSON texts of messages waiting for the next dispatch
    this.deadline = 0; // earliest deadline in flight, when it was last scheduled
    this.inflight = new Set();
    this.scheduled = false;
    this.dead = false;
  }
}

function touch(ctx) {
  contexts.delete(ctx.key);
  contexts.set(ctx.key, ctx);
}

function evictIfNeeded() {
  if (contexts.size <= MAX_CONTEXTS) return;
  for (const ctx of contexts.values()) {
    if (contexts.size <= MAX_CONTEXTS) break;
    if (ctx.inflight.size === 0) dropContext(ctx);
  }
}

function dropContext(ctx) {
  ctx.dead = true;
  contexts.delete(ctx.key);
  ctx.global = null;
}

function needs(code) {
  const files = [];
  for (const [file, re] of LIBRARIES) if (re.test(code)) files.push(file);
  return files;
}

// Create the context and run the prelude, the libraries and the user's code.
// Returns null on success, or [outcome, type, message] when loading failed.
function loadContext(ctx, code, inv) {
  // Dynamic import() has no loader here: without one, Node either never settles the
  // promise or rejects it with a host-realm TypeError. Refuse it before running.
  const imp = DYNAMIC_IMPORT.exec(code);
  if (imp !== null) {
    const line = code.slice(0, imp.index).split('\n').length;
    return ['bad_request', 'SyntaxError',
      `import() is not available in functions (line ${line}); use the provided globals`];
  }
  let script;
  try {
    script = new vm.Script(code, { filename: 'handler.js' });
  } catch (e) {
    return ['bad_request', 'SyntaxError', describeSyntaxError(e)];
  }
  const g = vm.createContext(vm.constants.DONT_CONTEXTIFY, {
    name: 'function:' + ctx.key,
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  ctx.global = g;
  const install = PRELUDE.runInContext(g);
  install(makeBridge(ctx), MAX_CACHE_ENTRIES);
  const remaining = Math.max(1, inv.deadline - Date.now());
  let threw;
  try {
    // One timed entry for the libraries, the code and the handler lookup.
    threw = guarded(() => als.run(inv, () => {
      for (const file of needs(code)) {
        const s = libScript(file);
        if (s !== null) s.runInContext(g, QUIET);
      }
      script.runInContext(g, QUIET);
      REGISTER.runInContext(g, QUIET);
    }), remaining);
  } catch (e) {
    // Only the host's own errors come out of `guarded`.
    if (e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      return ['timeout', 'Timeout', `loading the function exceeded ${inv.timeout} ms`];
    }
    return ['bad_request', 'Error', 'error while loading the function'];
  }
  if (threw) {
    // A value thrown by user code at load time: describe it without touching it
    // beyond String conversion of primitives.
    const thrown = guardedThrown;
    guardedThrown = undefined;
    return ['bad_request', 'Error', 'error while loading the function: ' +
      describeThrown(thrown)];
  }
  return null;
}

function describeSyntaxError(e) {
  // The host-realm SyntaxError's stack starts with "handler.js:LINE", the source
  // line and a caret under the column.
  const stack = String(e.stack || '');
  const lines = stack.split('\n');
  const m = /^handler\.js:(\d+)$/.exec(lines[0] || '');
  let where = '';
  if (m) {
    const caret = (lines[2] || '').indexOf('^');
    // No caret means the error is at the end of that line (unexpected end of input).
    const column = caret >= 0 ? caret + 1 : (lines[1] || '').length + 1;
    where = ` (line ${m[1]}, column ${column})`;
  }
  return String(e.message) + where;
}

function describeThrown(e) {
  // Errors thrown while loading come from the context; only primitives are read.
  try {
    if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return String(e);
  } catch (_) {
    return 'unknown error';
  }
  return 'an exception was thrown at the top level of the code';
}

// ---------------------------------------------------------------- invocations
class Inv {
  constructor(id, ctx, timeout, stream) {
    this.id = id;
    this.ctx = ctx;
    this.timeout = timeout;
    this.deadline = Date.now() + timeout;
    this.stream = stream;
    this.logs = [];
    this.logBytes = 0;
    this.logTruncated = false;
    this.timers = new Map(); // context timer id -> host timeout handle
    this.timerFires = 0;
    this.fetches = 0;
    this.hang = null;
    this.done = false;
  }
}

function startInvocation(header, settings, payload) {
  const id = header.i;
  let ctx = contexts.get(header.k);
  const timeout = header.to;
  if (ctx === undefined) {
    if (typeof header.c !== 'string') {
      send('{"t":"m","i":' + id + '}\n'); // not loaded here: Python resends with the code
      return;
    }
    ctx = new Ctx(header.k);
    const inv = new Inv(id, ctx, timeout, header.s === 1);
    const failure = loadContext(ctx, header.c, inv);
    if (failure !== null) {
      ctx.global = null;
      reply(inv, failure[0], failure[1], failure[2], undefined);
      return;
    }
    contexts.set(ctx.key, ctx);
    evictIfNeeded();
    begin(ctx, inv, header.h, settings, payload);
    return;
  }
  touch(ctx);
  begin(ctx, new Inv(id, ctx, timeout, header.s === 1), header.h, settings, payload);
}

function begin(ctx, inv, handler, settings, payload) {
  invocations.set(inv.id, inv);
  ctx.inflight.add(inv);
  inv.hang = setTimeout(onHang, inv.timeout, inv);
  ctx.queue.push('["i",' + inv.id + ',' + JSON.stringify(handler) + ',' + settings + ',' +
    payload + ']');
  schedule(ctx);
}

// A promise that never settles: answer Timeout; the context itself stays usable.
function onHang(inv) {
  if (inv.done) return;
  reply(inv, 'timeout', 'Timeout', `the function did not finish within ${inv.timeout} ms`,
    undefined);
}

function schedule(ctx) {
  if (ctx.scheduled) return;
  ctx.scheduled = true;
  dirty.push(ctx);
  if (!dispatchScheduled) {
    dispatchScheduled = true;
    queueMicrotask(runDirty);
  }
}

let dirty = [];
let dispatchScheduled = false;
// Contexts whose earliest deadlines are this close share one timed entry: a sync
// loop in one of them is stopped at most this late (2% of its time left, within
// 2..100 ms; well under the Python side's KILL_GRACE_S), never early.
const SHARE_MIN_MS = 2;
const SHARE_MAX_MS = 100;
const SHARE_FRACTION = 0.02;
const IDLE_BUDGET_MS = 1000; // a context with nothing in flight (timer clean-ups)

function runDirty() {
  dispatchScheduled = false;
  const list = dirty;
  dirty = [];
  const now = Date.now();
  const ready = [];
  for (const ctx of list) {
    ctx.scheduled = false;
    if (ctx.dead || ctx.queue.length === 0) continue;
    let deadline = Infinity;
    for (const inv of ctx.inflight) if (inv.deadline < deadline) deadline = inv.deadline;
    ctx.deadline = deadline === Infinity ? now + IDLE_BUDGET_MS : deadline;
    ready.push(ctx);
  }
  if (ready.length > 1) ready.sort((a, b) => a.deadline - b.deadline);
  let start = 0;
  while (start < ready.length) {
    const first = ready[start].deadline;
    const left = first - Date.now();
    const limit = first + Math.min(SHARE_MAX_MS, Math.max(SHARE_MIN_MS, left * SHARE_FRACTION));
    let end = start + 1;
    while (end < ready.length && ready[end].deadline <= limit) end++;
    dispatchGroup(start === 0 && end === ready.length ? ready : ready.slice(start, end));
    start = end;
  }
}

// Enter each context of `group` once, for everything queued for it, all under ONE
// timed entry whose limit is the latest deadline of the group.
let group = null;
let groupIndex = 0; // the context being entered (or the next one)
let running = null; // set only while a context is entered
function runGroup() {
  const list = group;
  for (let i = 0; i < list.length; i++) {
    groupIndex = i;
    const ctx = list[i];
    if (ctx.dead || ctx.queue.length === 0) continue;
    running = ctx;
    contextEntries++;
    try {
      DISPATCH.runInContext(ctx.global, QUIET);
      running = null;
    } catch (_) {
      // Not a timeout (termination is not catchable): the prelude's dispatch
      // itself failed, e.g. the stack was exhausted around it.
      running = null;
      als.enterWith(undefined);
      failContext(ctx, 'bad_request', 'Error', 'the function broke its runtime');
    }
  }
  groupIndex = list.length;
}

function dispatchGroup(list) {
  const timeout = Math.max(1, list[list.length - 1].deadline - Date.now());
  group = list;
  groupIndex = 0;
  running = null;
  let timedOut = false;
  let failed;
  try {
    failed = guarded(runGroup, timeout); // true only if the host's runGroup broke
  } catch (e) {
    failed = true;
    timedOut = e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT'; // a host error
  }
  group = null;
  if (!failed) return;
  const culprit = running;
  running = null;
  if (culprit !== null) {
    failContext(culprit, timedOut ? 'timeout' : 'bad_request', timedOut ? 'Timeout' : 'Error',
      timedOut ? 'the function exceeded its time limit' : 'the function broke its runtime');
  }
  // The contexts not entered yet keep their queues: dispatch them again.
  for (let i = culprit !== null ? groupIndex + 1 : groupIndex; i < list.length; i++) {
    schedule(list[i]);
  }
}

// A synchronous loop (possibly after an await) ran into the vm timeout: every
// invocation in flight in this context is answered and the context is discarded,
// since its state may be half-updated.
function failContext(ctx, outcome, type, message) {
  for (const inv of [...ctx.inflight]) {
    reply(inv, outcome, type, `${message} (${inv.timeout} ms)`, undefined);
  }
  dropContext(ctx);
}

function reply(inv, outcome, type, message, resultJson) {
  if (inv.done) return;
  inv.done = true;
  invocations.delete(inv.id);
  inv.ctx.inflight.delete(inv);
  if (inv.hang !== null) clearTimeout(inv.hang);
  if (inv.timers.size > 0) {
    const ids = [...inv.timers.keys()];
    for (const h of inv.timers.values()) clearTimeout(h);
    inv.timers.clear();
    // Let the prelude forget the callbacks at its next dispatch.
    if (!inv.ctx.dead) inv.ctx.queue.push('["c",' + JSON.stringify(ids) + ']');
  }
  let line = '{"t":"r","i":' + inv.id + ',"o":"' + outcome + '"';
  if (type) {
    line += ',"e":{"type":' + JSON.stringify(type) + ',"message":' +
      JSON.stringify(truncate(message, MAX_ERROR_MESSAGE)) + '}';
  }
  if (resultJson !== undefined) {
    if (resultJson.length > MAX_RESULT_BYTES) {
      pushLog(inv, 'warn', `[runtime] return value dropped: larger than ${MAX_RESULT_BYTES} bytes`);
    } else {
      line += ',"r":' + resultJson;
    }
  }
  if (!inv.stream && inv.logs.length > 0) line += ',"l":[' + inv.logs.join(',') + ']';
  send(line + '}\n');
}

function truncate(s, n) {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

// Control characters other than newline and tab would let a log line rewrite a
// terminal (ANSI) or fake other lines (CR): show them escaped instead.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g;
function escapeControl(s) {
  return s.replace(CONTROL, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

function pushLog(inv, level, message) {
  if (inv.done || inv.logTruncated) return;
  let text = escapeControl(truncate(message, MAX_LOG_LINE_BYTES));
  if (inv.logs.length >= MAX_LOG_LINES || inv.logBytes + text.length > MAX_LOG_BYTES) {
    inv.logTruncated = true;
    level = 'warn';
    text = '[runtime] log output truncated';
  }
  inv.logBytes += text.length;
  const entry = '{"level":"' + level + '","message":' + JSON.stringify(text) + '}';
  if (inv.stream) send('{"t":"l","i":' + inv.id + ',"x":' + entry + '}\n');
  else inv.logs.push(entry);
}

// ---------------------------------------------------------------- the bridge
const OUTCOMES = new Set(['success', 'bad_request', 'message_rejected',
  'unsupported_event_type', 'retry', 'dropped', 'invalid_settings']);
const LEVELS = new Set(['log', 'info', 'warn', 'error', 'debug']);

function makeBridge(ctx) {
  // Arguments are checked with `typeof` only (no property reads, no coercion that
  // could call back into the context). Errors never propagate: a host Error object
  // handed into a context would give user code the host's constructors.
  return function bridge(op, a, b, c, d, e) {
    try {
      return handle(ctx, op, a, b, c, d, e);
    } catch (_) {
      return -1;
    }
  };
}

const str = (v) => typeof v === 'string';
const num = (v) => typeof v === 'number' && Number.isFinite(v);

function handle(ctx, op, a, b, c, d, e) {
  switch (op) {
    case 'take': {
      const q = ctx.queue;
      if (q.length === 0) return '';
      ctx.queue = [];
      return q.length === 1 ? '[' + q[0] + ']' : '[' + q.join(',') + ']';
    }
    case 'enter': {
      // Attribute what follows (and its promise continuations) to invocation `a`.
      const inv = num(a) ? invocations.get(a) : undefined;
      if (inv !== undefined && inv.ctx === ctx) als.enterWith(inv);
      else als.enterWith(undefined);
      return 0;
    }
    case 'done': {
      const inv = num(a) ? invocations.get(a) : undefined;
      if (inv === undefined || inv.ctx !== ctx || !str(b) || !OUTCOMES.has(b)) return -1;
      const result = str(e) && e.indexOf('\n') === -1 ? e : undefined;
      reply(inv, b, str(c) && c ? truncate(c, 200) : '', str(d) ? d : '', result);
      return 0;
    }
    case 'log': {
      const inv = current(ctx);
      if (inv === undefined || !str(a) || !LEVELS.has(a) || !str(b)) return -1;
      pushLog(inv, a, b);
      return 0;
    }
    case 'timer': return addTimer(ctx, a, b, c);
    case 'clear': {
      const inv = current(ctx);
      if (inv !== undefined && num(a)) {
        const h = inv.timers.get(a);
        if (h !== undefined) {
          clearTimeout(h);
          inv.timers.delete(a);
        }
      }
      return 0;
    }
    case 'fetch': {
      const inv = current(ctx);
      if (inv === undefined || inv.done || !num(a) || !str(b) || b.indexOf('\n') !== -1) return -1;
      if (++inv.fetches > MAX_FETCHES) return -2;
      send('{"t":"f","i":' + inv.id + ',"q":' + a + ',"x":' + b + '}\n');
      return 0;
    }
    case 'hash': return digest(a, null, b, c);
    case 'hmac': return digest(a, b, c, d);
    case 'random': {
      if (!num(a) || a < 0 || a > 65536) return -1;
      return nodeCrypto.randomBytes(Math.floor(a)).toString('base64');
    }
    case 'uuid': return nodeCrypto.randomUUID();
    case 'url': return parseUrl(a, b);
    case 'keyinfo': return keyInfo(a, b, c);
    case 'sign': return signOrVerify(a, b, c, undefined);
    case 'verify': return signOrVerify(a, b, c, d);
    default: return -1;
  }
}

function current(ctx) {
  const inv = als.getStore();
  return inv !== undefined && inv.ctx === ctx && !inv.done ? inv : undefined;
}

const ENCODINGS = new Set(['hex', 'base64', 'base64url', 'latin1', 'binary']);
function digest(alg, keyB64, dataB64, enc) {
  if (!str(alg) || !str(dataB64) || !str(enc) || !ENCODINGS.has(enc)) return -1;
  if (dataB64.length > MAX_CRYPTO_INPUT) return -1;
  try {
    const data = Buffer.from(dataB64, 'base64');
    const h = keyB64 === null ? nodeCrypto.createHash(alg)
      : nodeCrypto.createHmac(alg, Buffer.from(str(keyB64) ? keyB64 : '', 'base64'));
    return h.update(data).digest(enc);
  } catch (err) {
    return '!' + String(err.message);
  }
}

function keyInfo(kind, text, passphrase) {
  if (!str(kind) || !str(text) || !str(passphrase) || text.length > 65536) return -1;
  try {
    const options = { key: text, format: 'pem' };
    if (passphrase) options.passphrase = passphrase;
    const key = kind === 'private' ? nodeCrypto.createPrivateKey(options)
      : nodeCrypto.createPublicKey(options);
    const details = {};
    for (const [k, v] of Object.entries(key.asymmetricKeyDetails || {})) {
      details[k] = typeof v === 'bigint' ? Number(v) : v;
    }
    const pem = key.type === 'private' ? key.export({ format: 'pem', type: 'pkcs8' })
      : key.export({ format: 'pem', type: 'spki' });
    return JSON.stringify({ type: key.type, asymmetricKeyType: key.asymmetricKeyType, details, pem });
  } catch (err) {
    return '!' + String(err.message);
  }
}

function signOrVerify(alg, spec, dataB64, sigB64) {
  if (!str(alg) || !str(spec) || !str(dataB64) || dataB64.length > MAX_CRYPTO_INPUT) return -1;
  try {
    const s = JSON.parse(spec);
    const key = { key: String(s.key) };
    if (typeof s.padding === 'number') key.padding = s.padding;
    if (typeof s.saltLength === 'number') key.saltLength = s.saltLength;
    if (s.dsaEncoding === 'der' || s.dsaEncoding === 'ieee-p1363') key.dsaEncoding = s.dsaEncoding;
    const data = Buffer.from(dataB64, 'base64');
    if (sigB64 === undefined) {
      return nodeCrypto.createSign(alg).update(data).sign(key, 'base64');
    }
    if (!str(sigB64)) return -1;
    return nodeCrypto.createVerify(alg).update(data).verify(key, Buffer.from(sigB64, 'base64'))
      ? '1' : '0';
  } catch (err) {
    return '!' + String(err.message);
  }
}

const URL_PARTS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port',
  'pathname', 'search', 'hash', 'origin'];
function parseUrl(input, base) {
  if (!str(input) || !(base === undefined || str(base))) return -1;
  try {
    const u = base === undefined ? new URL(input) : new URL(input, base);
    return JSON.stringify(URL_PARTS.map((k) => u[k]));
  } catch (err) {
    return '!Invalid URL: ' + input.slice(0, 200);
  }
}

function addTimer(ctx, id, delay, repeat) {
  const inv = current(ctx);
  if (inv === undefined || !num(id) || !num(delay)) return -1;
  if (inv.timers.size >= MAX_TIMERS) return -2;
  // A timer cannot outlive its invocation: the delay is capped by the deadline,
  // and pending timers are cancelled when the invocation ends.
  const ms = Math.min(Math.max(repeat === 1 ? 1 : 0, delay), Math.max(0, inv.deadline - Date.now()));
  const fire = () => {
    if (inv.done || ctx.dead) return;
    // Repeating timers are capped in callbacks (0 ms interval floods); one-shot
    // timers are bounded by their number and the time limit.
    if (repeat === 1 && ++inv.timerFires > MAX_TIMER_FIRES) {
      inv.timers.delete(id);
      pushLog(inv, 'warn', '[runtime] too many timer callbacks: timer cancelled');
      return;
    }
    if (repeat === 1) inv.timers.set(id, setTimeout(fire, ms));
    else inv.timers.delete(id);
    ctx.queue.push('["t",' + inv.id + ',' + id + ']');
    schedule(ctx);
  };
  inv.timers.set(id, setTimeout(fire, ms));
  return 0;
}

// ---------------------------------------------------------------- input
function onLine(line) {
  if (line.length === 0) return;
  // A message is a JSON header, then raw JSON fields separated by tabs (JSON text
  // never contains a raw tab): the event and settings pass through to the context
  // as text, without being parsed and re-serialised here.
  const tab = line.indexOf('\t');
  const header = JSON.parse(tab === -1 ? line : line.slice(0, tab));
  switch (header.t) {
    case 'i': {
      const rest = line.slice(tab + 1);
      const tab2 = rest.indexOf('\t');
      startInvocation(header, rest.slice(0, tab2), rest.slice(tab2 + 1));
      break;
    }
    case 'f': { // the result of a fetch, for the invocation that asked
      const inv = invocations.get(header.i);
      if (inv === undefined || inv.ctx.dead) break;
      inv.ctx.queue.push('["f",' + inv.id + ',' + header.q + ',' + line.slice(tab + 1) + ']');
      schedule(inv.ctx);
      break;
    }
    case 'ping':
      collectGarbage();
      send('{"t":"pong","contexts":' + contexts.size + ',"heap":' +
        process.memoryUsage().heapUsed + ',"timed":' + timedEntries + ',"entered":' +
        contextEntries + '}\n');
      break;
    case 'drop': { // forget every context (used by the benchmark to measure cold loads)
      for (const ctx of [...contexts.values()]) if (ctx.inflight.size === 0) dropContext(ctx);
      send('{"t":"dropped"}\n');
      break;
    }
    default:
      process.stderr.write('unknown message type\n');
  }
}

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const data = buffered + chunk;
  let start = 0;
  let nl;
  while ((nl = data.indexOf('\n', start)) !== -1) {
    const line = data.slice(start, nl);
    start = nl + 1;
    try {
      onLine(line);
    } catch (err) {
      process.stderr.write('worker: bad message: ' + String(err && err.stack) + '\n');
    }
  }
  buffered = data.slice(start);
});
process.stdin.on('end', () => process.exit(0));

// One function's rejected promise must not end the process serving the others.
process.on('unhandledRejection', () => {});
process.on('uncaughtException', (err) => {
  process.stderr.write('worker: uncaught: ' + String(err && err.stack) + '\n');
});

send('{"t":"ready","pid":' + process.pid + '}\n');
