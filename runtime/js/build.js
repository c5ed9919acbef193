'use strict';
// Bundles the libraries that user functions can use (lodash, moment-timezone, ...)
// into dist/*.js scripts that run *inside* each function's vm context: Node
// built-ins they need are replaced by small in-realm shims (shims/), so no host
// object is ever reachable from them. Run by `npm ci` (postinstall).
const path = require('node:path');
const fs = require('node:fs');
const esbuild = require('esbuild');

const here = __dirname;
const shim = (name) => path.join(here, 'shims', name);
const alias = {
  buffer: shim('buffer.js'),
  crypto: shim('crypto.js'),
  stream: shim('stream.js'),
  util: shim('util.js'),
  timers: shim('timers.js'),
  string_decoder: shim('string_decoder.js'),
  querystring: shim('querystring.js'),
  url: shim('url.js'),
  http: shim('http.js'),
  https: shim('https.js'),
  events: require.resolve('events/'),
  fs: shim('empty.js'),
  path: shim('empty.js'),
  os: shim('empty.js'),
};

async function main() {
  const entries = fs.readdirSync(path.join(here, 'entries')).filter((f) => f.endsWith('.js'));
  fs.mkdirSync(path.join(here, 'dist'), { recursive: true });
  for (const file of entries) {
    const isBuffer = file === 'buffer.js';
    await esbuild.build({
      entryPoints: [path.join(here, 'entries', file)],
      outfile: path.join(here, 'dist', file),
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      logLevel: 'warning',
      // The buffer bundle *is* Buffer: it must use the npm package, not the shim.
      alias: isBuffer ? { ...alias, buffer: require.resolve('buffer/') } : alias,
      inject: [shim('process.js')],
      define: { global: 'globalThis' },
    });
  }
  process.stdout.write(`runtime/js: bundled ${entries.length} libraries into dist/\n`);
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack) + '\n');
  process.exit(1);
});
