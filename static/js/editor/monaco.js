// Monaco for the editor page: its workers, the light and dark themes, and JavaScript
// IntelliSense that knows this runtime (runtime-globals.d.ts) and the function's own
// settings (settings-types.js, replaced on every schema change). monaco-core.js chooses
// which of Monaco's languages and features the bundle holds.
import * as monaco from './monaco-core.js';
import runtimeTypes from './runtime-globals.d.ts';
import { settingsTypes } from './settings-types.js';

const THEME_KEY = 'fnide.theme';
const THEMES = ['system', 'light', 'dark'];
const ES2022 = 9; // ts.ScriptTarget.ES2022 (monaco's enum stops at ES2020)

let configured = false;
let memoryChoice = null; // the choice when localStorage is not available
let settingsLib = null;

/** Point Monaco at the bundled workers (URLs from the page config) and set up JavaScript. */
export function setupMonaco({ workers }) {
  if (configured) return monaco;
  configured = true;
  self.MonacoEnvironment = {
    getWorker(_moduleId, label) {
      let url = workers.editorWorkerService;
      if (label === 'typescript' || label === 'javascript') url = workers.typescript;
      else if (label === 'json') url = workers.json;
      return new Worker(url, { type: 'module', name: label });
    },
  };
  const js = monaco.typescript.javascriptDefaults;
  js.setCompilerOptions({
    allowJs: true,
    checkJs: true,
    target: ES2022,
    // No DOM: the runtime's own fetch, console and Headers are the only ones declared.
    lib: ['es2022'],
    allowNonTsExtensions: true,
    noEmit: true,
    strict: false,
    noImplicitAny: false,
  });
  js.setDiagnosticsOptions({
    noSemanticValidation: false,
    noSyntaxValidation: false,
    noSuggestionDiagnostics: false,
    // "Parameter implicitly has an 'any' type, but a better type may be inferred from
    // usage": noise on every handler written without JSDoc.
    diagnosticCodesToIgnore: [7043, 7044, 7045, 7046, 7047, 7048, 7049, 7050],
  });
  js.setEagerModelSync(true);
  js.addExtraLib(runtimeTypes, 'file:///types/runtime-globals.d.ts');
  setSettingsTypes([]);
  defineThemes();
  return monaco;
}

/** Declare `interface FunctionSettings` for `schema` (replacing the previous declaration). */
export function setSettingsTypes(schema) {
  const text = settingsTypes(schema);
  if (settingsLib && settingsLib.text === text) return;
  if (settingsLib) settingsLib.disposable.dispose();
  const disposable = monaco.typescript.javascriptDefaults.addExtraLib(
    text,
    'file:///types/function-settings.d.ts',
  );
  settingsLib = { text, disposable };
}

function defineThemes() {
  monaco.editor.defineTheme('fnide-light', {
    base: 'vs',
    inherit: true,
    rules: [],
    colors: { 'editor.background': '#ffffff', 'editorLineNumber.foreground': '#98a2b3' },
  });
  monaco.editor.defineTheme('fnide-dark', {
    base: 'vs-dark',
    inherit: true,
    rules: [],
    colors: { 'editor.background': '#0f1424', 'editorLineNumber.foreground': '#5b6785' },
  });
}

// ---------------------------------------------------------------- theme switch

const media = window.matchMedia('(prefers-color-scheme: dark)');

/** The stored choice: 'system' (default), 'light' or 'dark'. */
export function themeChoice() {
  let stored = memoryChoice;
  try {
    stored = window.localStorage.getItem(THEME_KEY) ?? memoryChoice;
  } catch {
    // Private mode: the choice made on this page, if any.
  }
  return THEMES.includes(stored) ? stored : 'system';
}

function effectiveTheme(choice) {
  if (choice === 'system') return media.matches ? 'dark' : 'light';
  return choice;
}

/** Apply a theme choice to the page (`data-theme` on <html>) and to every Monaco editor. */
export function applyTheme(choice = themeChoice()) {
  const theme = effectiveTheme(choice);
  document.documentElement.dataset.theme = theme;
  monaco.editor.setTheme(theme === 'dark' ? 'fnide-dark' : 'fnide-light');
  return theme;
}

/** The Monaco theme name for the current page theme (for editors created later). */
export function monacoTheme() {
  return effectiveTheme(themeChoice()) === 'dark' ? 'fnide-dark' : 'fnide-light';
}

/**
 * Wire a button that cycles System -> Light -> Dark, remembered in localStorage; the
 * page follows the system setting while the choice is "System".
 */
export function initThemeSwitch(button) {
  const label = () => {
    const choice = themeChoice();
    button.textContent = `Theme: ${choice[0].toUpperCase()}${choice.slice(1)}`;
    button.setAttribute('aria-label', `Colour theme: ${choice}. Switch theme`);
  };
  applyTheme();
  media.addEventListener('change', () => {
    if (themeChoice() === 'system') applyTheme('system');
  });
  if (!button) return;
  label();
  button.addEventListener('click', () => {
    const next = THEMES[(THEMES.indexOf(themeChoice()) + 1) % THEMES.length];
    memoryChoice = next;
    try {
      window.localStorage.setItem(THEME_KEY, next);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
    applyTheme(next);
    label();
  });
}

export { monaco };
