// F2: the Versions tab — history with LATEST / DEPLOYED labels and change summaries, a
// Monaco diff between any two versions or a version and the draft, Restore, and this
// function's destinations with a per-instance rollback.
import {
  apiGet,
  apiList,
  apiSend,
  clear,
  createSnapshotDiff,
  dialogToBody,
  errorText,
  formatTime,
  h,
  healthDot,
  prettyJson,
  sourceName,
  withSlash,
} from './panels-common.js';

const DRAFT = 'draft';

// --- data shared with the deploy dialog ------------------------------------------------

const versionCache = new Map(); // number -> version (versions are immutable)

/** One version (cached: versions never change once saved). */
export async function getVersion(ctx, number) {
  if (versionCache.has(number)) return versionCache.get(number);
  const res = await apiGet(ctx, `${withSlash(ctx.config.urls.api_versions)}${number}/`);
  if (!res.ok) throw new Error(errorText(res, `Version ${number} could not be loaded.`));
  versionCache.set(number, res.data);
  return res.data;
}

/** This function's versions, newest first. */
export async function loadVersions(ctx) {
  const { ok, res, items } = await apiList(ctx, ctx.config.urls.api_versions);
  if (!ok) throw new Error(errorText(res, 'The version history could not be loaded.'));
  for (const version of items) versionCache.set(version.number, version);
  items.sort((a, b) => b.number - a.number);
  return items;
}

/** This function's instances, fresh from the API, merged into config.instances (which
 * keeps what the page knew and the API does not say, such as the source's name). */
export async function loadInstances(ctx) {
  const config = ctx.config;
  if (!config.function) return [];
  const { ok, res, items } = await apiList(ctx, config.urls.api_instances);
  if (!ok) throw new Error(errorText(res, 'The destinations could not be loaded.'));
  const known = new Map((config.instances || []).map((i) => [i.id, i]));
  const mine = items
    .filter((i) => i.function === config.function.id)
    .map((i) => {
      const merged = { ...(known.get(i.id) || {}), ...i };
      merged.source_name = sourceName(ctx, merged);
      return merged;
    });
  config.instances = mine;
  return mine;
}

export function latestNumber(ctx) {
  return (
    ctx.state?.latestVersion ??
    ctx.draft?.baseVersion ??
    ctx.config.function?.latest_version ??
    null
  );
}

// --- change summaries -------------------------------------------------------------------

function lineDelta(before, after) {
  const counts = new Map();
  for (const line of (before || '').split('\n')) counts.set(line, (counts.get(line) || 0) + 1);
  let added = 0;
  for (const line of (after || '').split('\n')) {
    const n = counts.get(line) || 0;
    if (n > 0) counts.set(line, n - 1);
    else added += 1;
  }
  let removed = 0;
  for (const n of counts.values()) removed += n;
  return { added, removed };
}

function settingsDelta(before, after) {
  const old = new Map((before || []).map((s) => [s.name, s]));
  const now = new Map((after || []).map((s) => [s.name, s]));
  const added = [...now.keys()].filter((n) => !old.has(n));
  const removed = [...old.keys()].filter((n) => !now.has(n));
  const changed = [...now.keys()].filter(
    (n) => old.has(n) && JSON.stringify(old.get(n)) !== JSON.stringify(now.get(n)),
  );
  return { added, removed, changed };
}

/** What changed from `previous` to `version`, as short phrases. */
export function changeSummary(version, previous) {
  if (!previous) return version.number === 1 ? ['First version'] : [];
  const parts = [];
  if (version.code !== previous.code) {
    const { added, removed } = lineDelta(previous.code, version.code);
    parts.push(`Code changed (+${added} −${removed} lines)`);
  }
  const s = settingsDelta(previous.settings_schema, version.settings_schema);
  if (s.added.length) parts.push(`Settings added: ${s.added.join(', ')}`);
  if (s.removed.length) parts.push(`Settings removed: ${s.removed.join(', ')}`);
  if (s.changed.length) parts.push(`Settings changed: ${s.changed.join(', ')}`);
  if (!parts.length) parts.push('No changes to code or settings');
  return parts;
}

// --- the diff dialog --------------------------------------------------------------------

let diffDialog = null;

function sideText(side, mode) {
  return mode === 'settings' ? `${prettyJson(side.settings_schema || [])}\n` : side.code || '';
}

/** Opens the large diff dialog between two sides ({label, code, settings_schema}). */
export function openDiffDialog(ctx, left, right, { title } = {}) {
  const dialog = dialogToBody(document.getElementById('diff-dialog'));
  if (!dialog) return;
  if (!diffDialog) {
    diffDialog = { dialog, diff: null, mode: 'code', left: null, right: null };
    dialog.querySelector('[data-diff-close]').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      diffDialog.diff?.dispose();
      diffDialog.diff = null;
    });
    for (const button of dialog.querySelectorAll('[data-diff-mode]')) {
      button.addEventListener('click', () => {
        diffDialog.mode = button.dataset.diffMode;
        renderDiff();
      });
    }
  }
  function renderDiff() {
    const { mode, left: l, right: r } = diffDialog;
    for (const button of dialog.querySelectorAll('[data-diff-mode]')) {
      button.setAttribute('aria-pressed', String(button.dataset.diffMode === mode));
    }
    const language = mode === 'settings' ? 'json' : undefined;
    const original = sideText(l, mode);
    const modified = sideText(r, mode);
    if (diffDialog.diff) diffDialog.diff.update(original, modified, language);
    else {
      diffDialog.diff = createSnapshotDiff(ctx, dialog.querySelector('#diff-container'), {
        original,
        modified,
        language,
      });
    }
  }
  diffDialog.left = left;
  diffDialog.right = right;
  diffDialog.mode = 'code';
  dialog.querySelector('#diff-dialog-title').textContent =
    title || `${left.label} ↔ ${right.label}`;
  dialog.querySelector('#diff-left-label').textContent = left.label;
  dialog.querySelector('#diff-right-label').textContent = right.label;
  dialog.querySelector('#diff-summary').textContent = changeSummary(
    { number: 0, ...right },
    { number: 0, ...left },
  ).join(' · ');
  if (!dialog.open) dialog.showModal();
  renderDiff();
}

// --- the tab ----------------------------------------------------------------------------

export function initVersions(ctx) {
  const config = ctx.config;
  const root = document.getElementById('versions-panel');
  ctx.state = ctx.state || {};
  const state = ctx.state;
  state.versions = [];

  const draftSide = () => ({
    label: ctx.draft?.isDirty?.() ? 'Current draft (unsaved)' : 'Current draft',
    code: ctx.draft.getCode(),
    settings_schema: ctx.draft.getSchema(),
  });
  const versionSide = (v) => ({
    label: `Version ${v.number}${v.number === latestNumber(ctx) ? ' (LATEST)' : ''}`,
    code: v.code,
    settings_schema: v.settings_schema,
  });

  async function sideFor(key) {
    if (key === DRAFT) return draftSide();
    return versionSide(await getVersion(ctx, Number(key)));
  }

  async function compare(leftKey, rightKey) {
    try {
      const [left, right] = await Promise.all([sideFor(leftKey), sideFor(rightKey)]);
      openDiffDialog(ctx, left, right);
    } catch (error) {
      ctx.notify(String(error.message || error), 'error');
    }
  }

  ctx.compareWithLatest = async () => {
    if (!config.function) {
      ctx.notify('This function has no saved version to compare with yet.', 'info');
      return;
    }
    try {
      const versions = await refresh();
      const latest = versions[0];
      if (!latest) throw new Error('This function has no versions.');
      openDiffDialog(ctx, versionSide(latest), draftSide(), {
        title: `Version ${latest.number} (LATEST) ↔ your draft`,
      });
    } catch (error) {
      ctx.notify(String(error.message || error), 'error');
    }
  };
  ctx.openVersionDiff = compare;

  if (!root) {
    ctx.refreshVersions = async () => [];
    ctx.refreshInstances = async () => [];
    return;
  }
  const list = root.querySelector('#vp-list');
  const status = root.querySelector('#vp-status');
  const compareForm = root.querySelector('#vp-compare');
  const leftSelect = root.querySelector('#vp-compare-left');
  const rightSelect = root.querySelector('#vp-compare-right');
  const instanceList = root.querySelector('#vp-instances');
  const instanceNote = root.querySelector('#vp-destinations-note');

  if (!config.function) {
    status.textContent = 'Versions appear once the function is created: every save makes one.';
    root.querySelector('#vp-refresh').hidden = true;
    instanceNote.hidden = false;
    instanceNote.textContent = 'Not connected to any source yet.';
    ctx.refreshVersions = async () => [];
    ctx.refreshInstances = async () => [];
    return;
  }

  function instancesOn(number) {
    return (config.instances || []).filter((i) => i.deployed_version === number);
  }

  function renderVersions() {
    const versions = state.versions;
    clear(list);
    const latest = versions[0]?.number ?? null;
    versions.forEach((version, index) => {
      const previous =
        versions[index + 1]?.number === version.number - 1 ? versions[index + 1] : null;
      const running = instancesOn(version.number);
      const states = new Set(version.states || []);
      if (version.number === latest) states.add('LATEST');
      if (running.length) states.add('DEPLOYED');
      else if (config.instances) states.delete('DEPLOYED');
      const actions = h('div.vp-actions');
      if (previous) {
        actions.append(
          h('button.btn.btn-sm', {
            type: 'button',
            text: `Diff with v${previous.number}`,
            'data-action': 'diff-previous',
            onclick: () => compare(String(previous.number), String(version.number)),
          }),
        );
      }
      actions.append(
        h('button.btn.btn-sm', {
          type: 'button',
          text: 'Compare with draft',
          'data-action': 'diff-draft',
          onclick: () => compare(String(version.number), DRAFT),
        }),
      );
      if (config.can_edit && version.number !== latest) {
        actions.append(
          h('button.btn.btn-sm', {
            type: 'button',
            text: 'Restore',
            'data-action': 'restore',
            title: `Copy version ${version.number} as a new LATEST version (does not deploy it)`,
            onclick: (event) => restore(version, event.currentTarget),
          }),
        );
      }
      const meta = [version.created_by || 'unknown', formatTime(version.created_at)];
      if (version.restored_from) meta.push(`restored from v${version.restored_from}`);
      list.append(
        h(
          'li.vp-version',
          { dataset: { version: String(version.number) } },
          h(
            'div.vp-version-head',
            h('strong', `Version ${version.number}`),
            [...states].map((s) => h(`span.badge.state-${s.toLowerCase()}`, s)),
          ),
          h('div.muted.small.vp-meta', meta.join(' · ')),
          h('div.small.vp-summary', changeSummary(version, previous).join(' · ')),
          running.length
            ? h('div.small.vp-runs', 'Runs on: ', running.map((i) => i.name).join(', '))
            : null,
          actions,
        ),
      );
    });
    status.textContent = versions.length ? '' : 'No versions yet.';
    status.hidden = versions.length > 0;
    renderCompareOptions();
  }

  function renderCompareOptions() {
    const versions = state.versions;
    compareForm.hidden = versions.length === 0;
    const leftValue = leftSelect.value;
    const rightValue = rightSelect.value;
    clear(leftSelect);
    clear(rightSelect);
    for (const version of versions) {
      const label = `Version ${version.number}${version === versions[0] ? ' (LATEST)' : ''}`;
      leftSelect.append(h('option', { value: String(version.number), text: label }));
      rightSelect.append(h('option', { value: String(version.number), text: label }));
    }
    rightSelect.prepend(h('option', { value: DRAFT, text: 'Current draft' }));
    // LATEST against the draft, until the person picks something else.
    const has = (select, value) => [...select.options].some((o) => o.value === value);
    const keep = (select, value) => select.dataset.picked === 'yes' && has(select, value);
    leftSelect.value = keep(leftSelect, leftValue) ? leftValue : String(versions[0]?.number ?? '');
    rightSelect.value = keep(rightSelect, rightValue) ? rightValue : DRAFT;
  }

  function renderInstances() {
    const instances = config.instances || [];
    clear(instanceList);
    instanceNote.hidden = instances.length > 0;
    instanceNote.textContent = 'Not connected to any source yet.';
    const latest = state.versions[0]?.number ?? latestNumber(ctx);
    for (const instance of instances) {
      const actions = h('div.vp-actions');
      if (config.can_deploy && instance.previous_version) {
        actions.append(
          h('button.btn.btn-sm', {
            type: 'button',
            'data-action': 'rollback',
            text: `Roll back to v${instance.previous_version}`,
            title: `Deploy version ${instance.previous_version}, which ${instance.name} ran before v${instance.deployed_version}`,
            onclick: (event) => rollback(instance, event.currentTarget),
          }),
        );
      }
      instanceList.append(
        h(
          'li.vp-instance',
          { dataset: { instance: String(instance.id) } },
          h(
            'div.vp-instance-head',
            healthDot(instance, latest),
            h('strong.vp-instance-name', instance.name),
            h('span.badge', `v${instance.deployed_version}`),
            instance.enabled ? h('span.badge.state-on', 'enabled') : h('span.badge', 'disabled'),
          ),
          h('div.muted.small', sourceName(ctx, instance)),
          actions,
        ),
      );
    }
  }

  let refreshing = null;
  async function refresh() {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      try {
        const [versions] = await Promise.all([
          loadVersions(ctx),
          loadInstances(ctx).catch((error) => {
            instanceNote.hidden = false;
            instanceNote.textContent = String(error.message || error);
          }),
        ]);
        state.versions = versions;
        state.latestVersion = versions[0]?.number ?? null;
        renderVersions();
        renderInstances();
        return versions;
      } catch (error) {
        status.hidden = false;
        status.textContent = String(error.message || error);
        throw error;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  async function restore(version, button) {
    button.disabled = true;
    const res = await apiSend(
      ctx,
      'POST',
      `${withSlash(config.urls.api_versions)}${version.number}/restore/`,
      {},
    );
    button.disabled = false;
    if (!res.ok) {
      ctx.notify(errorText(res, `Version ${version.number} could not be restored.`), 'error');
      return;
    }
    const restored = res.data;
    versionCache.set(restored.number, restored);
    if (!ctx.draft.isDirty()) {
      ctx.draft.setCode(restored.code);
      ctx.draft.setSchema(restored.settings_schema);
      ctx.draft.markSaved({
        version: restored.number,
        code: restored.code,
        settings_schema: restored.settings_schema,
      });
      ctx.notify(
        `Restored version ${version.number} as version ${restored.number} (LATEST). It is not deployed.`,
        'success',
      );
    } else {
      ctx.notify(
        `Restored version ${version.number} as version ${restored.number} (LATEST), not deployed. ` +
          'Your unsaved changes are still in the editor: compare them with the new LATEST before saving.',
        'info',
      );
    }
    await refresh().catch(() => {});
  }

  async function rollback(instance, button) {
    button.disabled = true;
    const target = instance.previous_version;
    const res = await apiSend(
      ctx,
      'POST',
      `${withSlash(config.urls.api_instances)}${instance.id}/rollback/`,
      {},
    );
    button.disabled = false;
    if (!res.ok) {
      ctx.notify(errorText(res, `${instance.name} could not be rolled back.`), 'error');
      return;
    }
    ctx.notify(
      `Rolled ${instance.name} back to version ${res.data?.deployed_version ?? target}.`,
      'success',
    );
    await refresh().catch(() => {});
  }

  // After any save (Save, Save & Deploy, a restore), the history grows.
  ctx.draft.onChange?.((change) => {
    if (change?.kind !== 'saved') return;
    if (typeof change.version === 'number') state.latestVersion = change.version;
    refresh().catch(() => {});
  });

  for (const select of [leftSelect, rightSelect]) {
    select.addEventListener('change', () => {
      select.dataset.picked = 'yes';
    });
  }
  compareForm.addEventListener('submit', (event) => {
    event.preventDefault();
    compare(leftSelect.value, rightSelect.value);
  });
  root.querySelector('#vp-refresh').addEventListener('click', () => refresh().catch(() => {}));

  ctx.refreshVersions = refresh;
  ctx.refreshInstances = async () => {
    await loadInstances(ctx);
    renderInstances();
    renderVersions();
    return config.instances;
  };
  renderInstances();
  refresh().catch(() => {});
}
