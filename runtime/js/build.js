'use strict';
// Builds what the worker evaluates inside each function's vm context, into dist/:
//   * dist/prelude.js: the prelude's pieces (prelude/NN-name.js) joined, in name
//     order, into the body of one installer function (see prelude/00-bridge.js). It
//     runs in each context as ONE script, so it is assembled here, at set-up time,
//     not at run time; no bundler touches it (the code runs as written);
//   * dist/<library>.js: the libraries that user functions can use (lodash,
//     moment-timezone, ...), bundled from entries/ with esbuild. Node built-ins
//     they need are replaced by small in-realm shims (shims/), so no host object is
//     ever reachable from them.
// Run by `npm ci` (postinstall): `node build.js`. `node build.js prelude` assembles
// the prelude only (the Makefile does, when a piece changed; it needs no package).
const path = require('node:path');
const fs = require('node:fs');

const here = __dirname;
const dist = path.join(here, 'dist');

// A piece's name says where it goes: two digits, then what it holds.
const PIECE_NAME = /^\d\d-[a-z0-9-]+\.js$/;

function buildPrelude() {
  const dir = path.join(here, 'prelude');
  const pieces = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort();
  const parts = [
    '// Built by runtime/js/build.js from runtime/js/prelude/*.js: edit the pieces.',
    '(function install(bridge, maxCacheEntries) {',
    "'use strict';",
  ];
  for (const file of pieces) {
    if (!PIECE_NAME.test(file)) throw new Error(`prelude/${file}: expected NN-name.js`);
    parts.push(`// ---- prelude/${file}`, fs.readFileSync(path.join(dir, file), 'utf8').trimEnd());
  }
  parts.push('});', '');
  // Written aside, then renamed: a worker starting meanwhile reads the old file or
  // the new one, never half of one.
  fs.mkdirSync(dist, { recursive: true });
  const out = path.join(dist, 'prelude.js');
  const tmp = out + '.tmp';
  fs.writeFileSync(tmp, parts.join('\n'));
  fs.renameSync(tmp, out);
  process.stdout.write(
    `runtime/js: assembled ${pieces.length} prelude pieces into dist/prelude.js\n`,
  );
}

async function buildLibraries() {
  const esbuild = require('esbuild');
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
    zlib: shim('zlib.js'),
    events: require.resolve('events/'),
    fs: shim('empty.js'),
    path: shim('empty.js'),
    os: shim('os.js'),
    assert: shim('assert.js'),
    'form-data': shim('formdata.js'),
    'node-fetch': shim('node-fetch.js'),
    'abort-controller': shim('abort-controller.js'),
    process: shim('process-module.js'),
    // Raw sockets and processes do not exist in a context: what only proxies and
    // native transports use resolves to nothing.
    net: shim('empty.js'),
    tls: shim('empty.js'),
    dns: shim('empty.js'),
    http2: shim('empty.js'),
    child_process: shim('empty.js'),
  };
  // Web classes for the SDK builds that reference them (shims/web.js).
  const webInject = {
    'stripe.js': [shim('web.js')],
    'mailjet.js': [shim('xhr.js'), shim('amd.js')],
    'aws.js': [shim('xhr.js')],
    'google.js': [shim('web.js'), shim('abort.js'), shim('formdata-global.js')],
  };
  // jsforce's browser request reads WHATWG response streams: use one on fetch instead.
  const jsforceRequest = {
    name: 'jsforce-request',
    setup(build) {
      build.onResolve({ filter: /^\.\/request$/ }, (args) =>
        args.importer.includes(`${path.sep}jsforce${path.sep}browser${path.sep}`)
          ? { path: shim('jsforce-request.js') }
          : undefined,
      );
    },
  };
  const realStreams = new Set(['jsforce.js', 'google.js']);
  // Packages also name the built-ins with their `node:` prefix.
  for (const name of Object.keys(alias)) {
    if (/^[a-z_]+$/.test(name) && name !== 'events') alias['node:' + name] = alias[name];
  }
  alias['node:events'] = alias.events;
  const entries = fs.readdirSync(path.join(here, 'entries')).filter((f) => f.endsWith('.js'));
  fs.mkdirSync(dist, { recursive: true });
  for (const file of entries) {
    const isBuffer = file === 'buffer.js';
    await esbuild.build({
      entryPoints: [path.join(here, 'entries', file)],
      outfile: path.join(dist, file),
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      // Error types in delivery logs come from constructor names: keep the packages' own.
      keepNames: true,
      legalComments: 'none',
      logLevel: 'warning',
      // The buffer bundle *is* Buffer: it must use the npm package, not the shim.
      alias: isBuffer
        ? { ...alias, buffer: require.resolve('buffer/') }
        : realStreams.has(file)
          ? // These push data through real streams: a full implementation.
            {
              ...alias,
              stream: path.join(
                path.dirname(require.resolve('readable-stream')),
                'readable-browser.js',
              ),
            }
          : alias,
      inject: [shim('process.js'), ...(webInject[file] || [])],
      define: { global: 'globalThis' },
      plugins: file === 'jsforce.js' ? [jsforceRequest] : [],
    });
  }
  process.stdout.write(`runtime/js: bundled ${entries.length} libraries into dist/\n`);
}

async function main() {
  const only = process.argv[2];
  if (only !== undefined && only !== 'prelude') throw new Error('usage: node build.js [prelude]');
  buildPrelude();
  if (only === undefined) await buildLibraries();
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack) + '\n');
  process.exit(1);
});
