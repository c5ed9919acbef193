'use strict';
// The guarded (timed) entry: how the host enters contexts under a vm timeout, and
// the bookkeeping that says which call was running when the time ran out.
//
// Rules kept here:
//   * every entry into a context happens inside `guarded`, under a vm timeout, and
//     contexts use `microtaskMode: 'afterEvaluate'` (host/loading.js), so code that
//     loops after an `await` is stopped by the same vm timeout as a synchronous loop;
//   * a value thrown out of a context is never inspected by the host;
//   * inner entries run with displayErrors off (QUIET);
//   * nothing that must happen for a call runs inside a timed entry. Termination can
//     land between any two statements of host code called from a context (the
//     bridge), so such code only records what is to be done (`afterEntry`) in our
//     own lists: replies, Node timers, flushes of the output queue and scheduling
//     run after the entry, where termination cannot cut them in half. (Cutting a
//     reply after its call was marked done once lost the reply, and cutting Node's
//     own timer or immediate bookkeeping wedged the worker.)
//
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
const vm = require('node:vm');
const { AsyncLocalStorage } = require('node:async_hooks');

// The call a context runs code for, its promise continuations included (set by the
// bridge's 'enter', host/bridge.js): logs, timers and fetches are attributed to it,
// and it is blamed when the time runs out.
const als = new AsyncLocalStorage();

let guardedThunk = null;
let guardedThrew = false;
let guardedThrown;
let guardedStore; // als store when the last timed entry ended
// Who is inside, for blame: the context being entered (set by the scheduler only
// while it is), and the call the prelude last entered for (see 'enter').
const entry = { running: null, inv: null };
const counters = { timed: 0, entered: 0 }; // timed and context entries, for `ping`
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
let inTimedEntry = false;
const deferred = []; // what host code called from a context left to do after the entry

// Run `task` now, or right after the timed entry that is running. A task recorded
// just before termination landed is still run; one whose recording was cut short
// is lost, but then nothing was promised yet (the call is still in flight, and is
// answered as the running call or by its time limit).
function afterEntry(task) {
  if (inTimedEntry) deferred.push(task);
  else task();
}

function runDeferred() {
  for (let i = 0; i < deferred.length; i++) {
    try {
      deferred[i]();
    } catch (err) {
      process.stderr.write('worker: deferred task failed: ' + String(err && err.message) + '\n');
    }
  }
  deferred.length = 0;
}

// Run `thunk` under one vm timeout. Returns true when the thunk threw (the value is
// kept aside, see `takeThrown`); throws ERR_SCRIPT_EXECUTION_TIMEOUT when the time ran out.
function guarded(thunk, timeout) {
  guardedThunk = thunk;
  guardedThrew = false;
  guardedThrown = undefined;
  counters.timed++;
  inTimedEntry = true;
  try {
    GUARD.runInThisContext({ timeout, displayErrors: false });
  } finally {
    inTimedEntry = false;
    guardedThunk = null;
    guardedStore = als.getStore(); // the call whose code was running (if cut short)
    als.enterWith(undefined); // an `als.run` cut short by termination did not restore
    runDeferred();
  }
  return guardedThrew;
}

// The value the last guarded thunk threw, once (it may come from a context: describe
// it without touching it, as host/loading.js does).
function takeThrown() {
  const thrown = guardedThrown;
  guardedThrown = undefined;
  return thrown;
}

// The als store when the last timed entry ended: the call whose code was running,
// if the entry was cut short.
function lastStore() {
  return guardedStore;
}

module.exports = { als, QUIET, guarded, afterEntry, takeThrown, lastStore, entry, counters };
