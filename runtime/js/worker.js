'use strict';
// Host side of the function sandbox: one long-lived Node process serving many
// functions, each in its own `vm` context. Python talks to it over JSON lines on
// stdin/stdout (see runtime/README.md, "Worker protocol"). This file only wires
// the process up; the work is done by the modules below.
//
// Security rules (Node's `vm` is not a security boundary on its own), each written
// out at the top of the module that keeps it:
//   * a context only ever receives ONE host function, the bridge, which the prelude
//     keeps in a closure; only strings and numbers cross it in either direction
//     (host/loading.js, host/bridge.js, prelude/00-bridge.js);
//   * the bridge never throws into a context and never returns objects
//     (host/bridge.js);
//   * the host never reads properties of context objects: it exchanges JSON text
//     that the context produced with its own (captured) JSON functions
//     (host/bridge.js, host/checks.js);
//   * every entry into a context happens under a vm timeout (host/guard.js,
//     host/scheduler.js), and contexts use `microtaskMode: 'afterEvaluate'`, so code
//     that loops after an `await` is stopped by the same vm timeout as a synchronous
//     loop;
//   * once start-up is over, the host realm's intrinsics are frozen (host/freeze.js).
// The process runs with --permission, --disallow-code-generation-from-strings,
// --max-old-space-size and an empty environment (set by runtime/pool.py); it may
// read files in runtime/js/ only, which holds every module it loads.
//
// Where things are (each module's header says what it owns):
//   host/protocol.js     messages from Python: assembled, validated, dispatched
//   host/output.js       messages to Python, coalesced
//   host/loading.js      creating a context, loading a function, starting a call
//   host/contexts.js     the contexts kept (LRU), their queues, eviction
//   host/invocations.js  the calls in flight: logs, replies, the hang timer
//   host/scheduler.js    when contexts are entered; blame when the time runs out
//   host/guard.js        the timed entry
//   host/bridge.js       the one host function a context gets, and its operations
//   host/crypto.js       digests, random bytes, keys (vetted) and signatures
//   host/memory.js       garbage collection, relief under memory pressure
//   host/freeze.js       freezing the host realm
//   host/checks.js       type checks; host/config.js: the limits Python passed
//   prelude/NN-name.js   what runs inside each context, assembled by build.js into
//                        dist/prelude.js; dist/<library>.js: the library bundles
const { listen } = require('./host/protocol');
const { send } = require('./host/output');
const { freezeHostRealm } = require('./host/freeze');

listen();

// One function's rejected promise must not end the process serving the others.
process.on('unhandledRejection', () => {});
process.on('uncaughtException', (err) => {
  process.stderr.write('worker: uncaught: ' + String(err && err.stack) + '\n');
});

freezeHostRealm();

send('{"t":"ready","pid":' + process.pid + '}\n');
