// Prelude, piece 60: setTimeout, setInterval, setImmediate, their clear* and
// queueMicrotask. A timer's callback runs when the host queues it ('t', see
// 95-dispatch); an exception in it is logged, not thrown into the host.
// Uses: G, MapC, OrigPromise, apply, defineProperty, hidden, host, map* (00);
// classify (10).
//
// Timers are kept by the host per invocation: capped in number and delay, and
// cancelled when the invocation ends.
const timers = new MapC();
let nextTimer = 1;
// A handle like Node's Timeout (node-fetch-era code calls `.unref()` on it), built
// in this realm; it converts to its number, so `clearTimeout(+id)` still works.
const TIMER_ID = Symbol('id');
class Timeout {
  constructor(id) {
    defineProperty(this, TIMER_ID, { value: id });
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  hasRef() {
    return true;
  }
  refresh() {
    return this;
  }
  close() {
    clearTimer(this);
    return this;
  }
  [Symbol.toPrimitive]() {
    return this[TIMER_ID];
  }
}
function addTimer(fn, ms, args, repeat) {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be a function');
  const id = nextTimer++;
  const delay = Number(ms) > 0 ? Number(ms) : 0;
  const r = host('timer', id, delay, repeat ? 1 : 0);
  if (r === -2) throw new RangeError('Too many pending timers in this invocation');
  if (r !== 0) throw new Error('Timers can only be used while the function is running');
  apply(mapSet, timers, [id, { fn, args, repeat }]);
  return new Timeout(id);
}
function clearTimer(handle) {
  const id =
    handle instanceof Timeout
      ? handle[TIMER_ID]
      : typeof handle === 'string'
        ? Number(handle)
        : handle;
  if (typeof id === 'number') {
    apply(mapDelete, timers, [id]);
    host('clear', id);
  }
}
hidden(G, 'setTimeout', (fn, ms, ...args) => addTimer(fn, ms, args, false));
hidden(G, 'setInterval', (fn, ms, ...args) => addTimer(fn, ms, args, true));
hidden(G, 'setImmediate', (fn, ...args) => addTimer(fn, 0, args, false));
hidden(G, 'clearTimeout', clearTimer);
hidden(G, 'clearInterval', clearTimer);
hidden(G, 'clearImmediate', clearTimer);
hidden(G, 'queueMicrotask', (fn) => {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be a function');
  apply(promiseThen, OrigPromise.resolve(), [() => fn()]);
});

function fireTimer(id) {
  const t = apply(mapGet, timers, [id]);
  if (t === undefined) return;
  if (!t.repeat) apply(mapDelete, timers, [id]);
  try {
    apply(t.fn, undefined, t.args);
  } catch (e) {
    const [, type, message] = classify(e);
    host('log', 'error', 'Uncaught exception in timer callback: ' + type + ': ' + message);
  }
}
