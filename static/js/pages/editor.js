// The function editor page (templates/editor/editor.html): Monaco on the left, the
// Settings / Test / Versions tabs on the right. Builds the `ctx` the panels share (see
// the IDE spec): the draft (unsaved code + settings schema), notify, highlightLine, the API
// helpers, Monaco and the config the server rendered into #editor-config.
import '../../css/editor-panels.css';
import * as api from '../lib/api.js';
import { anyDialogOpen, openDialog } from '../lib/dialog.js';
import * as settingsWidgets from '../lib/settings-widgets.js';
import { connectSocket } from '../lib/socket.js';
import {
  initThemeSwitch,
  monaco,
  monacoTheme,
  setSettingsTypes,
  setupMonaco,
} from '../editor/monaco.js';
import { initSettingsBuilder } from '../editor/settings-builder.js';
import { initTestPanel } from '../editor/test-panel.js';
import { initVersions } from '../editor/versions.js';
import { openDeployDialog } from '../editor/deploy-dialog.js';

const SPLIT_KEY = 'fnide.split';
const FLASH_KEY = 'fnide.flash';
const $ = (id) => document.getElementById(id);

function clone(value) {
  return JSON.parse(JSON.stringify(value ?? null));
}

function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Private mode: remembered for this page only.
  }
}

// ---------------------------------------------------------------- draft

/** The unsaved function: the code model's text and the settings schema, against what was saved. */
function createDraft(model, { schema, version }) {
  let saved = { code: model.getValue(), schema: JSON.stringify(schema || []) };
  let current = clone(schema || []);
  let baseVersion = version;
  const listeners = new Set();
  const emit = (change) => {
    for (const fn of listeners) {
      try {
        fn(change);
      } catch (error) {
        console.error(error);
      }
    }
  };
  model.onDidChangeContent(() => emit({ kind: 'code' }));
  return {
    getCode: () => model.getValue(),
    /** Replace the code (one undoable edit); works on read-only editors too. */
    setCode(text) {
      model.pushEditOperations(
        [],
        [{ range: model.getFullModelRange(), text: String(text) }],
        () => null,
      );
    },
    getSchema: () => clone(current),
    setSchema(list) {
      current = clone(list || []);
      emit({ kind: 'schema' });
    },
    /** fn({kind}) on every change: 'code', 'schema', or 'saved' (with version). Returns an unsubscribe. */
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    isDirty: () => model.getValue() !== saved.code || JSON.stringify(current) !== saved.schema,
    get baseVersion() {
      return baseVersion;
    },
    /** What the server now has as LATEST (after a save, restore or reload). */
    markSaved({ version: savedVersion, code, settings_schema: savedSchema } = {}) {
      if (savedVersion !== undefined && savedVersion !== null) baseVersion = savedVersion;
      saved = {
        code: code ?? saved.code,
        schema: savedSchema ? JSON.stringify(savedSchema) : saved.schema,
      };
      emit({ kind: 'saved', version: baseVersion });
    },
  };
}

// ---------------------------------------------------------------- notifications and banners

function createNotifier(region) {
  return function notify(message, kind = 'info') {
    // The same news twice in a row is one toast (shown again).
    const last = region.lastElementChild;
    if (last && last.dataset.message === `${kind}:${message}`) last.remove();
    const toast = document.createElement('div');
    toast.className = `toast toast-${kind}`;
    toast.dataset.message = `${kind}:${message}`;
    toast.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    const text = document.createElement('span');
    text.textContent = message;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'btn btn-ghost btn-sm';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => toast.remove());
    toast.append(text, close);
    region.append(toast);
    while (region.children.length > 4) region.firstElementChild.remove();
    if (kind !== 'error') setTimeout(() => toast.remove(), 6000);
    return toast;
  };
}

function createBanners(region) {
  const banners = new Map();
  return {
    /** Show (or replace) the banner `id`: text plus action buttons [{label, onClick}]. */
    show(id, { kind = 'info', text, actions = [] }) {
      this.hide(id);
      const banner = document.createElement('div');
      banner.className = `banner banner-${kind}`;
      banner.dataset.banner = id;
      banner.setAttribute('role', kind === 'info' ? 'status' : 'alert');
      const message = document.createElement('span');
      message.className = 'banner-text';
      message.textContent = text;
      banner.append(message);
      const buttons = document.createElement('span');
      buttons.className = 'banner-actions';
      for (const action of [
        ...actions,
        { label: 'Dismiss', ghost: true, onClick: () => this.hide(id) },
      ]) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = `btn btn-sm${action.ghost ? ' btn-ghost' : ''}`;
        button.textContent = action.label;
        button.addEventListener('click', action.onClick);
        buttons.append(button);
      }
      banner.append(buttons);
      region.append(banner);
      banners.set(id, banner);
    },
    hide(id) {
      banners.get(id)?.remove();
      banners.delete(id);
    },
  };
}

// ---------------------------------------------------------------- layout: tabs and split

function initTabs() {
  const tabs = [...document.querySelectorAll('.ide-tabs [role=tab]')];
  function select(tab, focus) {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute('aria-selected', String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute('aria-controls')).hidden = !selected;
    }
    if (focus) tab.focus();
  }
  for (const tab of tabs) {
    tab.addEventListener('click', () => select(tab, false));
    tab.addEventListener('keydown', (event) => {
      const index = tabs.indexOf(tab);
      const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[
        event.key
      ];
      if (next === undefined) return;
      event.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length], true);
    });
  }
  return (name) => {
    const tab = $(`tab-${name}`);
    if (tab) select(tab, false);
  };
}

function initSplit() {
  const split = $('ide-split');
  const gutter = $('ide-gutter');
  const clamp = (value) => Math.min(75, Math.max(25, value));
  const set = (value, remember) => {
    const pct = clamp(Math.round(value * 10) / 10);
    split.style.setProperty('--code-size', `${pct}%`);
    gutter.setAttribute('aria-valuenow', String(Math.round(pct)));
    if (remember) store(SPLIT_KEY, String(pct));
  };
  gutter.setAttribute('aria-valuemin', '25');
  gutter.setAttribute('aria-valuemax', '75');
  set(Number(stored(SPLIT_KEY)) || 58, false);
  gutter.addEventListener('pointerdown', (event) => {
    event.preventDefault();
    gutter.setPointerCapture(event.pointerId);
    split.classList.add('resizing');
    const move = (e) => {
      const rect = split.getBoundingClientRect();
      set(((e.clientX - rect.left) / rect.width) * 100, false);
    };
    const up = (e) => {
      move(e);
      set(parseFloat(split.style.getPropertyValue('--code-size')), true);
      split.classList.remove('resizing');
      gutter.removeEventListener('pointermove', move);
      gutter.removeEventListener('pointerup', up);
    };
    gutter.addEventListener('pointermove', move);
    gutter.addEventListener('pointerup', up);
  });
  gutter.addEventListener('keydown', (event) => {
    const now = parseFloat(split.style.getPropertyValue('--code-size')) || 58;
    const next = { ArrowLeft: now - 2, ArrowRight: now + 2, Home: 25, End: 75 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    set(next, true);
  });
}

// ---------------------------------------------------------------- the page

function main() {
  const config = JSON.parse($('editor-config').textContent);
  const urls = config.urls;
  const isNew = config.mode === 'new';
  const canEdit = Boolean(config.can_edit);
  let template = config.templates.find((t) => t.slug === config.template) || null;
  let functionName = isNew ? 'New function' : config.function.name;

  setupMonaco({ workers: urls.monaco_workers });
  initThemeSwitch($('theme-button'));

  const code = isNew ? template.code : config.function.code;
  const schema = isNew ? template.settings_schema : config.function.settings_schema;
  const model = monaco.editor.createModel(
    code,
    'javascript',
    monaco.Uri.parse('file:///function/handler.js'),
  );
  const container = $('code-editor');
  container.replaceChildren();
  delete container.dataset.loading;
  const editor = monaco.editor.create(container, {
    model,
    theme: monacoTheme(),
    automaticLayout: true,
    minimap: { enabled: false },
    readOnly: !canEdit,
    readOnlyMessage: { value: 'Your role lets you read this function, not change it.' },
    fontSize: 13,
    tabSize: 2,
    insertSpaces: true,
    scrollBeyondLastLine: false,
    fixedOverflowWidgets: true,
    ariaLabel: 'Function code. Press Ctrl+M to let Tab move the focus out.',
  });

  const draft = createDraft(model, {
    schema,
    version: isNew ? null : config.function.latest_version,
  });
  const notify = createNotifier($('toasts'));
  const banners = createBanners($('ide-banners'));
  const showTab = initTabs();
  initSplit();
  setSettingsTypes(draft.getSchema());

  const lineDecorations = editor.createDecorationsCollection();
  const ctx = {
    config,
    monaco,
    editor,
    api,
    draft,
    notify,
    settingsWidgets,
    showTab,
    events: null,
    get template() {
      return template;
    },
    /** Reveal and mark a line of the code (1-based), e.g. where a test run failed. */
    highlightLine(line, column = 1) {
      if (!line) return;
      const lineNumber = Math.min(Math.max(1, line), model.getLineCount());
      editor.revealLineInCenter(lineNumber);
      editor.setPosition({ lineNumber, column: Math.max(1, column || 1) });
      lineDecorations.set([
        {
          range: new monaco.Range(lineNumber, 1, lineNumber, 1),
          options: {
            isWholeLine: true,
            className: 'error-line',
            linesDecorationsClassName: 'error-line-gutter',
          },
        },
      ]);
      editor.focus();
    },
    runTest: null,
    compareWithLatest: null,
  };
  model.onDidChangeContent(() => lineDecorations.clear());

  // Title, save state, settings types.
  const dirtyMark = $('dirty-mark');
  const saveState = $('save-state');
  let saving = false;
  function refreshState() {
    const dirty = draft.isDirty();
    dirtyMark.hidden = !dirty;
    document.title = `${dirty ? '• ' : ''}${functionName} · Functions IDE`;
    if (saving) saveState.textContent = 'Saving…';
    else if (isNew) saveState.textContent = 'Not created yet';
    else
      saveState.textContent = dirty ? 'Unsaved changes' : `Saved as version ${draft.baseVersion}`;
  }
  draft.onChange(({ kind, version }) => {
    if (kind === 'schema') setSettingsTypes(draft.getSchema());
    // A save, a Restore or a reload moved LATEST under this draft: the badge follows.
    if (kind === 'saved' && version) showVersion(version);
    refreshState();
  });
  refreshState();

  // Leaving: ask while there is something unsaved.
  let leaving = false;
  window.addEventListener('beforeunload', (event) => {
    if (leaving || !canEdit || !(isNew || draft.isDirty())) return;
    event.preventDefault();
    event.returnValue = '';
  });
  document.addEventListener('submit', (event) => {
    if (!event.defaultPrevented && event.target.closest('form[action$="/delete/"]')) leaving = true;
  });

  $('format-button').addEventListener('click', () => {
    editor.getAction('editor.action.formatDocument')?.run();
  });

  // ------------------------------------------------------------ saving
  const ownVersions = new Set();
  const versionBadge = $('version-badge');

  function showVersion(version) {
    if (versionBadge) versionBadge.textContent = `v${version}`;
    if (config.function) config.function.latest_version = version;
  }

  async function save({ deploy = false } = {}) {
    if (!canEdit) {
      notify('Your role lets you read this function, not save it.', 'info');
      return;
    }
    if (saving) return;
    if (isNew) {
      openConfigure();
      return;
    }
    if (!draft.isDirty()) {
      if (deploy) openDeployDialog(ctx, { version: draft.baseVersion });
      else notify('Nothing changed, so no new version was saved.', 'info');
      return;
    }
    const sent = { code: draft.getCode(), settings_schema: draft.getSchema() };
    saving = true;
    refreshState();
    const result = await api.apiSend('PATCH', urls.api_function, {
      ...sent,
      base_version: draft.baseVersion,
    });
    saving = false;
    if (result.ok) {
      const version = result.data.latest_version;
      const changed = version !== draft.baseVersion;
      ownVersions.add(version);
      // The server cleans the schema (names filled in...): adopt it if nothing moved since.
      if (JSON.stringify(draft.getSchema()) === JSON.stringify(sent.settings_schema)) {
        draft.setSchema(result.data.settings_schema);
      }
      draft.markSaved({ version, code: sent.code, settings_schema: result.data.settings_schema });
      showVersion(version);
      banners.hide('conflict');
      banners.hide('stale');
      notify(
        changed ? `Saved version ${version}.` : 'Nothing changed, so no new version was saved.',
        changed ? 'success' : 'info',
      );
      if (deploy) openDeployDialog(ctx, { version });
    } else if (result.status === 409) {
      const latest = result.data.latest_version;
      banners.show('conflict', {
        kind: 'warning',
        text:
          result.data.detail ||
          `Version ${latest} was saved by someone else since you opened version ${draft.baseVersion}.`,
        actions: conflictActions(),
      });
    } else {
      notify(`Not saved: ${api.errorMessage(result)}`, 'error');
    }
    refreshState();
  }

  function conflictActions() {
    const actions = [];
    if (ctx.compareWithLatest)
      actions.push({
        label: 'Compare',
        onClick: () => {
          showTab('versions');
          ctx.compareWithLatest();
        },
      });
    actions.push({ label: 'Reload', onClick: reload });
    return actions;
  }

  async function reload() {
    const result = await api.apiGet(urls.api_function);
    if (!result.ok) {
      notify(api.errorMessage(result), 'error');
      return;
    }
    const latest = result.data;
    if (
      draft.isDirty() &&
      !window.confirm(
        `Replace your unsaved changes with version ${latest.latest_version}? Your changes will be lost.`,
      )
    ) {
      return;
    }
    draft.setCode(latest.code);
    draft.setSchema(latest.settings_schema);
    draft.markSaved({
      version: latest.latest_version,
      code: draft.getCode(),
      settings_schema: latest.settings_schema,
    });
    showVersion(latest.latest_version);
    functionName = latest.name;
    $('function-name').textContent = latest.name;
    $('function-description').textContent = latest.description || 'No description.';
    banners.hide('conflict');
    banners.hide('stale');
    notify(`Loaded version ${latest.latest_version}.`, 'info');
    refreshState();
  }
  ctx.reload = reload;

  if (canEdit && !isNew) {
    $('save-button').addEventListener('click', () => save());
    $('save-deploy-button').addEventListener('click', () => save({ deploy: true }));
  }

  // Ctrl/Cmd+S saves and Ctrl/Cmd+Enter runs the test, wherever the focus is.
  window.addEventListener(
    'keydown',
    (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const key = event.key.toLowerCase();
      if (key === 's') {
        event.preventDefault();
        event.stopPropagation();
        if (!anyDialogOpen()) save();
      } else if (key === 'enter' && !anyDialogOpen()) {
        event.preventDefault();
        event.stopPropagation();
        if (!config.can_run) {
          notify('Running a test needs Functions Admin on this function.', 'info');
          return;
        }
        showTab('test');
        if (ctx.runTest) ctx.runTest();
      }
    },
    true,
  );

  // ------------------------------------------------------------ templates
  const templatesDialog = $('templates-dialog');
  if (templatesDialog) {
    $('templates-button').addEventListener('click', () =>
      openDialog(templatesDialog, { focus: 'button[data-template]' }),
    );
    templatesDialog.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-template]');
      if (!button) return;
      const chosen = config.templates.find((t) => t.slug === button.dataset.template);
      if (!chosen) return;
      if (
        draft.isDirty() &&
        !window.confirm(
          `Replace the code and settings of the draft with the template “${chosen.name}”? Your unsaved changes will be lost.`,
        )
      ) {
        return;
      }
      template = chosen;
      draft.setCode(chosen.code);
      draft.setSchema(chosen.settings_schema);
      if (isNew) {
        config.template = chosen.slug;
        $('function-description').textContent =
          `From the template “${chosen.name}”. Nothing is saved until you create the function.`;
      }
      templatesDialog.close('chosen');
      notify(`Using the template ${chosen.name}${isNew ? '' : ': save to keep it'}.`, 'info');
    });
  }

  // ------------------------------------------------------------ Configure + Create (new)
  const configureDialog = $('configure-dialog');
  function openConfigure() {
    if (configureDialog) openDialog(configureDialog, { focus: '#configure-name' });
  }
  if (configureDialog) {
    $('configure-button').addEventListener('click', openConfigure);
    const nameInput = $('configure-name');
    const descriptionInput = $('configure-description');
    const problem = $('configure-error');
    const fieldError = (field, message) => {
      const input = field === 'name' ? nameInput : descriptionInput;
      $(`configure-${field}-error`).textContent = message || '';
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    };
    let creating = false;
    $('configure-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      if (creating) return;
      problem.hidden = true;
      fieldError('name', '');
      fieldError('description', '');
      const name = nameInput.value.trim();
      if (!name) {
        fieldError('name', 'A name is required.');
        nameInput.focus();
        return;
      }
      creating = true;
      $('create-button').disabled = true;
      const result = await api.apiSend('POST', urls.api_functions, {
        name,
        description: descriptionInput.value,
        code: draft.getCode(),
        settings_schema: draft.getSchema(),
      });
      creating = false;
      $('create-button').disabled = false;
      if (result.ok) {
        leaving = true;
        try {
          window.sessionStorage.setItem(FLASH_KEY, `Created the function ${result.data.name}.`);
        } catch {
          // Without session storage the new page simply shows no message.
        }
        window.location.assign(`${urls.editor_base}${result.data.id}/`);
        return;
      }
      const errors = result.data?.errors || {};
      let shown = false;
      for (const field of ['name', 'description']) {
        if (errors[field]) {
          fieldError(field, [].concat(errors[field]).join(' '));
          shown = true;
        }
      }
      const rest = Object.keys(errors).filter(
        (field) => field !== 'name' && field !== 'description',
      );
      if (!shown || rest.length) {
        problem.textContent = api.errorMessage({
          data: {
            detail: result.data.detail,
            errors: Object.fromEntries(rest.map((f) => [f, errors[f]])),
          },
        });
        problem.hidden = false;
      }
      (shown ? nameInput : $('create-button')).focus();
    });
  }

  // ------------------------------------------------------------ live changes by others
  if (!isNew && urls.ws_events) {
    const socket = connectSocket(urls.ws_events);
    ctx.events = socket;
    const me = config.user;
    const verbs = {
      'function.saved': 'saved',
      'function.restored': 'restored',
      'function.deployed': 'deployed',
    };
    const announce = (message) => {
      const { change, version, actor } = message;
      if (change === 'function.deleted') {
        if (actor === me) return;
        banners.show('stale', {
          kind: 'warning',
          text: `${actor} deleted this function. Your unsaved changes cannot be saved here.`,
          actions: [
            {
              label: 'Back to the catalog',
              onClick: () => {
                leaving = true;
                window.location.assign(urls.catalog);
              },
            },
          ],
        });
        return;
      }
      if (change === 'function.deployed') {
        if (actor === me) return;
        banners.show('deployed', {
          kind: 'info',
          text: `Version ${version} deployed by ${actor}.`,
        });
        return;
      }
      if (
        !verbs[change] ||
        !version ||
        version <= (draft.baseVersion || 0) ||
        ownVersions.has(version)
      )
        return;
      banners.show('stale', {
        kind: 'warning',
        text: `Version ${version} ${verbs[change]} by ${actor}.${draft.isDirty() ? ' Your unsaved changes are kept until you reload.' : ''}`,
        actions: conflictActions(),
      });
    };
    socket.on('hello', ({ latest_version: latest }) => {
      if (latest > (draft.baseVersion || 0) && !ownVersions.has(latest)) {
        banners.show('stale', {
          kind: 'warning',
          text: `Version ${latest} was saved since you opened version ${draft.baseVersion}.`,
          actions: conflictActions(),
        });
      }
    });
    socket.on('function.changed', (message) => {
      // One's own save, restore or deploy (from this page, maybe still in flight) is not
      // news: look again once the page has had time to record it.
      if (message.actor === me) setTimeout(() => announce(message), 1500);
      else announce(message);
    });
    window.addEventListener('pagehide', () => socket.close());
  }

  // ------------------------------------------------------------ panels
  initSettingsBuilder(ctx);
  initTestPanel(ctx);
  if (!isNew) initVersions(ctx);

  try {
    const flash = window.sessionStorage.getItem(FLASH_KEY);
    if (flash) {
      window.sessionStorage.removeItem(FLASH_KEY);
      notify(flash, 'success');
    }
  } catch {
    // No session storage: no message.
  }
  window.fnideEditor = ctx; // for debugging and the browser tests
  document.documentElement.dataset.editorReady = '1';
}

main();
