// The `process` that library code sees: a harmless stand-in, local to each bundle.
export const process = {
  env: {},
  browser: true,
  version: 'v24.0.0',
  versions: { node: '24.0.0' },
  platform: 'linux',
  nextTick: (fn, ...args) => Promise.resolve().then(() => fn(...args)),
  emitWarning: () => {},
  cwd: () => '/',
};
