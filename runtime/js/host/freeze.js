'use strict';
// Defence in depth: once start-up is over, freeze the host realm's intrinsics. The
// host's objects are never handed to a context by design, but if one ever leaked
// (as a host error could through import() before it was refused at load), its
// prototype chain must not let a function change how the host reads its own
// messages or builds replies (e.g. an inherited `Object.prototype.c`).
//
// Call it once, at the end of start-up: after every module was loaded and the
// lazily created objects the worker needs (process.stdout) exist.
const HOST_INTRINSICS = [
  'Object',
  'Function',
  'Array',
  'Number',
  'Boolean',
  'String',
  'Symbol',
  'BigInt',
  'Date',
  'RegExp',
  'Error',
  'AggregateError',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
  'Promise',
  'Proxy',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'JSON',
  'Math',
  'Reflect',
  'Atomics',
  'Iterator',
  'Intl',
  'SuppressedError',
  'DisposableStack',
  'AsyncDisposableStack',
  'WebAssembly',
  'eval',
  'isFinite',
  'isNaN',
  'parseFloat',
  'parseInt',
  'decodeURI',
  'decodeURIComponent',
  'encodeURI',
  'encodeURIComponent',
  'escape',
  'unescape',
];
function freezeHostRealm() {
  process.stdout; // created lazily: before the freeze
  const roots = HOST_INTRINSICS.map((n) => globalThis[n]);
  // Intrinsics without a global name.
  roots.push(
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function* () {}),
    Object.getPrototypeOf(Uint8Array),
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(new Map().entries()),
    Object.getPrototypeOf(new Set().values()),
    Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(/x/[Symbol.matchAll]('')),
    Object.getPrototypeOf([].values().map((x) => x)), // iterator helpers
    Object.getPrototypeOf(
      Iterator.from({
        next() {
          return { done: true };
        },
      }),
    ),
  );
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

module.exports = { freezeHostRealm };
