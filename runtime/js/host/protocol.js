'use strict';
// The wire protocol with Python: JSON lines on stdin (runtime/README.md, "Worker
// protocol"), assembled, validated and turned into calls, fetch answers and
// control messages (answers go out through host/output.js).
//
// Rules kept here:
//   * messages from Python are parsed into host objects: read only their OWN
//     properties of the expected types (an inherited `c` must never supply code),
//     whatever happens to the host's prototypes (frozen anyway, host/freeze.js);
//   * the event and the settings pass through to the context as text, without being
//     parsed and re-serialised here;
//   * a line is assembled in time linear in its length, however long;
//   * a bad message is reported on stderr and dropped: it never ends the process.
const { own, isId, str } = require('./checks');
const { send } = require('./output');
const { counters } = require('./guard');
const { contexts, dropContext, enqueue } = require('./contexts');
const { invocations, reply } = require('./invocations');
const { collectGarbage } = require('./memory');
const { schedule } = require('./scheduler');
const { HANDLERS, startInvocation } = require('./loading');

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
      if (
        !isId(id) ||
        !str(key) ||
        !HANDLER_SET.has(handler) ||
        !Number.isSafeInteger(timeout) ||
        timeout < 1 ||
        !(code === undefined || str(code)) ||
        tab === -1
      ) {
        throw new Error('invalid invocation header');
      }
      const rest = line.slice(tab + 1);
      const tab2 = rest.indexOf('\t');
      if (tab2 === -1) throw new Error('invalid invocation message');
      startInvocation(
        id,
        key,
        handler,
        timeout,
        own(header, 's') === 1,
        code,
        rest.slice(0, tab2),
        rest.slice(tab2 + 1),
      );
      break;
    }
    case 'f': {
      // the result of a fetch, for the invocation that asked
      const id = own(header, 'i');
      const q = own(header, 'q');
      const inv = isId(id) ? invocations.get(id) : undefined;
      if (inv === undefined || inv.ctx.dead || !isId(q) || tab === -1) break;
      enqueue(inv.ctx, inv, '["f",' + inv.id + ',' + q + ',' + line.slice(tab + 1) + ']');
      schedule(inv.ctx);
      break;
    }
    case 'x': {
      // the caller stopped waiting (a new test run, a closed page): end the call
      const id = own(header, 'i');
      const inv = isId(id) ? invocations.get(id) : undefined;
      if (inv !== undefined) reply(inv, 'timeout', 'Cancelled', 'the run was cancelled', undefined);
      break;
    }
    case 'hb': // liveness: answered at once, before any code runs for the calls
      // that follow it (pipes are written synchronously on Linux)
      process.stdout.write('{"t":"hb"}\n');
      break;
    case 'ping':
      collectGarbage();
      send(
        '{"t":"pong","contexts":' +
          contexts.size +
          ',"heap":' +
          process.memoryUsage().heapUsed +
          ',"timed":' +
          counters.timed +
          ',"entered":' +
          counters.entered +
          '}\n',
      );
      break;
    case 'drop': {
      // forget every context (used by the benchmark to measure cold loads)
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
function listen() {
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    let start = 0;
    let nl;
    // biome-ignore lint/suspicious/noAssignInExpressions: find the next newline, stop when there is none
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
}

module.exports = { listen };
