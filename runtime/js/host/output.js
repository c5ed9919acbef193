'use strict';
// Messages to Python: JSON lines on stdout (runtime/README.md, "Worker protocol"),
// coalesced, so that the lines sent during one turn of the event loop go out in one
// write.
//
// Rules kept here: no line is longer than MAX_MESSAGE_CHARS (see below). Lines are
// built by the host, and what a context produced is never spliced into one as it
// is: texts are JSON-encoded, a fetch description is parsed and written again
// (host/bridge.js), a return value is checked to be exactly one JSON value on one
// line (host/invocations.js).
const { afterEntry } = require('./guard');

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
  // Never scheduled from inside a timed entry (host/guard.js): setImmediate's own
  // bookkeeping cut by termination would leave the flag set and no flush coming.
  if (!outScheduled) afterEntry(scheduleFlush);
}
function scheduleFlush() {
  if (outScheduled) return;
  setImmediate(flushOut);
  outScheduled = true;
}

module.exports = { send };
