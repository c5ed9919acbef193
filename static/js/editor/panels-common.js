// Shared by the Test tab, the Versions tab and the Save & Deploy dialog (F2): small DOM
// helpers, API answers, Segment's outcome names, snapshot diffs in Monaco.
import {
  conf as jsConf,
  language as jsLanguage,
} from 'monaco-editor/languages/definitions/javascript/javascript.js';

export const MASK = '••••';

// Segment's names for the delivery categories (runtime/services.py OUTCOMES).
export const OUTCOME_LABELS = {
  success: 'Success',
  bad_request: 'Bad Request',
  invalid_settings: 'Invalid Settings',
  message_rejected: 'Message Rejected',
  unsupported_event_type: 'Unsupported Event Type',
  retry: 'Retry',
  timeout: 'Timeout',
  dropped: 'Dropped',
};

export function outcomeLabel(outcome) {
  return OUTCOME_LABELS[outcome] || String(outcome || 'Unknown');
}

/** h('div.cls#id', {attrs}, ...children): a tiny element builder (text is always text). */
export function h(spec, attrs, ...children) {
  const [tagAndClasses, id] = spec.split('#');
  const [tag, ...classes] = tagAndClasses.split('.');
  const node = document.createElement(tag || 'div');
  if (classes.length) node.className = classes.join(' ');
  if (id) node.id = id;
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (key === 'text') {
      node.textContent = value;
    } else if (key in node && typeof value !== 'string') {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node?.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** The message to show for a failed API answer ({ok, status, data}). */
export function errorText(res, fallback = 'The request failed.') {
  if (!res) return fallback;
  if (res.status === 0) return 'The server could not be reached.';
  const data = res.data;
  if (data && typeof data === 'object') {
    const parts = [];
    if (data.detail) parts.push(String(data.detail));
    if (data.errors && typeof data.errors === 'object') {
      for (const [field, messages] of Object.entries(data.errors)) {
        const text = [].concat(messages).join(' ');
        if (text && !parts.includes(text))
          parts.push(field === 'non_field_errors' ? text : `${field}: ${text}`);
      }
    }
    if (parts.length) return parts.join(' ');
  }
  if (res.status === 403) return 'You do not have the rights for this.';
  if (res.status === 404) return 'Not found (it may have been deleted).';
  if (res.status === 429) return 'Too many requests: wait a moment and try again.';
  return `${fallback} (HTTP ${res.status})`;
}

async function call(promise) {
  try {
    return await promise;
  } catch (error) {
    return {
      ok: false,
      status: 0,
      data: { detail: String(error?.message || error) },
    };
  }
}

export function apiGet(ctx, url) {
  return call(ctx.api.apiGet(url));
}

export function apiSend(ctx, method, url, body) {
  return call(ctx.api.apiSend(method, url, body));
}

/** Every item of a paginated (LimitOffsetPagination) list, or a plain list. */
export async function apiList(ctx, url, { max = 1000 } = {}) {
  const items = [];
  let next = `${url}${url.includes('?') ? '&' : '?'}limit=200`;
  while (next && items.length < max) {
    const res = await apiGet(ctx, next);
    if (!res.ok) return { ok: false, res, items };
    const data = res.data;
    if (Array.isArray(data)) return { ok: true, items: data };
    items.push(...(data.results || []));
    next = data.next || null;
  }
  return { ok: true, items };
}

export function withSlash(url) {
  return url.endsWith('/') ? url : `${url}/`;
}

/** An absolute ws:// or wss:// URL for a path or URL given by the page. */
export function websocketUrl(url) {
  if (/^wss?:\/\//.test(url)) return url;
  const absolute = new URL(url, window.location.href);
  absolute.protocol = absolute.protocol === 'https:' ? 'wss:' : 'ws:';
  return absolute.toString();
}

export function prettyJson(value) {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export function formatDuration(ms) {
  if (typeof ms !== 'number' || Number.isNaN(ms)) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** Settings to send for a run or a save: masked ones and encrypted ones that are empty are
 * left out (the server keeps, or fills in, the stored value); plain empty strings too. */
export function settingsForSending(schema, values, { clearEmpty = false } = {}) {
  const encrypted = new Set((schema || []).filter((s) => s.encrypted).map((s) => s.name));
  const names = new Set((schema || []).map((s) => s.name));
  const out = {};
  for (const [name, value] of Object.entries(values || {})) {
    if (!names.has(name)) continue;
    const empty = value === undefined || value === null || value === '';
    // A masked value is never the value itself, whatever the schema says now.
    if (typeof value === 'string' && value.startsWith(MASK)) continue;
    if (encrypted.has(name)) {
      if (empty) continue;
      out[name] = value;
    } else if (empty) {
      if (clearEmpty) out[name] = null;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** Health of an instance as a dot: the page may give one; otherwise derived. */
export function instanceHealth(instance, latest) {
  if (instance.health && typeof instance.health === 'object') return instance.health;
  if (typeof instance.health === 'string') {
    return { state: instance.health, label: instance.health };
  }
  if (!instance.enabled) return { state: 'off', label: 'Disabled' };
  if (latest && instance.deployed_version && instance.deployed_version < latest) {
    return {
      state: 'behind',
      label: `Enabled, runs v${instance.deployed_version} (LATEST is v${latest})`,
    };
  }
  return { state: 'ok', label: 'Enabled, runs LATEST' };
}

export function healthDot(instance, latest) {
  const health = instanceHealth(instance, latest);
  return h('span.health-dot', {
    class: `health-dot health-${health.state}`,
    title: health.label,
    role: 'img',
    'aria-label': health.label,
  });
}

export function sourceName(ctx, instance) {
  if (instance.source_name) return instance.source_name;
  const source = (ctx.config.sources || []).find((s) => s.id === instance.source);
  return source ? source.name : `Source ${instance.source}`;
}

// Snapshots (old versions, the draft) are shown in a language of their own: JavaScript
// models all join the TypeScript worker's one project, so a second `onTrack` there would
// mark the real editor's `onTrack` as a duplicate declaration.
export const SNAPSHOT_LANGUAGE = 'javascript-snapshot';
let snapshotRegistered = false;

function registerSnapshotLanguage(monaco) {
  if (snapshotRegistered) return;
  snapshotRegistered = true;
  monaco.languages.register({ id: SNAPSHOT_LANGUAGE, aliases: ['JavaScript (snapshot)'] });
  monaco.languages.setMonarchTokensProvider(SNAPSHOT_LANGUAGE, jsLanguage);
  monaco.languages.setLanguageConfiguration(SNAPSHOT_LANGUAGE, jsConf);
}

/** A read-only side-by-side diff in `container`; returns {editor, update(a, b), dispose()}. */
export function createSnapshotDiff(
  ctx,
  container,
  { original = '', modified = '', language } = {},
) {
  const monaco = ctx.monaco;
  registerSnapshotLanguage(monaco);
  const lang = language || SNAPSHOT_LANGUAGE;
  let originalModel = monaco.editor.createModel(original, lang);
  let modifiedModel = monaco.editor.createModel(modified, lang);
  const editor = monaco.editor.createDiffEditor(container, {
    readOnly: true,
    originalEditable: false,
    automaticLayout: true,
    renderSideBySide: true,
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    renderOverviewRuler: false,
    stickyScroll: { enabled: false },
    ignoreTrimWhitespace: false,
    fontSize: 13,
  });
  editor.setModel({ original: originalModel, modified: modifiedModel });
  return {
    editor,
    update(nextOriginal, nextModified, nextLanguage) {
      const l = nextLanguage || lang;
      const oldOriginal = originalModel;
      const oldModified = modifiedModel;
      originalModel = monaco.editor.createModel(nextOriginal, l);
      modifiedModel = monaco.editor.createModel(nextModified, l);
      editor.setModel({ original: originalModel, modified: modifiedModel });
      oldOriginal.dispose();
      oldModified.dispose();
    },
    dispose() {
      editor.setModel(null);
      editor.dispose();
      originalModel.dispose();
      modifiedModel.dispose();
    },
  };
}

/** Moves a <dialog> to <body>: a modal inside a hidden tab panel would not be drawn. */
export function dialogToBody(dialog) {
  if (dialog && dialog.parentElement !== document.body) document.body.appendChild(dialog);
  return dialog;
}

// --- the test-run websocket -------------------------------------------------------------

/** One connection to ws/w/<slug>/test-runs/, opened on first use (again after a close). */
export class RunSocket {
  constructor(url, { onMessage, onClose }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.socket = null;
    this.opening = null;
  }

  open() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN)
      return Promise.resolve(this.socket);
    if (this.opening) return this.opening;
    this.opening = new Promise((resolve, reject) => {
      let socket;
      try {
        socket = new WebSocket(websocketUrl(this.url));
      } catch (error) {
        this.opening = null;
        reject(error);
        return;
      }
      let opened = false;
      socket.addEventListener('open', () => {
        opened = true;
        this.socket = socket;
        this.opening = null;
        resolve(socket);
      });
      socket.addEventListener('message', (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return;
        }
        this.onMessage(message);
      });
      socket.addEventListener('close', (event) => {
        if (this.socket === socket) this.socket = null;
        if (!opened) {
          this.opening = null;
          reject(new Error('The test runner refused the connection.'));
          return;
        }
        this.onClose(event);
      });
    });
    return this.opening;
  }

  async send(message) {
    const socket = await this.open();
    socket.send(JSON.stringify(message));
  }

  close() {
    this.socket?.close();
  }
}
