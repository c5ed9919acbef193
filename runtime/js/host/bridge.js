'use strict';
// The bridge: the ONE host function each context receives (host/loading.js hands
// it to the prelude's installer, which keeps it in a closure: prelude/00-bridge.js),
// and what each of its operations does.
//
// Rules kept here:
//   * only strings and numbers cross it, in either direction: arguments are checked
//     with `typeof` only, and answers are strings or numbers (negative: refused);
//   * it never throws into a context and never returns objects;
//   * the host never reads properties of context objects: it exchanges JSON text
//     that the context produced with its own (captured) JSON functions, and what a
//     context describes (a fetch) is parsed, checked field by field and written
//     again, never spliced into a message;
//   * an operation acts only for a call of this context that is in flight; a call's
//     timers and fetches are bounded and do not outlive it.
const config = require('./config');
const { send } = require('./output');
const { hasOwn, isId, str, num } = require('./checks');
const { als, entry, afterEntry } = require('./guard');
const { enqueue, othersHoldMemory } = require('./contexts');
const { invocations, current, reply, pushLog, truncate } = require('./invocations');
const { relieveMemoryNow } = require('./memory');
const { schedule, takeQueue } = require('./scheduler');
const hostCrypto = require('./crypto');

const MAX_TIMERS = 100; // pending timers per invocation
const MAX_TIMER_FIRES = 1000; // interval callbacks per invocation (0 ms interval floods)
const MAX_FETCHES = config.maxFetches || 200; // requests per invocation

const OUTCOMES = new Set([
  'success',
  'bad_request',
  'message_rejected',
  'unsupported_event_type',
  'retry',
  'dropped',
  'invalid_settings',
]);
const LEVELS = new Set(['log', 'info', 'warn', 'error', 'debug']);

function makeBridge(ctx) {
  // Arguments are checked with `typeof` only (no property reads, no coercion that
  // could call back into the context). Errors never propagate: a host Error object
  // handed into a context would give user code the host's constructors.
  return function bridge(op, a, b, c, d, e, f) {
    try {
      return handle(ctx, op, a, b, c, d, e, f);
    } catch (_) {
      return -1;
    }
  };
}

function handle(ctx, op, a, b, c, d, e, f) {
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
        entry.inv = inv;
      } else {
        als.enterWith(undefined);
        entry.inv = null;
      }
      return 0;
    }
    case 'done': {
      const inv = num(a) ? invocations.get(a) : undefined;
      if (inv === undefined || inv.ctx !== ctx || inv.finishing || !str(b) || !OUTCOMES.has(b)) {
        return -1;
      }
      // Recorded now, answered after the timed entry (host/guard.js, afterEntry).
      if (
        b === 'bad_request' &&
        c === 'RangeError' &&
        str(d) &&
        d.indexOf('allocation failed') !== -1 &&
        othersHoldMemory(ctx)
      ) {
        // Out of (off-heap) memory while other functions' contexts hold some: not
        // this call's fault. Free what idle contexts hold; the call can be retried.
        afterEntry(() => {
          reply(
            inv,
            'retry',
            'MemoryLimitExceeded',
            'memory ran short on the worker (held ' +
              'by other functions); this invocation can be retried',
            undefined,
          );
          relieveMemoryNow();
        });
      } else {
        const type = str(c) && c ? truncate(c, 200) : '';
        const message = str(d) ? d : '';
        const resultJson = str(e) ? e : undefined;
        const where = str(f) && /^\d{1,9}:\d{1,9}$/.test(f) ? f : undefined;
        afterEntry(() => reply(inv, b, type, message, resultJson, where));
      }
      inv.finishing = true;
      return 0;
    }
    case 'log': {
      const inv = current(ctx);
      if (inv === undefined || !str(a) || !LEVELS.has(a) || !str(b)) return -1;
      pushLog(inv, a, b);
      return 0;
    }
    case 'timer':
      return addTimer(ctx, a, b, c);
    case 'clear': {
      const inv = current(ctx);
      if (inv !== undefined && num(a)) {
        const h = inv.timers.get(a);
        if (h !== undefined) {
          inv.timers.delete(a);
          if (h) afterEntry(() => clearTimeout(h));
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
    case 'hash':
      return hostCrypto.digest(a, null, b, c);
    case 'hmac':
      return hostCrypto.digest(a, b, c, d);
    case 'random':
      return hostCrypto.randomBytes(a);
    case 'uuid':
      return hostCrypto.randomUUID();
    case 'url':
      return parseUrl(a, b);
    case 'keyinfo':
      return hostCrypto.keyInfo(a, b, c);
    case 'sign':
      return hostCrypto.signOrVerify(a, b, c, undefined);
    case 'verify':
      return hostCrypto.signOrVerify(a, b, c, d);
    default:
      return -1;
  }
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

const URL_PARTS = [
  'href',
  'protocol',
  'username',
  'password',
  'host',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
  'origin',
];
function parseUrl(input, base) {
  if (!str(input) || !(base === undefined || str(base))) return -1;
  try {
    const u = base === undefined ? new URL(input) : new URL(input, base);
    return JSON.stringify(URL_PARTS.map((k) => u[k]));
  } catch (_) {
    return '!Invalid URL: ' + input.slice(0, 200);
  }
}

function addTimer(ctx, id, delay, repeat) {
  const inv = current(ctx);
  if (inv === undefined || !num(id) || !num(delay)) return -1;
  if (inv.timers.size >= MAX_TIMERS) return -2;
  // A timer cannot outlive its invocation: pending timers are cancelled when it ends.
  const ms = Math.max(repeat === 1 ? 1 : 0, delay);
  const fire = () => {
    if (inv.done || ctx.dead) return;
    // Repeating timers are capped in callbacks (0 ms interval floods); one-shot
    // timers are bounded by their number and the time limit.
    if (repeat === 1 && ++inv.timerFires > MAX_TIMER_FIRES) {
      inv.timers.delete(id);
      pushLog(inv, 'warn', '[runtime] too many timer callbacks: timer cancelled');
      return;
    }
    if (repeat === 1) arm(inv, id, fire, ms);
    else inv.timers.delete(id);
    enqueue(ctx, inv, '["t",' + inv.id + ',' + id + ']');
    schedule(ctx);
  };
  // Counted now; the Node timer is made after the timed entry (host/guard.js), unless
  // the call ended or the code cleared it by then.
  inv.timers.set(id, null);
  afterEntry(() => {
    if (!inv.done && inv.timers.get(id) === null) arm(inv, id, fire, ms);
  });
  return 0;
}

// A timer due at or after the call's deadline can never fire within the call: it
// gets no Node timer (shortening it to the time left would make it fire at the
// deadline, racing the call's own time limit; and Node fires a delay over 2^31 ms
// at once). It stays registered, so that clearing it still works.
const NEVER = false;
function arm(inv, id, fire, ms) {
  inv.timers.set(id, ms < inv.deadline - Date.now() ? setTimeout(fire, ms) : NEVER);
}

module.exports = { makeBridge };
