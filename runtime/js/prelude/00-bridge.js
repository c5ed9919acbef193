// Prelude, piece 00: the bridge closure and the captured intrinsics.
//
// The prelude is evaluated inside every function's context before the user's code.
// build.js joins the pieces of this folder, in name order, into the body of ONE
// function, `install(bridge, maxCacheEntries)` (dist/prelude.js, loaded by
// host/loading.js as `runtime:prelude.js`): the script's value is that installer,
// which the host calls once with the bridge, the only host function this context
// ever sees. So all pieces share one scope: a name declared in an earlier piece is
// in scope in the later ones (each piece says what it uses).
//
// Rules kept here:
//   * the bridge stays in this closure: it is never stored on an object, passed to
//     user code or returned; only `host` below calls it;
//   * only strings and numbers cross it, and a host error never reaches user code
//     (`host` drops whatever the bridge might throw and throws its own);
//   * everything the later pieces build (error classes, console, fetch, crypto,
//     timers, cache, URL...) comes from this realm's own intrinsics, captured here
//     before user code can replace them;
//   * runtime globals are installed with `hidden` (not enumerable).

const G = globalThis;
// Callbacks of FinalizationRegistry (and WeakRef targets vanishing) run after the
// invocation ended, outside every time limit: functions do not get them.
delete G.FinalizationRegistry;
delete G.WeakRef;
// Likewise an Atomics.waitAsync callback is scheduled by the host, and ran later
// inside another invocation of the function (which was then blamed for its time).
delete Atomics.waitAsync;
const { parse, stringify, isRawJSON } = JSON;
const OrigPromise = Promise;
const promiseThen = Promise.prototype.then;
const apply = Reflect.apply;
const defineProperty = Object.defineProperty;
const getPrototypeOf = Object.getPrototypeOf;
const isArray = Array.isArray;
const fromCharCode = String.fromCharCode;
const now = Date.now;
const MapC = Map;
const mapGet = Map.prototype.get;
const mapSet = Map.prototype.set;
const mapDelete = Map.prototype.delete;
const mapHas = Map.prototype.has;

// The bridge never throws by design; if it did (stack exhaustion), drop the
// host's error object here and throw one of our own.
function host(op, a, b, c, d, e, f) {
  let r;
  try {
    r = bridge(op, a, b, c, d, e, f);
  } catch (_) {
    r = undefined;
  }
  if (typeof r !== 'string' && typeof r !== 'number') {
    throw new Error('runtime bridge unavailable');
  }
  return r;
}

function hidden(obj, name, value) {
  defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });
}
