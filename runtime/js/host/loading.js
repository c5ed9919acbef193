'use strict';
// Creating a context and loading a function into it (the prelude, the libraries
// the code needs, the code, the handler lookup), and starting a call: in the
// context of its function version, loaded first when it is not here.
//
// Rules kept here:
//   * a context receives ONE host function, the bridge (host/bridge.js), handed to
//     the prelude's installer; it is created with DONT_CONTEXTIFY (its global object
//     belongs to the realm), without code generation from strings or WebAssembly,
//     and with `microtaskMode: 'afterEvaluate'` (see host/guard.js);
//   * loading is one guarded entry, under the call's time limit, and a value the
//     code throws at load is described without being touched (`describeThrown`);
//   * dynamic import() is refused before anything runs (see IMPORT_WORD);
//   * a failed load keeps nothing, and Python is told so ({"t":"d"}).
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');
const config = require('./config');
const { send } = require('./output');
const { als, QUIET, guarded, takeThrown } = require('./guard');
const { Ctx, contexts, touch, evictIfNeeded } = require('./contexts');
const { Inv, invocations, reply } = require('./invocations');
const { begin } = require('./scheduler');
const { makeBridge } = require('./bridge');

const MAX_CACHE_ENTRIES = config.maxCacheEntries || 1000;

// Built by build.js (npm ci, postinstall; the Makefile again when a prelude piece
// changed): the prelude and the library bundles.
const DIST = path.join(__dirname, '..', 'dist');

const HANDLERS = [
  'onIdentify',
  'onTrack',
  'onPage',
  'onScreen',
  'onGroup',
  'onAlias',
  'onDelete',
  'onBatch',
];

// Libraries evaluated inside a context, loaded only when the code mentions them:
// [bundle file, pattern that makes the source need it, bundles it needs first].
// Bundles are evaluated in this order, so a dependency comes before what needs it.
const LIBRARIES = [
  ['buffer.js', /\bBuffer\b|\bcrypto\b|\.buffer\s*\(/, []],
  ['lodash.js', /\b_\b/, []],
  ['moment.js', /\bmoment\b/, []],
  ['uuidv5.js', /\buuidv5\b/, []],
  ['xml.js', /\bxml\b/, []],
  ['xml2js.js', /\bxml2js\b/, ['buffer.js']],
  ['jsonwebtoken.js', /\bjsonwebtoken\b|\bjwt\b/, ['buffer.js']],
  ['formdata.js', /\bFormData\b/, ['buffer.js']],
  ['oauth.js', /\bOAuth\b/, ['buffer.js']],
  ['zlib.js', /\bzlib\b/, ['buffer.js']],
  // Not for the "https://" of every URL the code holds.
  ['https.js', /\bhttps\b(?!:\/\/)/, ['buffer.js']],
  ['winston.js', /\bwinstonlib\b/, ['buffer.js']],
  ['stripe.js', /\bstripe\b/, ['buffer.js']],
  ['sendgrid.js', /\bsendgrid\b/, ['buffer.js']],
  ['twilio.js', /\btwilio\b/, ['buffer.js']],
  ['mailjet.js', /\bnodemailjet\b/, ['buffer.js']],
  ['hubspot.js', /\bhubspotlib\b/, ['buffer.js']],
  ['jsforce.js', /\bjsforce\b/, ['buffer.js']],
  ['aws.js', /\bAWS\b/, ['buffer.js']],
  ['google.js', /\bgoogle\s*\.\s*cloud\b/, ['buffer.js']],
  ['skyflow.js', /\bskyflowlib\b/, ['buffer.js']],
];

// Dynamic import() cannot be offered safely: Node answers it with objects of the
// host realm (a host TypeError, whose prototype chain leads to the host's
// Object.prototype), and a loader callback needs --experimental-vm-modules. So code
// that calls it is refused before it runs -- and that decision is V8's own, not a
// pattern's: a source that compiles is compiled again with every `import` word
// spelled `enum`. Inside strings, comments (HTML-like ones included), templates and
// regular expressions that changes nothing; as a property name (`a.import`,
// `{import: 1}`, methods) `enum` is as valid as `import`; and in code position,
// where a compiling script can only hold `import(` (static imports and import.meta
// are syntax errors in a script), `enum` is a syntax error. The check is linear
// (no backtracking pattern over the user's source) and costs a second compile only
// for sources that contain the word.
const IMPORT_WORD = /\bimport\b/;
const IMPORT_WORDS = /\bimport\b/g;

// The prelude's pieces (prelude/), assembled into one script.
function readPrelude() {
  const file = path.join(DIST, 'prelude.js');
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (_) {
    throw new Error(`${file} is missing: run \`make setup\` (or \`npm ci\` in runtime/js)`);
  }
}
const PRELUDE = new vm.Script(readPrelude(), { filename: 'runtime:prelude.js' });
// Handlers may be `function` declarations (global properties) or top-level
// `const`/`let` bindings (global lexical scope), so look them up with a script.
const REGISTER = new vm.Script(
  '__fio_register([' +
    HANDLERS.map(
      (h) =>
        `(() => { try { return typeof ${h} === 'function' ? ${h} : undefined } ` +
        'catch (e) { return undefined } })()',
    ).join(',') +
    '])',
  { filename: 'runtime:register' },
);

const libScripts = new Map();
function libScript(file) {
  let s = libScripts.get(file);
  if (s === undefined) {
    const p = path.join(DIST, file);
    s = fs.existsSync(p)
      ? new vm.Script(fs.readFileSync(p, 'utf8'), { filename: 'lib:' + file })
      : null;
    libScripts.set(file, s);
  }
  return s;
}

function needs(code) {
  const wanted = new Set();
  for (const [file, re, deps] of LIBRARIES) {
    if (re.test(code)) {
      wanted.add(file);
      for (const d of deps) wanted.add(d);
    }
  }
  return LIBRARIES.map((lib) => lib[0]).filter((file) => wanted.has(file));
}

// Create the context and run the prelude, the libraries and the user's code.
// Returns null on success, or [outcome, type, message] when loading failed.
function loadContext(ctx, code, inv) {
  let script;
  try {
    script = new vm.Script(code, { filename: 'handler.js' });
  } catch (e) {
    return ['bad_request', 'SyntaxError', describeSyntaxError(e)];
  }
  // Dynamic import() would hand the code host-realm objects: refuse it (see
  // IMPORT_WORD above) before anything runs.
  if (IMPORT_WORD.test(code)) {
    try {
      new vm.Script(code.replace(IMPORT_WORDS, 'enum'), { filename: 'handler.js' });
    } catch (e) {
      const where = describeSyntaxError(e).match(/\(line \d+/);
      return [
        'bad_request',
        'SyntaxError',
        'import() is not available in functions' +
          (where ? ' ' + where[0] + ')' : '') +
          '; use the provided globals',
      ];
    }
  }
  const g = vm.createContext(vm.constants.DONT_CONTEXTIFY, {
    name: 'function:' + ctx.key,
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  ctx.global = g;
  const install = PRELUDE.runInContext(g);
  install(makeBridge(ctx), MAX_CACHE_ENTRIES);
  const remaining = Math.max(1, inv.deadline - Date.now());
  let threw;
  try {
    // One timed entry for the libraries, the code and the handler lookup.
    threw = guarded(
      () =>
        als.run(inv, () => {
          for (const file of needs(code)) {
            const s = libScript(file);
            if (s !== null) s.runInContext(g, QUIET);
          }
          script.runInContext(g, QUIET);
          REGISTER.runInContext(g, QUIET);
        }),
      remaining,
    );
  } catch (e) {
    // Only the host's own errors come out of `guarded`.
    if (e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      return ['timeout', 'Timeout', `loading the function exceeded ${inv.timeout} ms`];
    }
    return ['bad_request', 'Error', 'error while loading the function'];
  }
  if (threw) {
    // A value thrown by user code at load time: describe it without touching it
    // beyond String conversion of primitives.
    const thrown = takeThrown();
    return ['bad_request', 'Error', 'error while loading the function: ' + describeThrown(thrown)];
  }
  return null;
}

function describeSyntaxError(e) {
  // The host-realm SyntaxError's stack starts with "handler.js:LINE", the source
  // line and a caret under the column.
  const stack = String(e.stack || '');
  const lines = stack.split('\n');
  const m = /^handler\.js:(\d+)$/.exec(lines[0] || '');
  let where = '';
  if (m) {
    const caret = (lines[2] || '').indexOf('^');
    // No caret means the error is at the end of that line (unexpected end of input).
    const column = caret >= 0 ? caret + 1 : (lines[1] || '').length + 1;
    where = ` (line ${m[1]}, column ${column})`;
  }
  return String(e.message) + where;
}

function describeThrown(e) {
  // Errors thrown while loading come from the context; only primitives are read.
  try {
    if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return String(e);
  } catch (_) {
    return 'unknown error';
  }
  return 'an exception was thrown at the top level of the code';
}

function startInvocation(id, key, handler, timeout, stream, code, settings, payload) {
  if (invocations.has(id)) throw new Error('duplicate invocation id');
  let ctx = contexts.get(key);
  if (ctx === undefined) {
    if (code === undefined) {
      send('{"t":"m","i":' + id + '}\n'); // not loaded here: Python resends with the code
      return;
    }
    ctx = new Ctx(key);
    const inv = new Inv(id, ctx, timeout, stream);
    const failure = loadContext(ctx, code, inv);
    if (failure !== null) {
      ctx.global = null;
      ctx.dead = true;
      reply(inv, failure[0], failure[1], failure[2], undefined);
      // Python marked the code as sent: tell it nothing was kept.
      send('{"t":"d","k":' + JSON.stringify(key) + '}\n');
      return;
    }
    contexts.set(ctx.key, ctx);
    // The call first, then eviction: a context with a call in flight is never
    // dropped, so the new one is not evicted before its call is registered.
    begin(ctx, inv, handler, settings, payload);
    evictIfNeeded();
    return;
  }
  touch(ctx);
  begin(ctx, new Inv(id, ctx, timeout, stream), handler, settings, payload);
}

module.exports = { HANDLERS, LIBRARIES, needs, startInvocation };
