// F2: the Test tab. Input from a sample event or manual JSON (an array tests onBatch), test
// settings from the draft's schema, Run over the test-run websocket with the Output
// (Error Message, Logs, Requests, outcome) streamed in as it happens, and saved test cases.
import {
  MASK,
  OUTCOME_LABELS,
  apiList,
  apiSend,
  clear,
  errorText,
  formatDuration,
  formatTime,
  h,
  outcomeLabel,
  prettyJson,
  RunSocket,
  withSlash,
} from './panels-common.js';

// The runtime stops a function at its own limit (at most 60 s); a run that has said
// nothing for this long has been lost, and the panel must not hang on it.
const RUN_WATCHDOG_MS = 75_000;

// --- rendering helpers -----------------------------------------------------------------

function headerLines(headers) {
  if (!headers) return '';
  if (Array.isArray(headers)) return headers.map((pair) => [].concat(pair).join(': ')).join('\n');
  if (typeof headers === 'object') {
    return Object.entries(headers)
      .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : value}`)
      .join('\n');
  }
  return String(headers);
}

function bodyText(body) {
  if (body === undefined || body === null || body === '') return '';
  if (typeof body !== 'string') return prettyJson(body);
  try {
    return prettyJson(JSON.parse(body));
  } catch {
    return body;
  }
}

function statusClass(status) {
  if (typeof status !== 'number' || !status) return 'tp-http-none';
  return `tp-http-${String(status)[0]}xx`;
}

function requestItem(trace) {
  const detail = h('div.tp-request-detail');
  const sections = [
    ['Request headers', headerLines(trace.request_headers)],
    ['Request body', bodyText(trace.request_body)],
    ['Response headers', headerLines(trace.response_headers)],
    ['Response body', bodyText(trace.response_body)],
  ];
  for (const [title, text] of sections) {
    detail.append(h('h5', title), text ? h('pre.tp-pre', text) : h('p.muted.small', '(none)'));
  }
  if (trace.error)
    detail.append(h('h5', 'Error'), h('pre.tp-pre.tp-pre-error', String(trace.error)));
  const status = trace.status ? String(trace.status) : trace.error ? 'failed' : '—';
  return h(
    'li.tp-request',
    h(
      'details',
      h(
        'summary',
        h('span.tp-method', String(trace.method || 'GET').toUpperCase()),
        h('span.tp-url', { title: trace.url || '' }, trace.url || ''),
        h(`span.tp-http.${statusClass(trace.status)}`, status),
        h('span.tp-duration.muted', formatDuration(trace.duration_ms)),
      ),
      detail,
    ),
  );
}

// --- the panel ----------------------------------------------------------------------

export function initTestPanel(ctx) {
  const root = document.getElementById('test-panel');
  if (!root) {
    ctx.runTest = () => {};
    return;
  }
  const panel = new TestPanel(ctx, root);
  ctx.runTest = () => panel.runFromInput();
  ctx.testPanel = panel;
}

class TestPanel {
  constructor(ctx, root) {
    this.ctx = ctx;
    this.config = ctx.config;
    this.root = root;
    this.$ = (selector) => root.querySelector(selector);
    this.mode = 'sample';
    this.jsonEditor = null;
    this.settingsForm = null;
    this.schemaKey = null;
    this.storedSettings = { ...(this.config.test_settings || {}) };
    this.current = null; // {runId, resolve, watchdog, cancelled}
    this.runCounter = 0;
    this.lastOutcome = null;
    this.cases = [];
    this.caseResults = new Map();
    this.sourceEventCache = new Map(); // source id -> its recent events
    this.runningCases = false;

    this.socket = this.config.urls?.ws_test_runs
      ? new RunSocket(this.config.urls.ws_test_runs, {
          onMessage: (m) => this.onMessage(m),
          onClose: () => this.onSocketClosed(),
        })
      : null;

    this.initInput();
    this.initSettings();
    this.initRunBar();
    this.initCases();
    window.addEventListener('pagehide', () => this.socket?.close());
  }

  get canRun() {
    return Boolean(this.config.can_run);
  }

  get functionId() {
    return this.config.function?.id ?? null;
  }

  // --- input -------------------------------------------------------------------------

  initInput() {
    const typeSelect = this.$('#tp-sample-type');
    const sourceSelect = this.$('#tp-source');
    this.fillSampleTypes();
    for (const source of this.config.sources || []) {
      sourceSelect.append(h('option', { value: String(source.id), text: source.name }));
    }
    typeSelect.addEventListener('change', () => this.renderSample());
    sourceSelect.addEventListener('change', () => this.renderSourceEvents());
    for (const button of this.root.querySelectorAll('[data-input-mode]')) {
      button.addEventListener('click', () => this.setMode(button.dataset.inputMode));
      button.addEventListener('keydown', (event) => {
        if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
          event.preventDefault();
          const next = this.mode === 'sample' ? 'manual' : 'sample';
          this.setMode(next);
          this.$(`[data-input-mode="${next}"]`).focus();
        }
      });
    }
    this.$('#tp-edit-sample').addEventListener('click', () => {
      const event = this.samplePayload();
      this.setMode('manual');
      if (event !== null) this.setManualText(prettyJson(event));
    });
    this.renderSample();
  }

  /** A source's most recent events, loaded when it is chosen (and again when chosen again,
   * so that events received since appear). Resolves to { ok, events, detail }. */
  async loadSourceEvents(sourceId) {
    const base = this.config.urls?.source_events_base;
    if (!base) return { ok: false, events: [], detail: 'Recent events are not available here.' };
    const listed = await apiList(this.ctx, `${withSlash(base)}${sourceId}/recent-events/`, {
      max: 100,
    });
    if (!listed.ok) return { ok: false, events: [], detail: errorText(listed.res) };
    return { ok: true, events: listed.items.map((item) => item.event) };
  }

  sourceEvents(sourceId) {
    const events = this.sourceEventCache.get(sourceId);
    return Array.isArray(events) ? events : [];
  }

  fillSampleTypes() {
    const typeSelect = this.$('#tp-sample-type');
    for (const type of Object.keys(this.config.sample_events || {})) {
      typeSelect.append(h('option', { value: type, text: type }));
    }
    if (this.config.sample_events?.track) typeSelect.value = 'track';
  }

  async renderSourceEvents() {
    const sourceId = this.$('#tp-source').value;
    const typeSelect = this.$('#tp-sample-type');
    const empty = this.$('#tp-source-empty');
    clear(typeSelect);
    if (!sourceId) {
      empty.hidden = true;
      typeSelect.disabled = false;
      this.fillSampleTypes();
      this.renderSample();
      return;
    }
    const source = (this.config.sources || []).find((s) => String(s.id) === sourceId);
    const name = source ? source.name : 'this source';
    typeSelect.disabled = true;
    typeSelect.append(h('option', { value: '', text: 'Loading…' }));
    empty.hidden = false;
    empty.textContent = `Loading the recent events of ${name}…`;
    this.sourceEventCache.delete(sourceId);
    this.renderSample();
    const loaded = await this.loadSourceEvents(sourceId);
    // The user may have chosen another source meanwhile: that choice wins.
    if (this.$('#tp-source').value !== sourceId) return;
    clear(typeSelect);
    if (loaded.ok) this.sourceEventCache.set(sourceId, loaded.events);
    if (!loaded.ok || !loaded.events.length) {
      empty.textContent = loaded.ok
        ? `No events received from ${name} yet.`
        : `Could not load the events of ${name}: ${loaded.detail}`;
      typeSelect.append(h('option', { value: '', text: '—' }));
    } else {
      empty.hidden = true;
      typeSelect.disabled = false;
      loaded.events.forEach((event, index) => {
        const label = [event.type, event.event, formatTime(event.receivedAt || event.timestamp)]
          .filter(Boolean)
          .join(' · ');
        typeSelect.append(
          h('option', { value: String(index), text: label || `Event ${index + 1}` }),
        );
      });
    }
    this.renderSample();
  }

  samplePayload() {
    const sourceId = this.$('#tp-source').value;
    const value = this.$('#tp-sample-type').value;
    if (sourceId) {
      const events = this.sourceEvents(sourceId);
      const event = events[Number(value)];
      return event === undefined ? null : event;
    }
    const samples = this.config.sample_events || {};
    return value in samples ? samples[value] : null;
  }

  renderSample() {
    const event = this.samplePayload();
    const preview = this.$('#tp-sample-preview');
    preview.textContent = event === null ? '' : prettyJson(event);
    preview.hidden = event === null;
    this.$('#tp-edit-sample').disabled = event === null;
  }

  setMode(mode) {
    this.mode = mode;
    for (const button of this.root.querySelectorAll('[data-input-mode]')) {
      const on = button.dataset.inputMode === mode;
      button.setAttribute('aria-checked', String(on));
      button.tabIndex = on ? 0 : -1;
    }
    this.$('#tp-sample').hidden = mode !== 'sample';
    this.$('#tp-manual').hidden = mode !== 'manual';
    if (mode === 'manual') this.ensureJsonEditor();
  }

  ensureJsonEditor() {
    if (this.jsonEditor) return this.jsonEditor;
    const monaco = this.ctx.monaco;
    const jsonApi = monaco.json || monaco.languages?.json;
    jsonApi?.jsonDefaults?.setDiagnosticsOptions?.({
      ...(jsonApi.jsonDefaults.diagnosticsOptions || {}),
      validate: true,
      allowComments: false,
      trailingCommas: 'error',
    });
    const initial = prettyJson(
      this.samplePayload() ??
        this.config.sample_events?.track ?? { type: 'track', event: 'Test Event' },
    );
    const model = monaco.editor.createModel(
      this.pendingManualText ?? initial,
      'json',
      monaco.Uri.parse(`inmemory://test-panel/input-${Date.now()}.json`),
    );
    this.jsonEditor = monaco.editor.create(this.$('#tp-json-editor'), {
      model,
      automaticLayout: true,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      lineNumbers: 'on',
      folding: true,
      fontSize: 13,
      tabSize: 2,
      wordWrap: 'on',
      renderLineHighlight: 'none',
      stickyScroll: { enabled: false },
      ariaLabel: 'Test event JSON',
    });
    this.jsonEditor.onDidChangeModelContent(() => this.showJsonError(''));
    this.pendingManualText = null;
    return this.jsonEditor;
  }

  setManualText(text) {
    if (this.jsonEditor) this.jsonEditor.setValue(text);
    else this.pendingManualText = text;
  }

  showJsonError(message) {
    const node = this.$('#tp-json-error');
    node.hidden = !message;
    node.textContent = message;
  }

  /** The input as a payload, or null (with the reason shown) when it is not usable. */
  readPayload() {
    if (this.mode === 'sample') {
      const event = this.samplePayload();
      if (event === null) {
        this.ctx.notify('No event to run: pick a sample event type, or switch to Manual.', 'error');
        return null;
      }
      return event;
    }
    const text = this.ensureJsonEditor().getValue();
    let payload;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      this.showJsonError(`Not valid JSON: ${error.message}`);
      this.jsonEditor.focus();
      return null;
    }
    if (Array.isArray(payload)) {
      if (
        !payload.length ||
        !payload.every((e) => e && typeof e === 'object' && !Array.isArray(e))
      ) {
        this.showJsonError('A batch for onBatch is a non-empty JSON array of event objects.');
        return null;
      }
    } else if (!payload || typeof payload !== 'object') {
      this.showJsonError('The input must be an event object, or an array of events for onBatch.');
      return null;
    }
    this.showJsonError('');
    return payload;
  }

  // --- test settings ---------------------------------------------------------------------

  initSettings() {
    this.renderSettings();
    this.ctx.draft?.onChange?.(() => this.renderSettings());
    this.$('#tp-settings-save').addEventListener('click', () => this.saveSettings());
    this.syncSettingsSave();
  }

  /** Saving test values needs a saved function, the right to run, and settings. */
  syncSettingsSave() {
    const possible = this.canRun && this.functionId !== null && this.config.urls?.api_test_settings;
    this.$('#tp-settings-save').hidden = !(possible && this.schema().length > 0);
  }

  schema() {
    return this.ctx.draft?.getSchema?.() || [];
  }

  renderSettings() {
    const schema = this.schema();
    const key = JSON.stringify(schema);
    if (key === this.schemaKey) return;
    this.schemaKey = key;
    const container = this.$('#tp-settings-form');
    // Keep what was typed when the schema changes under it (a typed secret stays in the
    // browser as typed; stored secrets only ever arrive masked and are shown as such).
    const typed = this.settingsForm ? this.formValues() : {};
    const values = { ...this.storedSettings };
    const masked = new Set(
      Object.entries(this.storedSettings)
        .filter(([, value]) => typeof value === 'string' && value.startsWith(MASK))
        .map(([name]) => name),
    );
    for (const setting of schema)
      if (setting.encrypted && setting.name in values) masked.add(setting.name);
    for (const [name, value] of Object.entries(typed)) {
      if (value === undefined || value === null) continue;
      values[name] = value;
      masked.delete(name);
    }
    this.$('#tp-settings-empty').hidden = schema.length > 0;
    this.settingsForm = null;
    this.syncSettingsSave();
    if (!schema.length) {
      clear(container);
      return;
    }
    const widgets = this.ctx.settingsWidgets;
    if (!widgets?.renderSettingsForm) {
      clear(container).append(h('p.muted.small', 'The settings form is not available.'));
      return;
    }
    this.settingsForm = widgets.renderSettingsForm(container, schema, values, {
      masked: [...masked],
      disabled: !this.canRun,
    });
  }

  formValues() {
    try {
      return this.settingsForm?.getValues?.() || {};
    } catch {
      return {};
    }
  }

  /** The schema the server checks test values against: the saved function's LATEST. */
  savedSchema() {
    return (
      this.ctx.state?.versions?.[0]?.settings_schema ?? this.config.function?.settings_schema ?? []
    );
  }

  /** The settings a run sends: what the form holds. Encrypted ones left empty are filled
   * in by the server from this user's stored test values. */
  runSettings() {
    const names = new Set(this.schema().map((s) => s.name));
    return Object.fromEntries(
      Object.entries(this.formValues()).filter(([name]) => names.has(name)),
    );
  }

  async saveSettings() {
    const status = this.$('#tp-settings-status');
    const button = this.$('#tp-settings-save');
    const values = this.formValues();
    const settings = {};
    // Only settings the saved function declares can be stored; a plain value emptied in
    // the form is cleared (null), a write-only one (encrypted, or masked because it was
    // entered while it was) left empty keeps its stored value.
    for (const setting of this.savedSchema()) {
      const name = setting.name;
      const stored = this.storedSettings[name];
      const writeOnly =
        setting.encrypted || (typeof stored === 'string' && stored.startsWith(MASK));
      if (name in values) settings[name] = values[name];
      else if (!writeOnly && name in this.storedSettings) settings[name] = null;
    }
    button.disabled = true;
    status.textContent = 'Saving…';
    const res = await apiSend(this.ctx, 'PUT', this.config.urls.api_test_settings, { settings });
    button.disabled = false;
    if (!res.ok) {
      status.textContent = '';
      this.ctx.notify(errorText(res, 'The test settings could not be saved.'), 'error');
      return;
    }
    this.storedSettings = { ...(res.data?.settings ?? {}) };
    this.config.test_settings = this.storedSettings;
    status.textContent = 'Test settings saved.';
    this.schemaKey = null;
    this.settingsForm = null; // the stored values are now the form's starting point
    this.renderSettings();
    setTimeout(() => {
      if (status.textContent === 'Test settings saved.') status.textContent = '';
    }, 4000);
  }

  // --- running ---------------------------------------------------------------------------

  initRunBar() {
    const run = this.$('#tp-run');
    const cancel = this.$('#tp-cancel');
    run.hidden = !this.canRun;
    this.$('#tp-no-run').hidden = this.canRun;
    if (!this.canRun) {
      // Read-only members see the inputs but no way to execute the code.
      this.$('#tp-output').hidden = true;
    }
    run.addEventListener('click', () => this.runFromInput());
    cancel.addEventListener('click', () => this.cancel());
  }

  runFromInput() {
    if (!this.canRun) {
      this.ctx.notify('Running a test needs Functions Admin on this function.', 'error');
      return Promise.resolve(null);
    }
    const payload = this.readPayload();
    if (payload === null) return Promise.resolve(null);
    return this.run({ payload, settings: this.runSettings() });
  }

  /** Runs the draft on `payload`; resolves with the outcome message, or null when the run
   * was replaced, cancelled or refused. With `testCaseId`, the server takes the saved
   * case's event and setting values. */
  run({ payload, settings, testCaseId } = {}) {
    if (!this.socket) {
      this.ctx.notify('Test runs are not available on this page.', 'error');
      return Promise.resolve(null);
    }
    this.finish(null); // a second Run replaces the first (the server cancels it)
    const runId = `r${++this.runCounter}-${Date.now().toString(36)}`;
    const run = { runId, resolve: null, watchdog: null, cancelled: false };
    const done = new Promise((resolve) => {
      run.resolve = resolve;
    });
    this.current = run;
    this.resetOutput();
    this.$('#tp-output').scrollIntoView({ block: 'start', behavior: 'smooth' });
    this.setRunning(true, 'Connecting…');
    this.armWatchdog();
    const message = {
      type: 'run',
      run_id: runId,
      function_id: this.functionId,
      code: this.ctx.draft.getCode(),
      settings_schema: this.schema(),
      settings: settings || {},
      payload: payload ?? null,
    };
    if (testCaseId !== undefined) message.test_case_id = testCaseId;
    this.socket
      .send(message)
      .then(() => {
        if (this.current === run) this.setStatus('Running…');
      })
      .catch((error) => {
        if (this.current !== run) return;
        this.showRefusal(String(error.message || error));
        this.finish(null, 'Not run.');
      });
    return done;
  }

  armWatchdog() {
    const run = this.current;
    if (!run) return;
    clearTimeout(run.watchdog);
    run.watchdog = setTimeout(() => {
      if (this.current !== run) return;
      this.socket?.send({ type: 'cancel' }).catch(() => {});
      this.showRefusal('No answer from the test runner: the run was abandoned.');
      this.finish(null, 'Abandoned.');
    }, RUN_WATCHDOG_MS);
  }

  cancel() {
    const run = this.current;
    if (!run) return;
    run.cancelled = true;
    this.setStatus('Cancelling…');
    this.socket?.send({ type: 'cancel' }).catch(() => {
      this.finish(null, 'Cancelled.');
    });
  }

  finish(result, statusText) {
    const run = this.current;
    if (!run) return;
    clearTimeout(run.watchdog);
    this.current = null;
    this.setRunning(false, statusText);
    run.resolve(result);
  }

  onSocketClosed() {
    if (!this.current) return;
    this.showRefusal('The connection to the test runner was lost; the run was stopped.');
    this.finish(null, 'Connection lost.');
  }

  onMessage(message) {
    const run = this.current;
    const mine = run && message.run_id === run.runId;
    switch (message.type) {
      case 'run.started':
        if (mine) this.setStatus('Running…');
        break;
      case 'log':
        if (mine) {
          this.appendLog(message);
          this.armWatchdog();
        }
        break;
      case 'request':
        if (mine) {
          this.appendRequest(message);
          this.armWatchdog();
        }
        break;
      case 'outcome':
        if (mine) {
          this.renderOutcome(message);
          this.lastOutcome = message;
          this.setExpectedDefault(message.outcome);
          this.finish(
            message,
            `${outcomeLabel(message.outcome)} in ${formatDuration(message.duration_ms)}.`,
          );
        }
        break;
      case 'run.cancelled':
        if (mine) {
          this.renderCancelled();
          this.finish(null, 'Cancelled.');
        }
        break;
      case 'error':
        if (mine || (run && !message.run_id)) {
          this.showRefusal(message.message || 'The test run was refused.');
          this.finish(null, 'Refused.');
        } else if (!message.run_id) {
          this.ctx.notify(message.message || 'The test runner reported an error.', 'error');
        }
        break;
      default:
        break;
    }
  }

  setRunning(running, statusText) {
    this.root.classList.toggle('is-running', running);
    this.$('#tp-cancel').hidden = !running;
    this.$('#tp-run').setAttribute('aria-busy', String(running));
    this.setStatus(statusText ?? (running ? 'Running…' : ''), running);
  }

  setStatus(text, spinning = Boolean(this.current)) {
    const status = this.$('#tp-status');
    clear(status);
    if (spinning) status.append(h('span.tp-spinner', { 'aria-hidden': 'true' }));
    if (text) status.append(text);
  }

  // --- output --------------------------------------------------------------------------

  resetOutput() {
    this.$('#tp-output-empty').hidden = true;
    this.$('#tp-output-body').hidden = false;
    this.$('#tp-refusal').hidden = true;
    clear(this.$('#tp-refusal'));
    clear(this.$('#tp-logs'));
    clear(this.$('#tp-requests'));
    this.$('#tp-logs-empty').hidden = false;
    this.$('#tp-logs-empty').textContent = 'Waiting for logs…';
    this.$('#tp-requests-empty').hidden = false;
    this.$('#tp-requests-empty').textContent = 'Waiting for requests…';
    const error = clear(this.$('#tp-error'));
    error.append(h('span.muted.small', 'Waiting for the outcome…'));
    const outcome = clear(this.$('#tp-outcome'));
    outcome.hidden = true;
    outcome.className = 'tp-outcome';
  }

  appendLog({ level, message }) {
    this.$('#tp-logs-empty').hidden = true;
    const lvl = String(level || 'log').toLowerCase();
    this.$('#tp-logs').append(
      h(
        `li.tp-log.tp-log-${lvl.replace(/[^a-z]/g, '')}`,
        h('span.tp-log-level', lvl),
        h('span.tp-log-message', String(message ?? '')),
      ),
    );
  }

  appendRequest(trace) {
    this.$('#tp-requests-empty').hidden = true;
    this.$('#tp-requests').append(requestItem(trace));
  }

  renderOutcome(message) {
    const { outcome, error, result, duration_ms: duration, truncated } = message;
    for (const [selector, text] of [
      ['#tp-logs-empty', 'No logs.'],
      ['#tp-requests-empty', 'No outgoing requests.'],
    ]) {
      const node = this.$(selector);
      node.textContent = text;
    }
    const errorNode = clear(this.$('#tp-error'));
    if (error) {
      const where = error.line
        ? ` (line ${error.line}${error.column ? `, column ${error.column}` : ''})`
        : '';
      errorNode.append(
        h('div.tp-error-type', `${error.type || 'Error'}${where}`),
        h('pre.tp-pre.tp-pre-error', String(error.message || '')),
      );
      if (error.line) {
        errorNode.append(
          h('button.btn.btn-sm', {
            type: 'button',
            text: `Show line ${error.line} in the editor`,
            onclick: () => this.ctx.highlightLine?.(error.line, error.column),
          }),
        );
        this.ctx.highlightLine?.(error.line, error.column);
      }
    } else {
      errorNode.append(h('span.muted.small', 'No errors.'));
    }
    const node = clear(this.$('#tp-outcome'));
    node.className = `tp-outcome tp-outcome-${outcome === 'success' ? 'ok' : outcome === 'dropped' ? 'neutral' : 'bad'}`;
    node.dataset.outcome = outcome;
    node.append(
      h(
        'div.tp-outcome-line',
        h('strong.tp-outcome-name', outcomeLabel(outcome)),
        error
          ? h('span.tp-outcome-error', `${error.type || 'Error'}: ${error.message || ''}`)
          : null,
        h('span.tp-outcome-duration.muted', formatDuration(duration)),
      ),
    );
    if (result !== undefined && result !== null) {
      node.append(
        h('div.tp-result-label.small.muted', 'Returned value'),
        h('pre.tp-pre.tp-result', prettyJson(result)),
      );
    }
    if (truncated) {
      node.append(
        h(
          'p.tp-truncated.small',
          'Output was capped: the run logged or requested more than a test run keeps.',
        ),
      );
    }
    node.hidden = false;
  }

  renderCancelled() {
    const errorNode = clear(this.$('#tp-error'));
    errorNode.append(h('span.muted.small', 'The run was cancelled.'));
    for (const selector of ['#tp-logs-empty', '#tp-requests-empty']) {
      const node = this.$(selector);
      if (!node.hidden) node.textContent = 'None before the run was cancelled.';
    }
  }

  showRefusal(text) {
    this.$('#tp-output-empty').hidden = true;
    this.$('#tp-output-body').hidden = false;
    const node = this.$('#tp-refusal');
    node.textContent = text;
    node.hidden = false;
    const errorNode = clear(this.$('#tp-error'));
    errorNode.append(h('span.muted.small', 'The code did not run.'));
    for (const selector of ['#tp-logs-empty', '#tp-requests-empty']) {
      this.$(selector).textContent = 'None: the code did not run.';
    }
  }

  // --- saved test cases ---------------------------------------------------------------

  initCases() {
    const section = this.$('#tp-cases');
    const expected = this.$('#tp-case-expected');
    for (const [value, label] of Object.entries(OUTCOME_LABELS)) {
      expected.append(h('option', { value, text: label }));
    }
    expected.value = 'success';
    const available = this.canRun && this.functionId !== null && this.config.urls?.api_test_cases;
    section.hidden = !available;
    if (!available) return;
    this.$('#tp-case-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.saveCase();
    });
    this.$('#tp-run-all').addEventListener('click', () => this.runAllCases());
    this.loadCases();
  }

  setExpectedDefault(outcome) {
    const select = this.$('#tp-case-expected');
    if (select && outcome in OUTCOME_LABELS) select.value = outcome;
  }

  async loadCases() {
    const { ok, res, items } = await apiList(this.ctx, this.config.urls.api_test_cases);
    if (!ok) {
      this.$('#tp-cases-summary').textContent = errorText(
        res,
        'The saved test cases could not be loaded.',
      );
      return;
    }
    this.cases = items;
    this.renderCases();
  }

  renderCases() {
    const list = clear(this.$('#tp-case-list'));
    this.$('#tp-cases-empty').hidden = this.cases.length > 0;
    this.$('#tp-run-all').disabled = !this.cases.length || this.runningCases;
    for (const testCase of this.cases) {
      const result = this.caseResults.get(testCase.id);
      let badge = null;
      if (result?.state === 'running') badge = h('span.tp-case-result.tp-case-running', 'Running…');
      else if (result?.state === 'pass')
        badge = h('span.tp-case-result.tp-case-pass', `✓ Pass (${outcomeLabel(result.outcome)})`);
      else if (result?.state === 'fail') {
        badge = h(
          'span.tp-case-result.tp-case-fail',
          result.outcome
            ? `✗ Fail: got ${outcomeLabel(result.outcome)}`
            : `✗ Fail: ${result.reason || 'did not run'}`,
        );
      }
      const input = Array.isArray(testCase.payload)
        ? `batch of ${testCase.payload.length}`
        : [testCase.payload?.type, testCase.payload?.event].filter(Boolean).join(' ');
      list.append(
        h(
          'li.tp-case',
          { dataset: { caseId: String(testCase.id) } },
          h('div.tp-case-head', h('strong.tp-case-name', testCase.name), badge),
          h(
            'div.muted.small',
            `${input || 'event'} · expects ${outcomeLabel(testCase.expected_outcome)}`,
            testCase.created_by ? ` · by ${testCase.created_by}` : '',
          ),
          h(
            'div.tp-case-actions',
            h('button.btn.btn-sm', {
              type: 'button',
              text: 'Run',
              disabled: this.runningCases,
              'data-action': 'run-case',
              onclick: () => this.runCases([testCase]),
            }),
            h('button.btn.btn-sm', {
              type: 'button',
              text: 'Load input',
              'data-action': 'load-case',
              title: "Put this case's event into the Manual editor",
              onclick: () => {
                this.setMode('manual');
                this.setManualText(prettyJson(testCase.payload));
              },
            }),
            h('button.btn.btn-sm.btn-danger', {
              type: 'button',
              text: 'Delete',
              'data-action': 'delete-case',
              onclick: (event) => this.deleteCase(testCase, event.currentTarget),
            }),
          ),
        ),
      );
    }
  }

  async saveCase() {
    const nameInput = this.$('#tp-case-name');
    const name = nameInput.value.trim();
    if (!name) {
      nameInput.focus();
      return;
    }
    const payload = this.readPayload();
    if (payload === null) return;
    const body = {
      name,
      payload,
      settings: this.runSettings(),
      expected_outcome: this.$('#tp-case-expected').value,
    };
    // Settings the saved function does not declare cannot be stored with the case.
    const saved = new Set(this.savedSchema().map((s) => s.name));
    for (const key of Object.keys(body.settings)) if (!saved.has(key)) delete body.settings[key];
    const button = this.$('#tp-case-save');
    button.disabled = true;
    const res = await apiSend(this.ctx, 'POST', this.config.urls.api_test_cases, body);
    button.disabled = false;
    if (!res.ok) {
      this.ctx.notify(errorText(res, 'The test case could not be saved.'), 'error');
      return;
    }
    nameInput.value = '';
    this.cases = [...this.cases.filter((c) => c.id !== res.data.id), res.data].sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    this.renderCases();
    this.ctx.notify(`Saved test case “${res.data.name}”.`, 'success');
  }

  async deleteCase(testCase, button) {
    // Two steps instead of a browser confirm(): the first click asks.
    if (button.dataset.confirming !== 'yes') {
      button.dataset.confirming = 'yes';
      button.textContent = 'Really delete?';
      setTimeout(() => {
        if (button.isConnected) {
          button.dataset.confirming = '';
          button.textContent = 'Delete';
        }
      }, 4000);
      return;
    }
    button.disabled = true;
    const res = await apiSend(
      this.ctx,
      'DELETE',
      `${withSlash(this.config.urls.api_test_cases)}${testCase.id}/`,
    );
    if (!res.ok && res.status !== 404) {
      button.disabled = false;
      this.ctx.notify(errorText(res, 'The test case could not be deleted.'), 'error');
      return;
    }
    this.cases = this.cases.filter((c) => c.id !== testCase.id);
    this.caseResults.delete(testCase.id);
    this.renderCases();
  }

  runAllCases() {
    return this.runCases(this.cases);
  }

  /** Runs cases one after the other against the draft, each showing in the Output. */
  async runCases(cases) {
    if (this.runningCases || !cases.length) return;
    this.runningCases = true;
    for (const c of cases) this.caseResults.set(c.id, { state: 'running' });
    this.renderCases();
    const summary = this.$('#tp-cases-summary');
    summary.textContent =
      cases.length > 1 ? `Running ${cases.length} test cases…` : `Running “${cases[0].name}”…`;
    let passed = 0;
    let stopped = false;
    for (const testCase of cases) {
      if (stopped) {
        this.caseResults.set(testCase.id, { state: 'fail', reason: 'not run' });
        continue;
      }
      // The server fills in the case's event and values (its secrets included).
      const outcome = await this.run({ testCaseId: testCase.id });
      if (!outcome) {
        // Cancelled, refused (rate limit, rights) or replaced: the rest are not run.
        this.caseResults.set(testCase.id, { state: 'fail', reason: 'did not run' });
        stopped = true;
        continue;
      }
      const pass = outcome.outcome === testCase.expected_outcome;
      if (pass) passed += 1;
      this.caseResults.set(testCase.id, {
        state: pass ? 'pass' : 'fail',
        outcome: outcome.outcome,
      });
      this.renderCases();
    }
    this.runningCases = false;
    this.renderCases();
    summary.textContent =
      cases.length > 1
        ? `${passed} of ${cases.length} test cases pass with the draft.`
        : passed
          ? `“${cases[0].name}” passes with the draft.`
          : `“${cases[0].name}” fails with the draft.`;
  }
}
