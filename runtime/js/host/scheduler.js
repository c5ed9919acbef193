'use strict';
// Scheduling: when contexts are entered, for what, and under which time limit.
//
// What is for a context (a new call, a fetch answer, a timer callback, timers to
// forget) is queued (host/contexts.js, `enqueue`) and the context marked dirty
// (`schedule`); in a microtask, the dirty contexts are entered, each once for
// everything queued for it, in groups that share ONE timed entry (host/guard.js):
// a vm timeout costs a watchdog thread, far more than a trivial call.
//
// Rules kept here:
//   * a call is never stopped before its own deadline: a context is entered only
//     for the messages of calls whose deadline is not later than the entry's end
//     (`takeQueue`); the others wait for an entry of their own;
//   * a call whose deadline passed while the worker was busy is answered Timeout
//     before anything queued for it runs (`expire`);
//   * when the time runs out, only the call that was running is blamed: its
//     context is discarded and its other calls come back retryable (`failContext`).
const vm = require('node:vm');
const { enqueue, dropContext } = require('./contexts');
const { invocations, onHang, reply } = require('./invocations');
const { als, QUIET, guarded, afterEntry, lastStore, entry, counters } = require('./guard');
const { relieveMemory } = require('./memory');

const DISPATCH = new vm.Script('__fio_dispatch()', { filename: 'runtime:dispatch' });

// A call enters the schedule: registered, its hang timer set, its message queued.
function begin(ctx, inv, handler, settings, payload) {
  invocations.set(inv.id, inv);
  ctx.inflight.add(inv);
  // From the deadline, not from now: loading a new context may have taken part of
  // the call's time.
  inv.hang = setTimeout(onHang, Math.max(0, inv.deadline - Date.now()), inv);
  enqueue(
    ctx,
    inv,
    '["i",' + inv.id + ',' + JSON.stringify(handler) + ',' + settings + ',' + payload + ']',
  );
  schedule(ctx);
}

function schedule(ctx) {
  if (ctx.scheduled) return;
  ctx.scheduled = true;
  dirty.push(ctx);
  // From the bridge, inside a timed entry: queued after it (host/guard.js).
  if (!dispatchScheduled) afterEntry(scheduleDispatch);
}

function scheduleDispatch() {
  if (dispatchScheduled) return;
  queueMicrotask(runDirty);
  dispatchScheduled = true;
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
        onHang(inv); // the same answer as a promise that never settles
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

// Enter each context of `group` once, for everything queued for it, all under ONE
// timed entry whose limit is the latest deadline of the group.
let group = null;
let groupIndex = 0; // the context being entered (or the next one)
function runGroup() {
  const list = group;
  for (let i = 0; i < list.length; i++) {
    groupIndex = i;
    const ctx = list[i];
    if (ctx.dead || ctx.queue.length === 0) continue;
    entry.running = ctx;
    entry.inv = null;
    counters.entered++;
    try {
      DISPATCH.runInContext(ctx.global, QUIET);
      entry.running = null;
    } catch (_) {
      // Not a timeout (termination is not catchable): the prelude's dispatch
      // itself failed, e.g. the stack was exhausted around it.
      entry.running = null;
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
  entry.running = null;
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
  const culprit = entry.running;
  entry.running = null;
  if (culprit !== null) {
    if (timedOut) {
      // The call that was running when the time ran out: the one whose code was
      // executing (its async context), else the last one the prelude entered for.
      let inv = lastStore();
      if (inv === undefined || inv.ctx !== culprit || inv.done) inv = entry.inv;
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
      reply(
        other,
        'retry',
        'Interrupted',
        'another invocation of this function exceeded its ' +
          'time limit and its state was reset; this invocation can be retried',
        undefined,
      );
    }
  }
  dropContext(ctx);
}

module.exports = { begin, schedule, takeQueue };
