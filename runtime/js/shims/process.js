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
  // Libraries probe these for colour support and write debug output to them: no TTY, nothing written.
  stdout: { isTTY: false, write: () => true },
  stderr: { isTTY: false, write: () => true },
};
