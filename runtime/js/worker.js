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

// Dynamic import() cannot be offered safely: Node answers it with objects of the
// host realm (a host TypeError, whose prototype chain leads to the host's
// Object.prototype), and a loader callback needs --experimental-vm-modules. So code
// that calls it is refused before it runs -- and that decision is V8's own, not a
// pattern's: a source that compiles is compiled again with every `import` word
// spelled `enum`. Inside strings, comments (HTML-like ones included), templates and
// regular expressions that changes nothing; as a property name (`a.import`,
// `{import: 1}`, methods) `enum` is as valid as `import`; and in code position,
// where a compiling script can only hold `import(` (static imports and import.meta
// are syntax errors in a script), `enum` is a syntax error. The check is linear
// (no backtracking pattern over the user's source) and costs a second compile only
// for sources that contain the word.
const IMPORT_WORD = /\bimport\b/;
const IMPORT_WORDS = /\bimport\b/g;

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
let guardedStore; // als store when the last timed entry ended
let enteredInv = null; // the call the prelude last entered for (see 'enter')
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
    guardedStore = als.getStore(); // the call whose code was running (if cut short)
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
// No message may exceed this (Python refuses longer lines): the biggest legitimate
// one is a fetch with a 5 MB body (about 7 MB of base64) and its headers.
const MAX_MESSAGE_CHARS = 8 * 1024 * 1024;
function flushOut() {
  outScheduled = false;
  if (outQueue.length === 0) return;
  const data = outQueue.join('');
  outQueue = [];
  process.stdout.write(data);
}
function send(line) {
  if (line.length > MAX_MESSAGE_CHARS) {
    process.stderr.write('worker: message too large, dropped\n');
    return;
  }
  outQueue.push(line);
  if (!outScheduled) {
    outScheduled = true;
    setImmediate(flushOut);
  }
}

// ---------------------------------------------------------------- contexts
const contexts = new Map(); // key -> Ctx, in LRU order (oldest first)
const invocations = new Map(); // id -> Inv

class Ctx {
  constructor(key) {
    this.key = key;
    this.global = null;
    this.queue = []; // JSON texts of messages waiting for the next dispatch
    this.owners = []; // the invocation each of them is for (null: none)
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
  if (ctx.dead) return;
  ctx.dead = true;
  contexts.delete(ctx.key);
  ctx.global = null;
  // Python must send the code again next time (it never relies on a guess).
  send('{"t":"d","k":' + JSON.stringify(ctx.key) + '}\n');
}

function needs(code) {
  const files = [];
  for (const [file, re] of LIBRARIES) if (re.test(code)) files.push(file);
  return files;
}

// Create the context and run the prelude, the libraries and the user's code.
// Returns null on success, or [outcome, type, message] when loading failed.
function loadContext(ctx, code, inv) {
  let script;
  try {
    script = new vm.Script(code, { filename: 'handler.js' });
  } catch (e) {
    return ['bad_request', 'SyntaxError', describeSyntaxError(e)];
  }
  // Dynamic import() would hand the code host-realm objects: refuse it (see
  // IMPORT_WORD above) before anything runs.
  if (IMPORT_WORD.test(code)) {
    try {
      new vm.Script(code.replace(IMPORT_WORDS, 'enum'), { filename: 'handler.js' });
    } catch (e) {
      const where = describeSyntaxError(e).match(/\(line \d+/);
      return ['bad_request', 'SyntaxError', 'import() is not available in functions' +
        (where ? ' ' + where[0] + ')' : '') + '; use the provided globals'];
    }
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

function startInvocation(id, key, handler, timeout, stream, code, settings, payload) {
  if (invocations.has(id)) throw new Error('duplicate invocation id');
  let ctx = contexts.get(key);
  if (ctx === undefined) {
    if (code === undefined) {
      send('{"t":"m","i":' + id + '}\n'); // not loaded here: Python resends with the code
      return;
    }
    ctx = new Ctx(key);
    const inv = new Inv(id, ctx, timeout, stream);
    const failure = loadContext(ctx, code, inv);
    if (failure !== null) {
      ctx.global = null;
      ctx.dead = true;
      reply(inv, failure[0], failure[1], failure[2], undefined);
      // Python marked the code as sent: tell it nothing was kept.
      send('{"t":"d","k":' + JSON.stringify(key) + '}\n');
      return;
    }
    contexts.set(ctx.key, ctx);
    evictIfNeeded();
    begin(ctx, inv, handler, settings, payload);
    return;
  }
  touch(ctx);
  begin(ctx, new Inv(id, ctx, timeout, stream), handler, settings, payload);
}

function begin(ctx, inv, handler, settings, payload) {
  invocations.set(inv.id, inv);
  ctx.inflight.add(inv);
  inv.hang = setTimeout(onHang, inv.timeout, inv);
  enqueue(ctx, inv, '["i",' + inv.id + ',' + JSON.stringify(handler) + ',' + settings + ',' +
    payload + ']');
  schedule(ctx);
}

// A promise that never settles: answer Timeout; the context itself stays usable.
function onHang(inv) {
  if (inv.done) return;
  reply(inv, 'timeout', 'Timeout', `the function did not finish within ${inv.timeout} ms`,
    undefined);
}

function enqueue(ctx, inv, text) {
  ctx.queue.push(text);
  ctx.owners.push(inv);
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
    // A call whose deadline passed while the worker was busy is answered Timeout
    // now, and what was queued for it (a late fetch answer, a timer) is dropped:
    // it must not run, nor end the call with another outcome.
    expire(ctx, now);
    let deadline = Infinity;
    const owners = ctx.owners;
    for (let i = 0; i < owners.length; i++) {
      const inv = owners[i];
      if (inv !== null && inv.deadline < deadline) deadline = inv.deadline;
    }
    if (ctx.queue.length === 0) continue;
    // The earliest deadline among the calls with something queued (not among all
    // the calls in flight: a fresh call is not shortened by a sibling near its end).
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
  relieveMemory(false);
}

function expire(ctx, now) {
  if (ctx.inflight.size > 0) {
    for (const inv of ctx.inflight) {
      if (inv.deadline <= now) {
        reply(inv, 'timeout', 'Timeout', `the function did not finish within ${inv.timeout} ms`,
          undefined);
      }
    }
  }
  const owners = ctx.owners;
  let stale = false;
  for (let i = 0; i < owners.length; i++) {
    if (owners[i] !== null && owners[i].done) {
      stale = true;
      break;
    }
  }
  if (!stale) return;
  const queue = [];
  const kept = [];
  for (let i = 0; i < owners.length; i++) {
    if (owners[i] === null || !owners[i].done) {
      queue.push(ctx.queue[i]);
      kept.push(owners[i]);
    }
  }
  ctx.queue = queue;
  ctx.owners = kept;
}

// The messages of `ctx` that may run in the current timed entry: those of calls
// whose deadline is not later than the entry's end (a call is never stopped before
// its own deadline). The others stay queued for an entry of their own.
let entryEnd = Infinity;
function takeQueue(ctx) {
  const q = ctx.queue;
  const owners = ctx.owners;
  let later = false;
  for (let i = 0; i < owners.length; i++) {
    const inv = owners[i];
    if (inv !== null && (inv.done || inv.deadline > entryEnd)) {
      later = true;
      break;
    }
  }
  if (!later) {
    ctx.queue = [];
    ctx.owners = [];
    return q;
  }
  const taken = [];
  const queue = [];
  const kept = [];
  for (let i = 0; i < owners.length; i++) {
    const inv = owners[i];
    if (inv === null || inv.deadline <= entryEnd) {
      if (inv === null || !inv.done) taken.push(q[i]);
    } else {
      queue.push(q[i]);
      kept.push(inv);
    }
  }
  ctx.queue = queue;
  ctx.owners = kept;
  if (queue.length > 0) schedule(ctx);
  return taken;
}

// The heap and the off-heap memory (ArrayBuffers, capped by the OS data limit) are
// shared by every context on this worker: memory one function parks in its globals
// must not make the next function run out of it (and be blamed). When either stays
// above half its limit (a quarter of the OS data limit for off-heap memory) after a
// full collection, idle contexts (nothing in flight)
// are dropped one at a time, least recently used first, until it no longer does
// (their globals are a cache, as on Segment). When dropping does not help (the
// memory is held by calls in flight), nothing more is dropped until usage grows
// again, and full collections are rate-limited.
const HEAP_HIGH = (config.memoryMb || 128) * 1024 * 1024 / 2;
const EXTERNAL_HIGH = Math.max(1024, 4 * (config.memoryMb || 128)) * 1024 * 1024 / 4;
const HEAP_RECHECK_MS = 1000;
const EVICT_MAX_PER_ROUND = 8;
const HELP_BYTES = 1024 * 1024; // a drop that frees less than this did not help
const REGROW_BYTES = 8 * 1024 * 1024;
let heapQuietUntil = 0;
let noHelpAt = Infinity; // usage when dropping last did not help
function memoryUsed() {
  const s = v8.getHeapStatistics();
  return [s.used_heap_size, s.external_memory];
}
function pressure(used) {
  return used[0] >= HEAP_HIGH || used[1] >= EXTERNAL_HIGH;
}
function relieveMemory(force) {
  let used = memoryUsed();
  if (!pressure(used)) {
    noHelpAt = Infinity;
    return;
  }
  const now = Date.now();
  if (now < heapQuietUntil) return;
  heapQuietUntil = now + HEAP_RECHECK_MS; // at most one round of collections a second
  collectGarbage();
  used = memoryUsed();
  if (!pressure(used)) {
    noHelpAt = Infinity;
    return;
  }
  if (!force && noHelpAt !== Infinity && used[0] + used[1] < noHelpAt + REGROW_BYTES) return;
  let dropped = 0;
  for (const ctx of [...contexts.values()]) { // oldest first
    if (dropped >= EVICT_MAX_PER_ROUND) break;
    if (ctx.inflight.size !== 0 || ctx.dead || ctx === running) continue;
    const before = used[0] + used[1];
    dropContext(ctx);
    dropped++;
    collectGarbage();
    used = memoryUsed();
    if (!pressure(used)) {
      noHelpAt = Infinity;
      return;
    }
    if (before - (used[0] + used[1]) < HELP_BYTES && !force) {
      // This one held nothing: the memory is most likely held by calls in flight.
      noHelpAt = used[0] + used[1];
      return;
    }
  }
  if (dropped === 0) noHelpAt = used[0] + used[1];
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
    enteredInv = null;
    contextEntries++;
    try {
      DISPATCH.runInContext(ctx.global, QUIET);
      running = null;
    } catch (_) {
      // Not a timeout (termination is not catchable): the prelude's dispatch
      // itself failed, e.g. the stack was exhausted around it.
      running = null;
      als.enterWith(undefined);
      failContext(ctx, 'bad_request', 'Error', 'the function broke its runtime', null);
    }
  }
  groupIndex = list.length;
}

function dispatchGroup(list) {
  entryEnd = list[list.length - 1].deadline;
  const timeout = Math.max(1, entryEnd - Date.now());
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
  entryEnd = Infinity;
  if (!failed) return;
  const culprit = running;
  running = null;
  if (culprit !== null) {
    if (timedOut) {
      // The call that was running when the time ran out: the one whose code was
      // executing (its async context), else the last one the prelude entered for.
      let inv = guardedStore;
      if (inv === undefined || inv.ctx !== culprit || inv.done) inv = enteredInv;
      if (inv === null || inv === undefined || inv.ctx !== culprit || inv.done) inv = null;
      failContext(culprit, 'timeout', 'Timeout', 'the function exceeded its time limit', inv);
    } else {
      failContext(culprit, 'bad_request', 'Error', 'the function broke its runtime', null);
    }
  }
  // The contexts not entered yet keep their queues: dispatch them again.
  for (let i = culprit !== null ? groupIndex + 1 : groupIndex; i < list.length; i++) {
    schedule(list[i]);
  }
}

// A synchronous loop (possibly after an await) ran into the vm timeout. The context
// is discarded, since its state may be half-updated. The call that was running
// (`inv`, when known) is answered `outcome`; the other calls in flight in it did
// nothing wrong: they come back retryable. When the running call is not known,
// every call in flight is answered `outcome`.
function failContext(ctx, outcome, type, message, inv) {
  for (const other of [...ctx.inflight]) {
    if (inv === null || other === inv) {
      reply(other, outcome, type, `${message} (${other.timeout} ms)`, undefined);
    } else {
      reply(other, 'retry', 'Interrupted', 'another invocation of this function exceeded its ' +
        'time limit and its state was reset; this invocation can be retried', undefined);
    }
  }
  dropContext(ctx);
}

function reply(inv, outcome, type, message, resultJson) {
  if (inv.done) return;
  // Checked before the call is marked done, so that the warning is still logged.
  if (resultJson !== undefined) {
    if (resultJson.length > MAX_RESULT_BYTES) {
      pushLog(inv, 'warn', `[runtime] return value dropped: larger than ${MAX_RESULT_BYTES} bytes`);
      resultJson = undefined;
    } else if (!isJsonValue(resultJson)) {
      pushLog(inv, 'warn', '[runtime] return value dropped: not plain JSON or nested deeper than ' +
        MAX_RESULT_DEPTH + ' levels');
      resultJson = undefined;
    }
  }
  inv.done = true;
  invocations.delete(inv.id);
  inv.ctx.inflight.delete(inv);
  if (inv.hang !== null) clearTimeout(inv.hang);
  if (inv.timers.size > 0) {
    const ids = [...inv.timers.keys()];
    for (const h of inv.timers.values()) clearTimeout(h);
    inv.timers.clear();
    // Let the prelude forget the callbacks at its next dispatch.
    if (!inv.ctx.dead) enqueue(inv.ctx, null, '["c",' + JSON.stringify(ids) + ']');
  }
  let line = '{"t":"r","i":' + inv.id + ',"o":"' + outcome + '"';
  if (type) {
    line += ',"e":{"type":' + JSON.stringify(type) + ',"message":' +
      JSON.stringify(truncate(message, MAX_ERROR_MESSAGE)) + '}';
  }
  if (resultJson !== undefined) line += ',"r":' + resultJson;
  if (!inv.stream && inv.logs.length > 0) line += ',"l":[' + inv.logs.join(',') + ']';
  send(line + '}\n');
}

// The return value is JSON text made by the context: it goes into the reply only if
// it is exactly one JSON value on one line (so it cannot add or override keys of
// the reply) and not nested deeper than Python's parser can take.
const MAX_RESULT_DEPTH = 200;
function isJsonValue(text) {
  if (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1) return false;
  try {
    JSON.parse(text);
  } catch (_) {
    return false;
  }
  if (text.length <= MAX_RESULT_DEPTH * 2) return true;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > MAX_RESULT_DEPTH) return false;
    } else if (c === 93 || c === 125) depth--;
  }
  return true;
}

// A fetch description from the prelude, checked field by field and re-serialised
// (null when invalid). Python checks it again (runtime/fetch.py, parse_spec).
const FETCH_KEYS = ['method', 'url', 'headers', 'body', 'redirect', 'follow', 'timeout'];
const REDIRECTS = new Set(['follow', 'manual', 'error']);
const MAX_FETCH_URL = 8192;
const MAX_FETCH_HEADERS = 100;
const MAX_FETCH_HEADER_NAME = 256;
const MAX_FETCH_HEADER_VALUE = 8192;
const MAX_FETCH_BODY_B64 = Math.ceil((5 * 1024 * 1024) / 3) * 4;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
function fetchSpec(text) {
  if (text.length > MAX_FETCH_BODY_B64 + 2 * 1024 * 1024) return null;
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (_) {
    return null;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const keys = Object.keys(raw);
  if (keys.length !== FETCH_KEYS.length) return null;
  for (const k of FETCH_KEYS) if (!hasOwn(raw, k)) return null;
  const { method, url, headers, body, redirect, follow, timeout } = raw;
  if (!str(method) || !/^[A-Za-z]{1,16}$/.test(method)) return null;
  if (!str(url) || url.length > MAX_FETCH_URL) return null;
  if (!Array.isArray(headers) || headers.length > MAX_FETCH_HEADERS) return null;
  const pairs = [];
  for (const h of headers) {
    if (!Array.isArray(h) || h.length !== 2) return null;
    const [k, v] = h;
    if (!str(k) || k.length > MAX_FETCH_HEADER_NAME || !HEADER_NAME.test(k)) return null;
    if (!str(v) || v.length > MAX_FETCH_HEADER_VALUE || /[\r\n\0]/.test(v)) return null;
    pairs.push([k, v]);
  }
  if (!(body === null || (str(body) && body.length <= MAX_FETCH_BODY_B64))) return null;
  if (!REDIRECTS.has(redirect)) return null;
  if (!Number.isSafeInteger(follow) || follow < 0 || follow > 1000) return null;
  if (!Number.isSafeInteger(timeout) || timeout < 0) return null;
  return JSON.stringify({ method, url, headers: pairs, body, redirect, follow, timeout });
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
      const q = takeQueue(ctx);
      if (q.length === 0) return '';
      return q.length === 1 ? '[' + q[0] + ']' : '[' + q.join(',') + ']';
    }
    case 'enter': {
      // Attribute what follows (and its promise continuations) to invocation `a`.
      const inv = num(a) ? invocations.get(a) : undefined;
      if (inv !== undefined && inv.ctx === ctx) {
        als.enterWith(inv);
        enteredInv = inv;
      } else {
        als.enterWith(undefined);
        enteredInv = null;
      }
      return 0;
    }
    case 'done': {
      const inv = num(a) ? invocations.get(a) : undefined;
      if (inv === undefined || inv.ctx !== ctx || !str(b) || !OUTCOMES.has(b)) return -1;
      if (b === 'bad_request' && c === 'RangeError' && str(d) &&
        d.indexOf('allocation failed') !== -1 && othersHoldMemory(ctx)) {
        // Out of (off-heap) memory while other functions' contexts hold some: not
        // this call's fault. Free what idle contexts hold; the call can be retried.
        reply(inv, 'retry', 'MemoryLimitExceeded', 'memory ran short on the worker (held by ' +
          'other functions); this invocation can be retried', undefined);
        heapQuietUntil = 0;
        relieveMemory(true);
        return 0;
      }
      reply(inv, b, str(c) && c ? truncate(c, 200) : '', str(d) ? d : '', str(e) ? e : undefined);
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
      if (inv === undefined || inv.done || !isId(a) || !str(b)) return -1;
      // The description comes from the context: parse it, check every field and
      // write it again; never splice the context's text into a message.
      const spec = fetchSpec(b);
      if (spec === null) return -3;
      if (++inv.fetches > MAX_FETCHES) return -2;
      send('{"t":"f","i":' + inv.id + ',"q":' + a + ',"x":' + spec + '}\n');
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

function othersHoldMemory(ctx) {
  for (const other of contexts.values()) if (other !== ctx) return true;
  return false;
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

// ------------------------------------------------------------ keys
// Native crypto work cannot be interrupted by the vm timeout, so keys are vetted
// before OpenSSL sees them: encrypted PKCS#8 keys whose key derivation is too costly
// (PBKDF2 with 2^31 iterations runs for minutes) are refused, and so are key sizes
// that make one signature or verification slow.
const MAX_KDF_ITERATIONS = 1000000;
const MAX_SCRYPT_BYTES = 64 * 1024 * 1024; // 128 * N * r
const MAX_SCRYPT_PARALLEL = 16;
const MAX_MODULUS_BITS = 8192; // RSA, RSA-PSS, DSA
const MAX_PUBLIC_EXPONENT = 2n ** 32n;
const KEY_TYPES = new Set(['rsa', 'rsa-pss', 'dsa', 'ec', 'ed25519', 'ed448', 'x25519', 'x448']);
const OID_PBES2 = '2a864886f70d01050d';
const OID_PBKDF2 = '2a864886f70d01050c';
const OID_SCRYPT = '2b06010401da47040b';

// One DER element at `pos`: [tag, contentStart, contentEnd]; throws when malformed.
function derAt(buf, pos, limit) {
  if (pos + 2 > limit) throw new Error('truncated');
  const tag = buf[pos];
  let len = buf[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  if (start + len > limit) throw new Error('truncated');
  return [tag, start, start + len];
}
function derChildren(buf, el) {
  const out = [];
  for (let pos = el[1]; pos < el[2];) {
    const c = derAt(buf, pos, el[2]);
    out.push(c);
    pos = c[2];
  }
  return out;
}
function derInt(buf, el) { // a small non-negative INTEGER, or Infinity
  if (el[0] !== 0x02 || el[2] === el[1] || (buf[el[1]] & 0x80)) throw new Error('bad integer');
  let start = el[1];
  while (start < el[2] - 1 && buf[start] === 0) start++;
  if (el[2] - start > 6) return Infinity;
  let v = 0;
  for (let i = start; i < el[2]; i++) v = v * 256 + buf[i];
  return v;
}
const hex = (buf, el) => buf.toString('hex', el[1], el[2]);

// Refuses (throws) an EncryptedPrivateKeyInfo whose key derivation is too costly.
function vetEncryptedKey(der) {
  const top = derAt(der, 0, der.length);
  const parts = top[0] === 0x30 ? derChildren(der, top) : [];
  if (parts.length !== 2 || parts[0][0] !== 0x30 || parts[1][0] !== 0x04) return false;
  const alg = derChildren(der, parts[0]);
  if (alg.length !== 2 || alg[0][0] !== 0x06 || alg[1][0] !== 0x30) throw new Error('bad algorithm');
  const params = derChildren(der, alg[1]);
  if (hex(der, alg[0]) !== OID_PBES2) {
    // PBES1 and PKCS#12 schemes: SEQUENCE { salt, iterations }
    if (params.length !== 2 || derInt(der, params[1]) > MAX_KDF_ITERATIONS) {
      throw new Error('key derivation too costly');
    }
    return true;
  }
  const kdf = params.length === 2 && params[0][0] === 0x30 ? derChildren(der, params[0]) : [];
  if (kdf.length !== 2 || kdf[0][0] !== 0x06 || kdf[1][0] !== 0x30) throw new Error('bad kdf');
  const kp = derChildren(der, kdf[1]);
  const oid = hex(der, kdf[0]);
  if (oid === OID_PBKDF2) {
    if (kp.length < 2 || derInt(der, kp[1]) > MAX_KDF_ITERATIONS) {
      throw new Error('key derivation too costly');
    }
  } else if (oid === OID_SCRYPT) {
    if (kp.length < 4) throw new Error('bad scrypt parameters');
    const n = derInt(der, kp[1]);
    const r = derInt(der, kp[2]);
    const p = derInt(der, kp[3]);
    if (128 * n * r > MAX_SCRYPT_BYTES || p > MAX_SCRYPT_PARALLEL ||
      128 * n * r * p > MAX_SCRYPT_BYTES * 4) {
      throw new Error('key derivation too costly');
    }
  } else {
    throw new Error('unsupported key derivation');
  }
  return true;
}

// Every PEM block of `text` (linear scan, no pattern), vetted when encrypted.
function vetKeyText(text) {
  if (text.indexOf('ENCRYPTED') === -1) return;
  let pos = 0;
  for (;;) {
    const begin = text.indexOf('-----BEGIN ', pos);
    if (begin === -1) return;
    const labelEnd = text.indexOf('-----', begin + 11);
    if (labelEnd === -1) return;
    const end = text.indexOf('-----END ', labelEnd + 5);
    if (end === -1) return;
    const label = text.slice(begin + 11, labelEnd);
    const body = text.slice(labelEnd + 5, end).split('\n').filter((l) => l.indexOf(':') === -1)
      .join('');
    let encrypted = false;
    try {
      encrypted = vetEncryptedKey(Buffer.from(body, 'base64'));
    } catch (err) {
      if (err.message === 'key derivation too costly') throw err;
      if (label.indexOf('ENCRYPTED') !== -1) throw new Error('unsupported encrypted key');
    }
    if (!encrypted && label.indexOf('ENCRYPTED PRIVATE KEY') !== -1) {
      throw new Error('unsupported encrypted key');
    }
    pos = end + 9;
  }
}

function vetKeyObject(key) {
  if (!KEY_TYPES.has(key.asymmetricKeyType)) throw new Error('unsupported key type');
  const d = key.asymmetricKeyDetails || {};
  if (typeof d.modulusLength === 'number' && d.modulusLength > MAX_MODULUS_BITS) {
    throw new Error(`keys larger than ${MAX_MODULUS_BITS} bits are not supported`);
  }
  if (typeof d.publicExponent === 'bigint' && d.publicExponent > MAX_PUBLIC_EXPONENT) {
    throw new Error('public exponent too large');
  }
  if (key.asymmetricKeyType === 'ec' && typeof d.namedCurve !== 'string') {
    throw new Error('only named curves are supported');
  }
  return key;
}

// A vetted KeyObject (throws with a message for the function otherwise).
function loadKey(kind, text, passphrase) {
  vetKeyText(text);
  const options = { key: text, format: 'pem' };
  if (passphrase) options.passphrase = passphrase;
  return vetKeyObject(kind === 'private' ? nodeCrypto.createPrivateKey(options)
    : nodeCrypto.createPublicKey(options));
}

function keyInfo(kind, text, passphrase) {
  if (!str(kind) || !str(text) || !str(passphrase) || text.length > 65536) return -1;
  try {
    const key = loadKey(kind, text, passphrase);
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
    const text = String(own(s, 'key'));
    if (text.length > 65536) return '!key too large';
    const key = { key: loadKey(sigB64 === undefined ? 'private' : 'public', text, '') };
    const padding = own(s, 'padding');
    const saltLength = own(s, 'saltLength');
    const dsaEncoding = own(s, 'dsaEncoding');
    if (typeof padding === 'number') key.padding = padding;
    if (typeof saltLength === 'number') key.saltLength = saltLength;
    if (dsaEncoding === 'der' || dsaEncoding === 'ieee-p1363') key.dsaEncoding = dsaEncoding;
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
    enqueue(ctx, inv, '["t",' + inv.id + ',' + id + ']');
    schedule(ctx);
  };
  inv.timers.set(id, setTimeout(fire, ms));
  return 0;
}

// ---------------------------------------------------------------- input
// Messages from Python are parsed into host objects: read only their OWN properties
// of the expected types (an inherited `c` must never supply code), whatever happens
// to the host's prototypes (which are frozen anyway, see the end of this file).
const hasOwn = Object.hasOwn;
function own(obj, key) {
  return hasOwn(obj, key) ? obj[key] : undefined;
}
const isId = (v) => Number.isSafeInteger(v) && v > 0;
const HANDLER_SET = new Set(HANDLERS);

function onLine(line) {
  if (line.length === 0) return;
  // A message is a JSON header, then raw JSON fields separated by tabs (JSON text
  // never contains a raw tab): the event and settings pass through to the context
  // as text, without being parsed and re-serialised here.
  const tab = line.indexOf('\t');
  const header = JSON.parse(tab === -1 ? line : line.slice(0, tab));
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new Error('not a message');
  }
  switch (own(header, 't')) {
    case 'i': {
      const id = own(header, 'i');
      const key = own(header, 'k');
      const handler = own(header, 'h');
      const timeout = own(header, 'to');
      const code = own(header, 'c');
      if (!isId(id) || !str(key) || !HANDLER_SET.has(handler) || !Number.isSafeInteger(timeout) ||
        timeout < 1 || !(code === undefined || str(code)) || tab === -1) {
        throw new Error('invalid invocation header');
      }
      const rest = line.slice(tab + 1);
      const tab2 = rest.indexOf('\t');
      if (tab2 === -1) throw new Error('invalid invocation message');
      startInvocation(id, key, handler, timeout, own(header, 's') === 1, code,
        rest.slice(0, tab2), rest.slice(tab2 + 1));
      break;
    }
    case 'f': { // the result of a fetch, for the invocation that asked
      const id = own(header, 'i');
      const q = own(header, 'q');
      const inv = isId(id) ? invocations.get(id) : undefined;
      if (inv === undefined || inv.ctx.dead || !isId(q) || tab === -1) break;
      enqueue(inv.ctx, inv, '["f",' + inv.id + ',' + q + ',' + line.slice(tab + 1) + ']');
      schedule(inv.ctx);
      break;
    }
    case 'hb': // liveness: answered at once, before any code runs for the calls
      // that follow it (pipes are written synchronously on Linux)
      process.stdout.write('{"t":"hb"}\n');
      break;
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

// A line can be megabytes long (a fetch result carries a 5 MB body): its chunks are
// kept in a list, only each new chunk is searched for the newline, and they are
// joined once, when the line is complete (linear in the line's length).
let partial = []; // chunks of the line being received (none holds a newline)
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  let start = 0;
  let nl;
  while ((nl = chunk.indexOf('\n', start)) !== -1) {
    let line = chunk.slice(start, nl);
    if (partial.length > 0) {
      partial.push(line);
      line = partial.join('');
      partial = [];
    }
    start = nl + 1;
    try {
      onLine(line);
    } catch (err) {
      process.stderr.write('worker: bad message: ' + String(err && err.stack) + '\n');
    }
  }
  if (start < chunk.length) partial.push(start === 0 ? chunk : chunk.slice(start));
});
process.stdin.on('end', () => process.exit(0));

// One function's rejected promise must not end the process serving the others.
process.on('unhandledRejection', () => {});
process.on('uncaughtException', (err) => {
  process.stderr.write('worker: uncaught: ' + String(err && err.stack) + '\n');
});

// Defence in depth: once start-up is over, freeze the host realm's intrinsics. The
// host's objects are never handed to a context by design, but if one ever leaked
// (as a host error could through import() before it was refused at load), its
// prototype chain must not let a function change how the host reads its own
// messages or builds replies (e.g. an inherited `Object.prototype.c`).
const HOST_INTRINSICS = ['Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Symbol',
  'BigInt', 'Date', 'RegExp', 'Error', 'AggregateError', 'EvalError', 'RangeError',
  'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'Promise', 'Proxy', 'Map', 'Set',
  'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'ArrayBuffer', 'SharedArrayBuffer',
  'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array',
  'BigUint64Array', 'JSON', 'Math', 'Reflect', 'Atomics', 'Iterator', 'Intl', 'SuppressedError',
  'DisposableStack', 'AsyncDisposableStack', 'WebAssembly', 'eval', 'isFinite', 'isNaN',
  'parseFloat', 'parseInt', 'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent',
  'escape', 'unescape'];
function freezeHostRealm() {
  process.stdout; // created lazily: before the freeze
  const roots = HOST_INTRINSICS.map((n) => globalThis[n]);
  // Intrinsics without a global name.
  roots.push(Object.getPrototypeOf(async function () {}), Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function* () {}), Object.getPrototypeOf(Uint8Array),
    Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(new Map().entries()),
    Object.getPrototypeOf(new Set().values()), Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(/x/[Symbol.matchAll]('')),
    Object.getPrototypeOf([].values().map((x) => x)), // iterator helpers
    Object.getPrototypeOf(Iterator.from({ next() { return { done: true }; } })));
  const seen = new Set();
  const stack = roots.filter((o) => o !== undefined);
  while (stack.length > 0) {
    const o = stack.pop();
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
    seen.add(o);
    Object.freeze(o);
    stack.push(Object.getPrototypeOf(o));
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d === undefined) continue;
      if ('value' in d) stack.push(d.value);
      else stack.push(d.get, d.set);
    }
  }
}
freezeHostRealm();

send('{"t":"ready","pid":' + process.pid + '}\n');
