// Bundles the front end into static/build/ (git-ignored; served by Django's static files):
// one ES module per page (static/js/pages/*.js) with what it imports, Monaco included,
// its CSS and the codicon font, plus Monaco's language workers as separate entry points.
// Run by `make` whenever an input changes; `--watch` rebuilds on every edit.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'static', 'build');
const pagesDir = path.join(root, 'static', 'js', 'pages');
const monaco = (file) => path.join(root, 'node_modules', 'monaco-editor', 'esm', 'vs', file);

const pages = readdirSync(pagesDir)
  .filter((file) => file.endsWith('.js'))
  .map((file) => ({ in: path.join(pagesDir, file), out: `pages/${file.slice(0, -3)}` }));

// The worker labels Monaco asks for map to these files (see static/js/editor/monaco.js).
const workers = [
  { in: monaco('editor/editor.worker.js'), out: 'workers/editor' },
  { in: monaco('language/typescript/ts.worker.js'), out: 'workers/typescript' },
  { in: monaco('language/json/json.worker.js'), out: 'workers/json' },
];

/** An esbuild plugin that bundles one of Monaco's files (`file`, under esm/vs/) rewritten. */
function rewriteMonacoFile(file, rewrite) {
  const escaped = file.replaceAll('.', '\\.').replaceAll('/', '[\\\\/]');
  const filter = new RegExp(`[\\\\/]monaco-editor[\\\\/]esm[\\\\/]vs[\\\\/]${escaped}$`);
  return {
    name: `rewrite ${file}`,
    setup(build) {
      build.onLoad({ filter }, (args) => ({
        contents: rewrite(readFileSync(args.path, 'utf8')),
        loader: 'js',
      }));
    },
  };
}

// Monaco's language services reach their workers through this file, which also imports
// every editor contribution for its side effects: bundled as it is, opening the JavaScript
// or JSON mode would load and register all the features static/js/editor/monaco-core.js
// leaves out. The page imports the ones it uses itself, so those bare imports go.
const workersWithoutContributions = rewriteMonacoFile('internal/common/workers.js', (source) =>
  source.replace(/^import '[^']+';$/gm, ''),
);

// The TypeScript worker carries every lib .d.ts as text, one `libFileMap["name"] = ...;`
// statement each. The editor compiles with lib: ['es2022'] and no DOM (static/js/editor/
// monaco.js): the DOM, web worker and script host libs, 2.6 of the worker's 7 MB, are never
// read, so their statements are left out.
const UNUSED_LIB = /^libFileMap\["lib\.(dom|webworker|scripthost)[.\w]*\.d\.ts"\]/;
const typescriptLibsWithoutDom = rewriteMonacoFile(
  'languages/features/typescript/lib/lib.js',
  (source) =>
    source
      .split(/^(?=libFileMap\["|export \{ libFileMap \};$)/m)
      .filter((statement) => !UNUSED_LIB.test(statement))
      .join(''),
);

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  outdir,
  // Editor typings are shipped to Monaco's TypeScript worker as text.
  loader: { '.ttf': 'file', '.d.ts': 'text' },
  // Content-hashed chunk and asset names may be cached forever (see settings.py).
  chunkNames: 'chunks/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
};

async function build() {
  rmSync(outdir, { recursive: true, force: true });
  // Pages share chunks (Monaco's languages load on demand); workers are self-contained.
  await esbuild.build({
    ...common,
    entryPoints: pages,
    splitting: true,
    plugins: [workersWithoutContributions],
  });
  await esbuild.build({ ...common, entryPoints: workers, plugins: [typescriptLibsWithoutDom] });
  writeFileSync(path.join(outdir, '.built'), `${new Date().toISOString()}\n`);
  process.stdout.write(
    `static/build: bundled ${pages.length} pages and ${workers.length} workers\n`,
  );
}

build().catch((error) => {
  process.stderr.write(`${String(error?.stack || error)}\n`);
  process.exit(1);
});
