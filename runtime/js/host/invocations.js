'use strict';
// The calls in flight, and how each one is answered.
//
// Rules kept here:
//   * a call is answered exactly once (`reply`, then `done`): by its handler's
//     outcome, by its time limit, or because its context was discarded;
//   * nothing outlives its call: its timers are cancelled and the prelude told to
//     forget them, its hang timer cleared, and the bridge ignores it from then on;
//   * logs are capped per call (lines, bytes, line length), control characters
//     escaped; a return value goes into the reply only if it is small enough and
//     exactly one JSON value on one line, not nested too deep (`isJsonValue`).
const config = require('./config');
const { send } = require('./output');
const { enqueue } = require('./contexts');
const { als } = require('./guard');

const MAX_LOG_BYTES = config.maxLogBytes || 64 * 1024; // per invocation
const MAX_LOG_LINES = config.maxLogLines || 1000; // per invocation
const MAX_LOG_LINE_BYTES = 8 * 1024;
const MAX_RESULT_BYTES = config.maxResultBytes || 256 * 1024;
const MAX_ERROR_MESSAGE = 4096;

const invocations = new Map(); // id -> Inv

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
    this.finishing = false; // its outcome is recorded, the reply follows the entry
    this.done = false;
  }
}

// The call `ctx` runs code for now (host/guard.js, als), unless it is over.
function current(ctx) {
  const inv = als.getStore();
  return inv !== undefined && inv.ctx === ctx && !inv.done && !inv.finishing ? inv : undefined;
}

// Past its deadline (a promise that never settles, or a call that waited too long in
// the queue): answer Timeout; the context itself stays usable.
function onHang(inv) {
  if (inv.done) return;
  reply(
    inv,
    'timeout',
    'Timeout',
    `the function did not finish within ${inv.timeout} ms`,
    undefined,
  );
}

function reply(inv, outcome, type, message, resultJson, where) {
  if (inv.done) return;
  // Checked before the call is marked done, so that the warning is still logged.
  if (resultJson !== undefined) {
    if (resultJson.length > MAX_RESULT_BYTES) {
      pushLog(inv, 'warn', `[runtime] return value dropped: larger than ${MAX_RESULT_BYTES} bytes`);
      resultJson = undefined;
    } else if (!isJsonValue(resultJson)) {
      pushLog(
        inv,
        'warn',
        '[runtime] return value dropped: not plain JSON or nested deeper than ' +
          MAX_RESULT_DEPTH +
          ' levels',
      );
      resultJson = undefined;
    }
  }
  inv.done = true;
  invocations.delete(inv.id);
  inv.ctx.inflight.delete(inv);
  if (inv.hang !== null) clearTimeout(inv.hang);
  if (inv.timers.size > 0) {
    const ids = [...inv.timers.keys()];
    // null: its Node timer not made yet; false: none will be (host/bridge.js, arm).
    for (const h of inv.timers.values()) if (h) clearTimeout(h);
    inv.timers.clear();
    // Let the prelude forget the callbacks at its next dispatch.
    if (!inv.ctx.dead) enqueue(inv.ctx, null, '["c",' + JSON.stringify(ids) + ']');
  }
  let line = '{"t":"r","i":' + inv.id + ',"o":"' + outcome + '"';
  if (type) {
    line +=
      ',"e":{"type":' +
      JSON.stringify(escapeControl(type, true)) +
      ',"message":' +
      JSON.stringify(escapeControl(truncate(message, MAX_ERROR_MESSAGE), true));
    if (where !== undefined) {
      const [row, column] = where.split(':');
      line += ',"line":' + Number(row) + ',"column":' + Number(column);
    }
    line += '}';
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
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > MAX_RESULT_DEPTH) return false;
    } else if (c === 93 || c === 125) depth--;
  }
  return true;
}

function truncate(s, n) {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

// One escaping rule for every text user code controls that the runtime shows (log
// lines, error types and messages): control characters other than newline and tab
// in logs (none at all in error texts), C1 controls (U+0080-U+009F: U+009B and
// U+009D start terminal sequences), bidirectional overrides and isolates (which
// reorder what a reader sees) and the line/paragraph separators are shown as
// escapes (\xNN, \uNNNN), so that no text can rewrite a terminal or fake lines.
const UNSAFE_IN_LOGS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const UNSAFE_IN_ONE_LINE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: as above
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
function escapeChar(c) {
  const code = c.charCodeAt(0);
  return code < 0x100
    ? '\\x' + code.toString(16).padStart(2, '0')
    : '\\u' + code.toString(16).padStart(4, '0');
}
function escapeControl(s, oneLine = false) {
  return s.replace(oneLine ? UNSAFE_IN_ONE_LINE : UNSAFE_IN_LOGS, escapeChar);
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

module.exports = { Inv, invocations, current, onHang, reply, pushLog, truncate };
