// The parts of Node's util that the bundled libraries use.
function inherits(ctor, superCtor) {
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
  Object.setPrototypeOf(ctor, superCtor);
  ctor.super_ = superCtor;
}
function format(f, ...args) {
  if (typeof f !== 'string')
    return [f, ...args].map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ');
  let i = 0;
  const out = f.replace(/%[sdjoO%]/g, (m) => {
    if (m === '%%') return '%';
    if (i >= args.length) return m;
    const v = args[i++];
    return m === '%d' ? String(Number(v)) : m === '%s' ? String(v) : JSON.stringify(v);
  });
  return [out, ...args.slice(i).map(String)].join(' ');
}
module.exports = {
  inherits,
  format,
  inspect: (v) => (typeof v === 'string' ? v : JSON.stringify(v)),
  deprecate: (fn) => fn,
  promisify:
    (fn) =>
    (...args) =>
      new Promise((res, rej) => fn(...args, (e, v) => (e ? rej(e) : res(v)))),
  isArray: Array.isArray,
  isBuffer: (b) => globalThis.Buffer !== undefined && globalThis.Buffer.isBuffer(b),
  TextEncoder: globalThis.TextEncoder,
  TextDecoder: globalThis.TextDecoder,
  types: {},
};
