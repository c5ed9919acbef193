// Bundles the front end into static/build/ (git-ignored; served by Django's static files):
// one ES module per page (static/js/pages/*.js) with what it imports, Monaco included,
// its CSS and the codicon font, plus Monaco's language workers as separate entry points.
// Run by `make` whenever an input changes; `--watch` rebuilds on every edit.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
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
  await esbuild.build({ ...common, entryPoints: pages, splitting: true });
  await esbuild.build({ ...common, entryPoints: workers });
  writeFileSync(path.join(outdir, '.built'), `${new Date().toISOString()}\n`);
  process.stdout.write(
    `static/build: bundled ${pages.length} pages and ${workers.length} workers\n`,
  );
}

build().catch((error) => {
  process.stderr.write(`${String(error?.stack || error)}\n`);
  process.exit(1);
});
